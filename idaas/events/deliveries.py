"""Claiming, running and settling deliveries; listing, inspecting and replaying dead letters.

Claims are one statement (`idaas.events.leases`). A delivery is claimable when it is due, or
when the worker that claimed it let its lease run out (it died); it is never claimable while an
older delivery of the same (target, object) is still pending or running: per-object order.
"""

from __future__ import annotations

import json
import logging
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import and_, func, or_, select, text, update
from sqlalchemy.orm import aliased

from idaas import audit
from idaas.events import leases, targets, wake
from idaas.events.models import Delivery, newest_first
from idaas.extensions import db
from idaas.serialise import columns

log = logging.getLogger("idaas.events")
LIVE = ("pending", "running")


class DeliveryNotFound(LookupError):
    """No delivery with that id."""


class NotDeadLetter(ValueError):
    """Only dead letters can be replayed."""


@dataclass
class Outcome:
    """What one attempt came to."""

    delivery: Delivery
    ok: bool
    error: targets.DeliveryFailed | Exception | None = None
    elapsed: float = 0.0


def _claimable(now: datetime) -> Any:
    # "Oldest live delivery of its (target, object) stream", as a correlated scalar subquery:
    # PostgreSQL runs it as an index-only lookup per candidate, whatever its row estimates,
    # where a NOT EXISTS anti-join may be planned as a scan of every live row per candidate.
    earlier = aliased(Delivery)
    head = (
        select(func.min(earlier.id))
        .where(
            earlier.target_type == Delivery.target_type,
            earlier.target_key == Delivery.target_key,
            earlier.object_type == Delivery.object_type,
            earlier.object_id == Delivery.object_id,
            earlier.status.in_(LIVE),
        )
        .correlate(Delivery)
        .scalar_subquery()
    )
    return and_(
        Delivery.status.in_(LIVE),  # the partial indexes' predicate (SQLite matches it literally)
        or_(
            and_(Delivery.status == "pending", Delivery.next_attempt_at <= now),
            and_(Delivery.status == "running", Delivery.lease_until < now),
        ),
        Delivery.id == head,
    )


