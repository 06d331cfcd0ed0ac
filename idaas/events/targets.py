"""The registry of delivery target types: who wants which change events, and how to deliver.

A *target type* (`TargetType`) is code: the SCIM push client, the DingTalk push connection,
back-channel logout, webhooks. It says which change events it wants (`events`, patterns such
as `account.*` or `*`), which concrete *targets* want a given event (`targets(event)`, e.g.
one per SCIM application), and how to deliver one `Delivery` (`deliver(delivery)`).

    register(TargetType(
        name="scim.push",
        events=frozenset({"account.*", "group.*"}),
        targets=lambda event: [Target(key=app.client_id, origin=f"scim:{app.client_id}")
                               for app in push_applications()],
        deliver=push_one,          # reads the object's latest state, PUTs it, raises on failure
    ))

The engine then guarantees, per (target, object): at-least-once, in commit order, coalesced
(pending updates merge into one delivery of the latest state), never echoed back to the
target's own `origin`. `delivery.uid` is stable across retries and replays: send it as an
idempotency key so the target can absorb a duplicate.

`deliver` returns normally on success and raises to fail the attempt:
`RetryLater(seconds)` honours a `Retry-After`; `PermanentFailure` dead-letters at once; any
other exception (`TemporaryFailure`, `httpx.HTTPError`, ...) is retried with exponential
backoff and jitter until the delivery is older than `EVENTS_DEAD_AFTER_SECONDS`.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session

if TYPE_CHECKING:
    from idaas.events.models import ChangeEvent, Delivery

T = TypeVar("T")
_MEMO = "idaas.events.targets.per_transaction"


@dataclass(frozen=True)
class Target:
    """One concrete receiver of a target type; `origin` is the origin tag it represents."""

    key: str
    origin: str | None = None
    payload: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class TargetType:
    """A kind of receiver: the events it wants, its interested targets, and its deliver call."""

    name: str
    events: frozenset[str]
    targets: Callable[[ChangeEvent], Iterable[Target]]
    deliver: Callable[[Delivery], None]
    coalesce: bool = True
    #: `targets(event)` depends only on the event's object type, action and origin, so one
    #: look-up serves every such event of a batch (`idaas.events.service.fan_out_many`).
    by_kind: bool = False

    def wants(self, event_type: str) -> bool:
        """Whether `object_type.action` matches one of this type's event patterns."""
        return any(fnmatch.fnmatchcase(event_type, pattern) for pattern in self.events)


class DeliveryFailed(Exception):
    """An attempt failed; `status` and `answer` (a short excerpt) are logged and stored."""

    def __init__(self, message: str, *, status: int | None = None, answer: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.answer = answer[:300]


class TemporaryFailure(DeliveryFailed):
    """Retry with exponential backoff and jitter."""


class RetryLater(TemporaryFailure):
    """Retry no sooner than `retry_after` seconds from now (the target's `Retry-After`)."""

    def __init__(self, retry_after: float, message: str = "", **kwargs: Any) -> None:
        super().__init__(message or f"retry after {retry_after:g} s", **kwargs)
        self.retry_after = max(0.0, float(retry_after))


class PermanentFailure(DeliveryFailed):
    """The target refused for good (e.g. 400): dead-letter at once, an admin may replay."""


_REGISTRY: dict[str, TargetType] = {}
#: event type -> the registered target types that want it (cleared when the registry changes)
_INTERESTED: dict[str, list[TargetType]] = {}


def register(target_type: TargetType) -> TargetType:
    """Add (or replace, by name) a target type; call it from your module's `init_app`."""
    _REGISTRY[target_type.name] = target_type
    _INTERESTED.clear()
    return target_type


def unregister(name: str) -> None:
    """Remove a target type (tests)."""
    _REGISTRY.pop(name, None)
    _INTERESTED.clear()


def get(name: str) -> TargetType | None:
    """The registered target type called `name`."""
    return _REGISTRY.get(name)


def interested(event_type: str) -> list[TargetType]:
    """The registered target types that want `object_type.action`."""
    found = _INTERESTED.get(event_type)
    if found is None:
        found = _INTERESTED[event_type] = [t for t in _REGISTRY.values() if t.wants(event_type)]
    return list(found)


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """Parse `Retry-After` (RFC 9110 §10.2.3): delay-seconds or an HTTP-date; None if absent."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    current = (now or datetime.now(UTC).replace(tzinfo=None)).replace(tzinfo=UTC)
    return max(0.0, (moment - current).total_seconds())


def per_transaction(name: str, load: Callable[[], T], depends_on: tuple[type, ...]) -> T:
    """`load()` once per database transaction: every change of a transaction (1,000 in a SCIM
    Bulk) fans out to the same targets, so they are read once, not once per change. Forgotten
    when the transaction ends, a savepoint rolls back, or a flush writes a `depends_on` row."""
    from idaas.extensions import db

    memo = db.session().info.setdefault(_MEMO, {})
    if name not in memo:
        memo[name] = (load(), depends_on)
    return memo[name][0]  # type: ignore[no-any-return]


@sa_event.listens_for(Session, "after_transaction_end")
def _forget_at_the_end(session: Session, transaction: Any) -> None:
    if transaction.parent is None:  # the transaction itself, not a savepoint inside it
        session.info.pop(_MEMO, None)


@sa_event.listens_for(Session, "after_soft_rollback")
def _forget_on_rollback(session: Session, *_: Any) -> None:
    session.info.pop(_MEMO, None)


@sa_event.listens_for(Session, "before_flush")
def _forget_written(session: Session, *_: Any) -> None:
    memo = session.info.get(_MEMO)
    if not memo:
        return
    written = [*session.new, *session.dirty, *session.deleted]
    for name, (_, depends_on) in list(memo.items()):
        if any(isinstance(row, depends_on) for row in written):
            del memo[name]
