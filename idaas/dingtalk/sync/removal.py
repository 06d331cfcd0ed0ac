"""Removing a connection that imported people: keep them as local accounts, or disable them."""

from __future__ import annotations

from flask_babel import gettext
from sqlalchemy import delete, select

from idaas import audit
from idaas.dingtalk.connections import DingTalkConnection
from idaas.dingtalk.sync import settings
from idaas.dingtalk.sync.models import SyncEvent, SyncRun, SyncSettings
from idaas.directory import service as directory
from idaas.directory.models import Account
from idaas.directory.service import bulk
from idaas.directory.service.unit import atomic
from idaas.extensions import db

CHOICES = ("keep", "disable")


class ChoiceRequired(ValueError):
    """People were imported through the connection: say what becomes of them."""


def imported_count(conn: DingTalkConnection) -> int:
    """Accounts whose source is this connection."""
    return len(
        list(
            db.session.scalars(select(Account.id).where(Account.source == settings.origin_of(conn)))
        )
    )


def remove(origin: str, conn: DingTalkConnection, imported: str | None) -> dict[str, int]:
    """Delete the connection and its sync data; imported people kept as local or disabled."""
    source = settings.origin_of(conn)
    ids = list(db.session.scalars(select(Account.id).where(Account.source == source)))
    if ids and imported not in CHOICES:
        raise ChoiceRequired(
            gettext(
                "%(n)d people were imported through this connection: choose keep (they become "
                "local accounts) or disable.",
                n=len(ids),
            )
        )
    disabled = 0
    with atomic():  # all of it, or none of it
        if imported == "disable":
            for account_id in ids:
                if directory.get_account(account_id).status == "active":
                    directory.set_status(source, account_id, "disabled")
                    disabled += 1
        bulk.release_source(origin, source, system=settings.system_of(conn))
        db.session.execute(delete(SyncEvent).where(SyncEvent.connection == conn.name))
        db.session.execute(delete(SyncRun).where(SyncRun.connection == conn.name))
        db.session.execute(delete(SyncSettings).where(SyncSettings.connection == conn.name))
        audit.record(
            origin,
            "dingtalk.connection.deleted",
            f"dingtalk_connection:{conn.id}",
            details={
                "name": conn.name,
                "imported": imported,
                "people": len(ids),
                "disabled": disabled,
            },
        )
        db.session.delete(conn)
    return {"people": len(ids), "disabled": disabled}
