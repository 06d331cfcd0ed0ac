"""The `dingtalk.notify` delivery target: account events as DingTalk work notifications (§7).

Fan-out (inside the change's transaction) picks the connections that enabled the event and
the person's userid in that corp (their linked DingTalk identity, else the id push or pull
keeps), so a notification about a disabled account still finds its recipient after the link
is gone. Sending happens in the worker: retried, never blocking the request that made the
change; each change is its own message (no coalescing).
"""

from __future__ import annotations

from sqlalchemy import select

from idaas.dingtalk import connections
from idaas.dingtalk.connections import DingTalkConnection
from idaas.dingtalk.errors import DingTalkError
from idaas.dingtalk.notify import messages, settings
from idaas.dingtalk.push.actions import failure_for
from idaas.dingtalk.sync import clients
from idaas.dingtalk.sync.settings import system_of
from idaas.directory import service as directory
from idaas.directory.models import Account, ExternalIdentity
from idaas.events import targets
from idaas.events.models import ChangeEvent, Delivery
from idaas.extensions import db

NAME = "dingtalk.notify"


def recipient(conn: DingTalkConnection, account_id: int) -> str | None:
    """The account's userid in the connection's corp, if it has one."""
    linked = db.session.scalar(
        select(ExternalIdentity.subject).where(
            ExternalIdentity.account_id == account_id,
            ExternalIdentity.provider == "dingtalk",
            ExternalIdentity.tenant == conn.corp_id,
        )
    )
    if linked:
        return str(linked)
    reference = directory.reference_of(system_of(conn), "account", account_id)
    return reference.external_id if reference is not None else None


def _interested(event: ChangeEvent) -> list[targets.Target]:
    if event.object_type != "account":
        return []
    name = messages.event_of(event.action, event.changes or {})
    if name is None:
        return []
    found = []
    for row in settings.all_enabled():
        conn = connections.get(row.connection)
        if name not in row.events or conn is None:
            continue
        userid = recipient(conn, int(event.object_id))
        if userid:
            found.append(targets.Target(key=conn.name, payload={"event": name, "userid": userid}))
    return found


def deliver(delivery: Delivery) -> None:
    """Send one work notification, in the person's language."""
    conn = connections.get(delivery.target_key)
    if conn is None:
        raise targets.PermanentFailure(f"DingTalk connection {delivery.target_key!r} is gone")
    payload = delivery.payload or {}
    account = db.session.get(Account, int(delivery.object_id))
    locale = account.locale if account is not None else None
    event = str(payload["event"])
    msg = messages.render(event, payload.get("changes") or {}, locale, delivery.created_at)
    try:
        with clients.http_client() as http:
            client = clients.for_sync(conn, http)
            client.send_work_notification(msg, userid_list=[str(payload["userid"])])
    except DingTalkError as error:
        raise failure_for(error) from None


def init_app() -> None:
    """Register the target type."""
    targets.register(
        targets.TargetType(
            name=NAME,
            events=frozenset({f"account.{a}" for a in messages.EVENTS.values()}),
            targets=_interested,
            deliver=deliver,
            coalesce=False,
        )
    )
