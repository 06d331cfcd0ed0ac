"""Which account events become DingTalk work notifications, per connection (issue 16 item 4)."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext
from sqlalchemy import select

from idaas import audit
from idaas.dingtalk.connections import DingTalkConnection
from idaas.dingtalk.notify.messages import EVENTS
from idaas.dingtalk.push.models import NotifySettings
from idaas.directory.errors import ValidationFailed
from idaas.extensions import db


def events_of(conn: DingTalkConnection) -> list[str]:
    """The enabled events of a connection (none until an admin turns some on)."""
    row = db.session.get(NotifySettings, conn.name)
    return list(row.events) if row is not None else []


def all_enabled() -> list[NotifySettings]:
    """Every connection's notification settings that enable something."""
    return [row for row in db.session.scalars(select(NotifySettings)) if row.events]


def save(origin: str, conn: DingTalkConnection, events: Any) -> list[str]:
    """Enable exactly `events` (names from the catalogue); audited; commits."""
    if not isinstance(events, list) or not all(isinstance(e, str) for e in events):
        raise ValidationFailed({"events": gettext("Give a list of event names.")})
    unknown = sorted(set(events) - set(EVENTS))
    if unknown:
        raise ValidationFailed(
            {
                "events": gettext(
                    "Unknown events %(unknown)s; choose from %(known)s.",
                    unknown=", ".join(unknown),
                    known=", ".join(EVENTS),
                )
            }
        )
    if events and not conn.agent_id:
        raise ValidationFailed(
            {
                "events": gettext(
                    "Set the app's agent id on the connection first (应用信息 → AgentId)."
                )
            }
        )
    row = db.session.get(NotifySettings, conn.name)
    if row is None:
        row = NotifySettings(connection=conn.name)
        db.session.add(row)
    row.events = sorted(set(events))
    audit.record(
        origin,
        "dingtalk.notify.settings_changed",
        f"dingtalk_connection:{conn.id}",
        details={"events": row.events},
    )
    db.session.commit()
    return list(row.events)
