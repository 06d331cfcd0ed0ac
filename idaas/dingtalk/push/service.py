"""What the API and the CLI do with push: test, dry run, start the full push, list deliveries."""

from __future__ import annotations

import secrets
from typing import Any

import httpx
from flask_babel import gettext
from sqlalchemy import select

from idaas.dingtalk import connections
from idaas.dingtalk.connections import DingTalkConnection
from idaas.dingtalk.errors import DingTalkError
from idaas.dingtalk.push import full, settings
from idaas.dingtalk.push.actions import message_for
from idaas.dingtalk.push.models import PushLink
from idaas.dingtalk.push.target import NAME, pusher
from idaas.directory.errors import ValidationFailed
from idaas.events import deliveries, jobs
from idaas.events.models import Job
from idaas.extensions import db


def _require_configured(conn: DingTalkConnection) -> None:
    row = settings.get(conn)
    if row.source_department_id is None or row.root_dept_id is None:
        raise ValidationFailed(
            {"settings": gettext("Choose the local department and the DingTalk root department.")}
        )


def test(origin: str, conn: DingTalkConnection) -> dict[str, Any]:
    """Token, the root department, and a write: a probe department created and deleted."""
    _require_configured(conn)
    checks: list[dict[str, Any]] = []
    try:
        with pusher(conn.name) as push:
            root = int(push.settings.root_dept_id or 1)
            push.client.fetch_token()
            checks.append({"check": "token", "ok": True, "message": gettext("Token fetched.")})
            push.client.get_department(root)
            checks.append(
                {"check": "root", "ok": True, "message": gettext("The root department exists.")}
            )
            probe = push.client.create_department(f"idaas_probe_{secrets.token_hex(4)}", root)
            push.client.delete_department(probe)
            checks.append(
                {"check": "write", "ok": True, "message": gettext("The app can write contacts.")}
            )
    except DingTalkError as error:
        step = ("token", "root", "write")[min(len(checks), 2)]
        checks.append({"check": step, "ok": False, "message": message_for(error)})
    except httpx.HTTPError as error:
        checks.append(
            {
                "check": "network",
                "ok": False,
                "message": gettext("Could not reach DingTalk: %(e)s", e=type(error).__name__),
            }
        )
    ok = all(c["ok"] for c in checks)
    connections.record_test(origin, conn, "dingtalk.push.tested", ok, None)
    return {"ok": ok, "checks": checks}


def dry_run(conn: DingTalkConnection) -> dict[str, Any]:
    """What a full push would do now (reads DingTalk, changes nothing)."""
    _require_configured(conn)
    with pusher(conn.name) as push:
        return full.plan(push)


def start_sync(origin: str, conn: DingTalkConnection) -> Job:
    """Queue the full push as an engine job (progress in the job)."""
    _require_configured(conn)
    return jobs.start(full.JOB_KIND, {"connection": conn.name}, origin=origin)


def recent_deliveries(conn: DingTalkConnection, limit: int = 100) -> list[dict[str, Any]]:
    """The connection's push deliveries, newest first."""
    rows = deliveries.list_deliveries(target_type=NAME, limit=500)
    mine = [deliveries.delivery_to_dict(r) for r in rows if r.target_key == conn.name]
    return mine[:limit]


def object_errors(conn: DingTalkConnection) -> list[dict[str, Any]]:
    """Objects DingTalk (or the mapping) refused, with the reason, until they push cleanly."""
    rows = db.session.scalars(
        select(PushLink)
        .where(PushLink.connection == conn.name, PushLink.error.is_not(None))
        .order_by(PushLink.id)
    )
    return [
        {"object_type": r.object_type, "object_id": r.object_id, "error": r.error} for r in rows
    ]
