"""The `dingtalk.push` delivery target: each pushing connection receives directory changes.

The engine gives at-least-once, per-object order, coalescing and no echo: a target's origin is
its connection's (`dingtalk:<name>`), and changes made by any connection to the same corp are
left out too, so nothing DingTalk told us goes back to DingTalk. Each delivery pushes the
object's latest state (`writer.Pusher`), so a coalesced run of changes is one call.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from idaas.dingtalk import connections
from idaas.dingtalk.errors import DingTalkError
from idaas.dingtalk.push import settings
from idaas.dingtalk.push.actions import failure_for
from idaas.dingtalk.push.writer import Pusher
from idaas.dingtalk.sync import clients
from idaas.dingtalk.sync.settings import origin_of
from idaas.events import targets
from idaas.events.models import ChangeEvent, Delivery

NAME = "dingtalk.push"
EVENTS = frozenset(
    {
        "department.created",
        "department.updated",
        "department.moved",
        "department.deleted",
        "account.created",
        "account.updated",
        "account.status_changed",
        "account.deleted",
    }
)


def _interested(event: ChangeEvent) -> list[targets.Target]:
    found = []
    for row in settings.enabled():
        conn = connections.get(row.connection)
        if conn is None:
            continue
        same_corp = {origin_of(c) for c in connections.list_all() if c.corp_id == conn.corp_id}
        if event.origin in same_corp:
            continue  # it came from this corp: never pushed back
        found.append(targets.Target(key=conn.name, origin=origin_of(conn)))
    return found


@contextmanager
def pusher(name: str) -> Iterator[Pusher]:
    """A Pusher for a connection, its client on the shared cross-process rate limiter."""
    conn = connections.get(name)
    if conn is None:
        raise targets.PermanentFailure(f"DingTalk connection {name!r} no longer exists")
    with clients.http_client() as http:
        yield Pusher(conn, settings.get(conn), clients.for_sync(conn, http))


def push_object(push: Pusher, object_type: str, object_id: int, action: str) -> str:
    """Push one object's latest state; DingTalk errors become delivery failures.

    Only a move takes a department's people along: a new or renamed department's people
    have deliveries of their own."""
    try:
        if object_type == "department":
            return push.push_department(object_id, cascade=action == "moved")
        return push.push_account(object_id)
    except DingTalkError as error:
        raise failure_for(error) from None


def deliver(delivery: Delivery) -> None:
    """Push one directory object to the delivery's connection."""
    with pusher(delivery.target_key) as push:
        if not push.settings.enabled:
            return  # push was turned off after the change was queued
        push_object(push, delivery.object_type, int(delivery.object_id), delivery.action)


def init_app() -> None:
    """Register the target type."""
    targets.register(
        targets.TargetType(
            name=NAME, events=EVENTS, targets=_interested, deliver=deliver, by_kind=True
        )
    )
