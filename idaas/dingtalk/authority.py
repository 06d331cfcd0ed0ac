"""One authority per subtree: a connection may not both pull and push the same departments.

Both settings services ask `conflict` before saving (issue 16 item 3), so the rule holds
whichever side is switched on second.
"""

from __future__ import annotations

from flask_babel import gettext

from idaas.auth.binding import reference_system
from idaas.dingtalk.connections import DingTalkConnection
from idaas.dingtalk.push.models import PushSettings
from idaas.dingtalk.sync.models import SyncSettings
from idaas.directory import service as directory
from idaas.directory.models import Department
from idaas.extensions import db


def _overlap(a: int, b: int) -> bool:
    """Whether two local departments' subtrees overlap (one contains the other)."""
    first, second = db.session.get(Department, a), db.session.get(Department, b)
    if first is None or second is None:
        return False
    return first.path.startswith(second.path) or second.path.startswith(first.path)


def conflict(
    conn: DingTalkConnection, pull: SyncSettings | None, push: PushSettings | None
) -> str | None:
    """Why the connection's pull and push (as about to be saved) share a subtree, or None."""
    if pull is None or push is None or not pull.enabled or not push.enabled:
        return None
    if pull.target_department_id is not None and push.source_department_id is not None:
        if _overlap(pull.target_department_id, push.source_department_id):
            return str(
                gettext(
                    "This connection pulls local department %(pulled)s from DingTalk and pushes "
                    "local department %(pushed)s to it, and one contains the other: one subtree "
                    "has one authority. Choose departments outside each other, or turn the pull "
                    "or the push off first.",
                    pulled=pull.target_department_id,
                    pushed=push.source_department_id,
                )
            )
    imported = push.root_dept_id is not None and directory.find_reference(
        reference_system(conn.corp_id), "department", str(push.root_dept_id)
    )
    if pull.root_dept_id in (1, push.root_dept_id) or imported:
        return str(
            gettext(
                "This connection pulls DingTalk department %(pulled)s and everything below it, "
                "and pushes under DingTalk department %(pushed)s inside it: one subtree has one "
                "authority. Push under a DingTalk department outside the pulled one, or turn the "
                "pull or the push off first.",
                pulled=pull.root_dept_id,
                pushed=push.root_dept_id,
            )
        )
    return None