def _relaxed_commit() -> None:
    """Queue bookkeeping need not wait for the WAL flush on PostgreSQL: a claim or outcome lost
    in a crash only means the delivery runs again (at-least-once), absorbed by its id."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("SET LOCAL synchronous_commit TO OFF"))


def claim(limit: int, now: datetime, lease_seconds: float, worker: str) -> list[Delivery]:
    """Claim up to `limit` due deliveries for `worker`; commit; return detached rows."""
    _relaxed_commit()
    ids = leases.claim_ids(
        Delivery,
        _claimable(now),
        limit,
        token=leases.lease_token(worker),
        now=now,
        lease_seconds=lease_seconds,
        last_attempt_at=now,
    )
    rows = (
        list(db.session.scalars(select(Delivery).where(Delivery.id.in_(ids)).order_by(Delivery.id)))
        if ids
        else []
    )
    for row in rows:
        db.session.expunge(row)  # detached, fully loaded: the delivery threads read them
    db.session.commit()
    return rows


def backoff(attempts: int) -> float:
    """Exponential backoff with equal jitter: between half and all of base * 2^(n-1), capped."""
    config = current_app.config
    ceiling = min(
        float(config["EVENTS_RETRY_MAX_SECONDS"]),
        float(config["EVENTS_RETRY_BASE_SECONDS"]) * 2.0 ** max(0, attempts - 1),
    )
    return ceiling / 2 + random.uniform(0, ceiling / 2)


def settle(outcomes: list[Outcome], now: datetime) -> None:
    """Record a batch of attempts: delivered, back to pending with a delay, or dead; commit."""
    dead_after = timedelta(seconds=float(current_app.config["EVENTS_DEAD_AFTER_SECONDS"]))
    _relaxed_commit()
    from idaas.events import metrics

    delivered: dict[str | None, list[int]] = {}
    for outcome in outcomes:
        if outcome.ok:
            delivered.setdefault(outcome.delivery.claimed_by, []).append(outcome.delivery.id)
            metrics.attempt(outcome.delivery.target_type, "delivered", outcome.elapsed)
    for token, ids in delivered.items():  # one statement per claim, not one per delivery
        db.session.execute(
            update(Delivery)
            .where(Delivery.id.in_(ids), Delivery.claimed_by == token, Delivery.status == "running")
            .values(
                status="delivered",
                delivered_at=now,
                lease_until=None,
                last_error=None,
                last_status=None,
            )
            .execution_options(synchronize_session=False)
        )
    for outcome in outcomes:
        if outcome.ok:
            continue
        row = outcome.delivery
        mine = and_(
            Delivery.id == row.id,
            Delivery.claimed_by == row.claimed_by,
            Delivery.status == "running",
        )
        error = outcome.error
        status = getattr(error, "status", None)
        answer = getattr(error, "answer", "")
        message = (f"{type(error).__name__}: {error}" if error else "failed")[:500]
        permanent = isinstance(error, targets.PermanentFailure)
        if isinstance(error, targets.RetryLater):
            delay = error.retry_after
        else:
            delay = backoff(row.attempts)
        dead = permanent or now + timedelta(seconds=delay) - row.created_at >= dead_after
        values: dict[str, Any] = {
            "lease_until": None,
            "last_status": status,
            "last_error": message + (f" | {answer}" if answer else ""),
        }
        if dead:
            values.update(status="dead", dead_at=now)
        else:
            values.update(
                status="pending", claimed_by=None, next_attempt_at=now + timedelta(seconds=delay)
            )
        db.session.execute(
            update(Delivery)
            .where(mine)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        metrics.attempt(row.target_type, "dead" if dead else "failed", outcome.elapsed)
        log.warning(
            json.dumps(
                {
                    "event": "delivery_attempt_failed",
                    "delivery": row.uid,
                    "target": f"{row.target_type}:{row.target_key}",
                    "object": f"{row.object_type}:{row.object_id}",
                    "attempt": row.attempts,
                    "status": status,
                    "answer": answer,
                    "error": message,
                    "retry_in": None if dead else round(delay, 3),
                    "dead_letter": dead,
                },
                ensure_ascii=False,
            )
        )
        if dead:
            audit.record(
                "system",
                "events.delivery_dead",
                f"delivery:{row.uid}",
                outcome="failure",
                details={
                    "target": f"{row.target_type}:{row.target_key}",
                    "object": f"{row.object_type}:{row.object_id}",
                    "attempts": row.attempts,
                    "last_status": status,
                },
            )
    db.session.commit()


def run_one(row: Delivery) -> Outcome:
    """Call the target type's `deliver` for one claimed delivery (in the caller's app context)."""
    import time

    started = time.perf_counter()
    target_type = targets.get(row.target_type)
    try:
        if target_type is None:
            raise targets.TemporaryFailure(f"no target type {row.target_type!r} is registered")
        target_type.deliver(row)
    except Exception as error:  # every failure is recorded; the worker carries on
        db.session.rollback()
        return Outcome(row, False, error, time.perf_counter() - started)
    return Outcome(row, True, None, time.perf_counter() - started)


def next_due(now: datetime) -> datetime | None:
    """When the earliest pending delivery or expiring lease comes due (for the worker's sleep)."""
    pending = db.session.scalar(
        select(func.min(Delivery.next_attempt_at)).where(Delivery.status == "pending")
    )
    leased = db.session.scalar(
        select(func.min(Delivery.lease_until)).where(Delivery.status == "running")
    )
    found = [moment for moment in (pending, leased) if moment is not None]
    return min(found) if found else None


# -- administration ----------------------------------------------------------------------


def list_deliveries(
    status: str | None = None,
    target_type: str | None = None,
    after_id: int | None = None,
    limit: int = 100,
) -> list[Delivery]:
    """Deliveries, newest first, optionally of one status and target type."""
    query = newest_first(Delivery, limit, status=status, target_type=target_type)
    if after_id:
        query = query.where(Delivery.id < after_id)
    return list(db.session.scalars(query))


def get_delivery(reference: str | int) -> Delivery:
    """A delivery by numeric id or by its stable uid; DeliveryNotFound otherwise."""
    text = str(reference)
    column = Delivery.id if text.isdigit() else Delivery.uid
    value: Any = int(text) if text.isdigit() else text
    row = db.session.scalar(select(Delivery).where(column == value))
    if row is None:
        raise DeliveryNotFound(text)
    return row


def replay(reference: str | int, actor: str, now: datetime) -> Delivery:
    """Put a dead letter back in the queue, with a fresh time window; audited; commit."""
    row = get_delivery(reference)
    changed = db.session.execute(
        update(Delivery)
        .where(Delivery.id == row.id, Delivery.status == "dead")
        .values(
            status="pending",
            attempts=0,
            replays=Delivery.replays + 1,
            created_at=now,
            next_attempt_at=now,
            dead_at=None,
            claimed_by=None,
            lease_until=None,
        )
        .execution_options(synchronize_session=False)
    )
    if not changed.rowcount:  # type: ignore[attr-defined]
        db.session.rollback()
        raise NotDeadLetter(str(reference))
    audit.record(
        actor,
        "events.delivery_replayed",
        f"delivery:{row.uid}",
        details={"target": f"{row.target_type}:{row.target_key}"},
    )
    wake.mark_dirty(db.session)
    db.session.commit()
    db.session.refresh(row)
    return row


def delivery_to_dict(row: Delivery) -> dict[str, Any]:
    """The JSON form of a delivery (API, CLI); payloads carry no secrets."""
    return {
        **columns(
            row,
            "id uid target_type target_key object_type object_id action origin status attempts "
            "replays coalesced",
            times="created_at next_attempt_at last_attempt_at delivered_at dead_at",
        ),
        **columns(row, "last_status last_error payload"),
    }
