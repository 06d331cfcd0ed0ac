"""Appending to the outbox and fanning out deliveries. Joins the caller's transaction.

`append_change` records the change event and, in the same transaction, one delivery per
interested target (see `idaas.events.targets`), so a write and everything it owes the outside
world commit or roll back together. A pending delivery of the same (target, object) absorbs
the new change instead (coalescing); the worker delivers the object's latest state.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from typing import Any

from sqlalchemy import select, update

from idaas.events import targets, wake
from idaas.events.models import ChangeEvent, Delivery
from idaas.extensions import db, utcnow

ORIGIN_PATTERN = re.compile(r"^(system|(admin|api|scim|dingtalk|cli|user|industry):[^\s]{1,120})$")


class InvalidOrigin(ValueError):
    """An origin string that is not `system` or `<kind>:<id>`."""


def check_origin(origin: str) -> str:
    """Validate an origin tag such as `admin:3`, `api:abc`, `dingtalk:main` or `system`."""
    if not ORIGIN_PATTERN.match(origin):
        raise InvalidOrigin(f"invalid origin {origin!r}")
    return origin


def append_change(
    object_type: str,
    object_id: object,
    action: str,
    origin: str,
    version: int,
    changes: dict[str, Any] | None = None,
) -> ChangeEvent:
    """Add one change event, and the deliveries it owes, to the current transaction."""
    event = ChangeEvent(
        object_type=object_type,
        object_id=str(object_id),
        action=action,
        origin=check_origin(origin),
        version=version,
        changes=changes or {},
    )
    db.session.add(event)
    db.session.flush([event])
    fan_out(event)
    return event


def fan_out(
    event: ChangeEvent, known: dict[tuple[str, ...], list[targets.Target]] | None = None
) -> int:
    """Queue a delivery of `event` for every interested target except its own origin
    (`known`: the targets of `by_kind` target types found for earlier events of a batch)."""
    count = 0
    for target_type in targets.interested(f"{event.object_type}.{event.action}"):
        if known is None or not target_type.by_kind:
            found = list(target_type.targets(event))
        else:
            key = (target_type.name, event.object_type, event.action, event.origin)
            if key not in known:
                known[key] = list(target_type.targets(event))
            found = known[key]
        for target in found:
            if target.origin is not None and target.origin == event.origin:
                continue  # never echo a change back to the system that made it
            enqueue(
                target_type.name,
                target.key,
                event.object_type,
                event.object_id,
                event.action,
                origin=event.origin,
                payload={"version": event.version, "changes": event.changes, **target.payload},
                event_id=event.id,
                coalesce=target_type.coalesce,
            )
            count += 1
    return count


def fan_out_many(events: Iterable[ChangeEvent]) -> int:
    """`fan_out` for a batch of events: a `by_kind` target type is asked for its targets once
    per object type, action and origin, not once per event."""
    known: dict[tuple[str, ...], list[targets.Target]] = {}
    return sum(fan_out(event, known) for event in events)


def merge_action(pending: str, new: str) -> str:
    """The action of a coalesced delivery: a create followed by updates is still a create."""
    if pending == "created" and new != "deleted":
        return "created"
    return new


def enqueue(
    target_type: str,
    target_key: str,
    object_type: str,
    object_id: str,
    action: str,
    *,
    origin: str = "system",
    payload: dict[str, Any] | None = None,
    event_id: int | None = None,
    coalesce: bool = True,
) -> Delivery | None:
    """Queue one delivery in the current transaction; returns None when it was coalesced.

    A `pending` (not yet claimed) delivery of the same (target, object) is updated in place,
    with a conditional UPDATE: if a worker claimed it meanwhile, a new delivery is queued
    behind it, so order per (target, object) holds.
    """
    payload = payload or {}
    # The stream a delivery belongs to: deliveries of one stream go out in order.
    stream = {
        "target_type": target_type,
        "target_key": target_key,
        "object_type": object_type,
        "object_id": str(object_id),
    }
    wake.mark_dirty(db.session)
    if coalesce:
        pending = db.session.execute(
            select(Delivery.id, Delivery.action, Delivery.payload)
            .filter_by(**stream, status="pending")
            .where(Delivery.status.in_(("pending", "running")))  # lets the partial index serve
            .order_by(Delivery.id.desc())
            .limit(1)
        ).first()
        if pending is not None:
            merged = dict(pending.payload or {})
            changes = {**(merged.get("changes") or {}), **(payload.get("changes") or {})}
            merged.update(payload)
            if changes:
                merged["changes"] = changes
            result = db.session.execute(
                update(Delivery)
                .where(Delivery.id == pending.id, Delivery.status == "pending")
                .values(
                    action=merge_action(pending.action, action),
                    payload=merged,
                    origin=origin,
                    event_id=event_id,
                    coalesced=Delivery.coalesced + 1,
                )
                .execution_options(synchronize_session=False)
            )
            if result.rowcount:  # type: ignore[attr-defined]
                return None
    delivery = Delivery(
        uid=str(uuid.uuid4()),
        **stream,
        action=action,
        origin=origin,
        event_id=event_id,
        payload=payload,
        created_at=utcnow(),
        next_attempt_at=utcnow(),
    )
    db.session.add(delivery)
    return delivery
