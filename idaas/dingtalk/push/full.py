"""Full push: a dry-run diff of the subtree against DingTalk, and the job that applies it.

The plan compares what should be in DingTalk (the pushed subtree, mapped) with what is there
under the root department (read through the contacts API), by the DingTalk ids push keeps. The
job applies exactly the planned items, so the dry run says what the sync then does. DingTalk
objects that idaas did not push are reported (`unmanaged`), never deleted.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from sqlalchemy import select

from idaas.dingtalk.errors import DingTalkError
from idaas.dingtalk.push import links
from idaas.dingtalk.push.actions import failure_for
from idaas.dingtalk.push.fields import FieldsRefused, user_fields
from idaas.dingtalk.push.writer import Pusher
from idaas.directory.models import Account, Department, Membership
from idaas.events import jobs
from idaas.events.targets import DeliveryFailed
from idaas.extensions import db

JOB_KIND = "dingtalk.push.sync"
COMPARED = ("name", "mobile", "email", "job_number", "title")


def _item(kind: str, action: str, object_id: int, label: str, **extra: Any) -> dict[str, Any]:
    return {"type": kind, "action": action, "object_id": object_id, "name": label, **extra}


def _department_items(push: Pusher, actual: dict[int, dict[str, Any]]) -> list[dict[str, Any]]:
    root = push.root()
    assert root is not None
    local = db.session.scalars(
        select(Department)
        .where(Department.path.startswith(root.path), Department.id != root.id)
        .order_by(Department.depth, Department.id)
    ).all()
    known = {int(k.object_id): k.dingtalk_id for k in links.all_of(push.name, "department")}
    items, wanted = [], set()
    for department in local:
        if not push.owns(department):
            continue
        wanted.add(department.id)
        dt = known.get(department.id)
        there = actual.get(int(dt)) if dt else None
        if there is None:
            items.append(_item("department", "create", department.id, department.name))
            continue
        parent = (
            push.settings.root_dept_id
            if department.parent_id == root.id
            else known.get(department.parent_id or 0)
        )
        same = there.get("name") == department.name and str(there.get("parent_id")) == str(parent)
        action = "unchanged" if same else "update"
        items.append(_item("department", action, department.id, department.name, dingtalk_id=dt))
    for object_id, dt in known.items():
        if object_id not in wanted:
            items.append(_item("department", "delete", object_id, str(dt), dingtalk_id=dt))
    return items


def _differs(fields: dict[str, str], depts: set[str], there: dict[str, Any]) -> bool:
    current = {str(d) for d in there.get("dept_id_list") or []}
    return current != depts or any(str(there.get(k) or "") != fields.get(k, "") for k in COMPARED)


def _account_items(push: Pusher, users: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    root = push.root()
    assert root is not None
    members = (
        select(Membership.account_id)
        .join(Department, Department.id == Membership.department_id)
        .where(Department.path.startswith(root.path))
    )
    candidates = db.session.scalars(
        select(Account).where(Account.id.in_(members)).order_by(Account.id)
    ).all()
    known = {int(k.object_id): k.dingtalk_id for k in links.all_of(push.name, "account")}
    dept_ids = {int(k.object_id): k.dingtalk_id for k in links.all_of(push.name, "department")}
    dept_ids[root.id] = str(push.settings.root_dept_id)
    items, wanted = [], set()
    for account in candidates:
        if not push.wanted(account):
            continue
        wanted.add(account.id)
        try:
            fields = user_fields(account, list(push.settings.mapping or []))
        except FieldsRefused as refused:
            items.append(
                _item("account", "error", account.id, account.username, errors=refused.errors)
            )
            continue
        userid = known.get(account.id)
        there = users.get(userid) if userid else None
        if there is None:
            items.append(_item("account", "create", account.id, account.username))
            continue
        depts = {str(dept_ids.get(d)) for d in push.departments_of(account)}
        action = "update" if _differs(fields, depts, there) else "unchanged"
        items.append(_item("account", action, account.id, account.username, dingtalk_id=userid))
    for object_id, userid in known.items():
        if object_id not in wanted and userid:
            items.append(_item("account", "delete", object_id, userid, dingtalk_id=userid))
    return items


def plan(push: Pusher) -> dict[str, Any]:
    """The dry-run diff: what a full push would create, update and delete, with the errors."""
    root_dept = int(push.settings.root_dept_id or 1)
    actual = {int(d["dept_id"]): d for d in push.client.iter_departments(root_dept)}
    users = {str(u["userid"]): u for u in push.client.iter_all_users(root_dept)}
    departments, people = _department_items(push, actual), _account_items(push, users)
    # people leave before their departments go, deepest departments first
    items = [i for i in departments if i["action"] != "delete"]
    items += [i for i in people if i["action"] != "delete"]
    items += [i for i in people if i["action"] == "delete"]
    items += [i for i in reversed(departments) if i["action"] == "delete"]
    mine = {k.dingtalk_id for k in links.all_of(push.name, "account")}
    unmanaged = sorted(u for u in users if u not in mine)
    counts = Counter(f"{i['type']}.{i['action']}" for i in items)
    return {"counts": dict(sorted(counts.items())), "items": items, "unmanaged": unmanaged}


def apply_item(push: Pusher, item: dict[str, Any]) -> None:
    """Carry out one planned item (a failure raises a DeliveryFailed with the reason)."""
    try:
        if item["type"] == "department":  # exactly the planned item: the plan lists the rest
            if item["action"] == "delete":
                push.remove_department(item["object_id"], cascade=False)
            else:
                push.push_department(item["object_id"], cascade=False)
        elif item["action"] == "delete":
            push.remove_account(item["object_id"])
        else:
            push.push_account(item["object_id"])
    except DingTalkError as error:
        raise failure_for(error) from None


def run_job(ctx: jobs.JobContext) -> dict[str, Any]:
    """The full push as an engine job: plan, then apply with progress (resumes at its offset)."""
    from idaas.dingtalk.push.target import pusher

    with pusher(str(ctx.params["connection"])) as push:
        planned = plan(push)
        todo = [i for i in planned["items"] if i["action"] not in ("unchanged", "error")]
        start = int((ctx.checkpoint or {}).get("offset", 0))
        failed: list[dict[str, Any]] = []
        applied: Counter[str] = Counter()
        ctx.progress(total=len(todo), done=start, step="push")
        for offset in range(start, len(todo)):
            ctx.raise_if_cancelled()
            item = todo[offset]
            try:
                apply_item(push, item)
                applied[f"{item['type']}.{item['action']}"] += 1
            except DeliveryFailed as error:
                db.session.rollback()
                failed.append({**item, "error": str(error)})
            ctx.checkpoint_save({"offset": offset + 1})
            ctx.progress(done=offset + 1, failed=len(failed))
    errors = [i for i in planned["items"] if i["action"] == "error"]
    return {
        "planned": planned["counts"],
        "applied": dict(sorted(applied.items())),
        "failed": failed[:200],
        "errors": errors[:200],
        "unmanaged": len(planned["unmanaged"]),
    }
