"""Tables of the delivery engine: change events (the outbox), deliveries, jobs, schedules."""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import JSON, Boolean, Index, Integer, Select, String, Text, select
from sqlalchemy.orm import Mapped, mapped_column

from idaas.columns import CreatedAt, IntPk, partial_index
from idaas.extensions import db, utcnow


class ChangeEvent(db.Model):  # type: ignore[name-defined]
    """A directory object was created, updated, moved or deleted by `origin`."""

    __tablename__ = "change_event"
    __table_args__ = (Index("ix_change_event_object", "object_type", "object_id"),)

    id: Mapped[IntPk]
    occurred_at: Mapped[datetime] = mapped_column(default=utcnow)
    object_type: Mapped[str] = mapped_column(String(32))
    object_id: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(32))
    origin: Mapped[str] = mapped_column(String(128))
    version: Mapped[int] = mapped_column(default=1)
    changes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


#: Delivery states: waiting (`pending`), claimed by a worker (`running`), `delivered`, `dead`.
DELIVERY_STATES = ("pending", "running", "delivered", "dead")
LIVE = "status IN ('pending', 'running')"


class Delivery(db.Model):  # type: ignore[name-defined]
    """One change (or coalesced run of changes) of one object, owed to one target."""

    __tablename__ = "delivery"
    # Partial indexes over the live rows only: claims and coalescing never wade through the
    # (many) delivered rows kept for inspection.
    __table_args__ = (
        partial_index("ix_delivery_live", "id", where=LIVE),
        partial_index(
            "ix_delivery_stream",
            "target_type",
            "target_key",
            "object_type",
            "object_id",
            "id",
            where=LIVE,
        ),
        Index("ix_delivery_status", "status"),
    )

    id: Mapped[IntPk]
    uid: Mapped[str] = mapped_column(String(36), unique=True)
    target_type: Mapped[str] = mapped_column(String(64))
    target_key: Mapped[str] = mapped_column(String(200))
    object_type: Mapped[str] = mapped_column(String(32))
    object_id: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(32))
    origin: Mapped[str] = mapped_column(String(128))
    event_id: Mapped[int | None] = mapped_column(Integer)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    coalesced: Mapped[int] = mapped_column(default=0)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    replays: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[CreatedAt]
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_attempt_at: Mapped[datetime | None]
    delivered_at: Mapped[datetime | None]
    dead_at: Mapped[datetime | None]
    lease_until: Mapped[datetime | None]
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    last_status: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)


#: Job states; `queued` and `running` are live, the others final.
JOB_STATES = ("queued", "running", "succeeded", "failed", "cancelled")


class Job(db.Model):  # type: ignore[name-defined]
    """Long work with progress, a checkpoint to resume from, cancel and a result summary."""

    __tablename__ = "job"
    __table_args__ = (Index("ix_job_due", "status", "lease_until"),)

    id: Mapped[IntPk]
    kind: Mapped[str] = mapped_column(String(64), index=True)
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    origin: Mapped[str] = mapped_column(String(128), default="system")
    status: Mapped[str] = mapped_column(String(16), default="queued")
    total: Mapped[int | None] = mapped_column(Integer)
    done: Mapped[int] = mapped_column(default=0)
    failed: Mapped[int] = mapped_column(default=0)
    step: Mapped[str | None] = mapped_column(String(128))
    message: Mapped[str | None] = mapped_column(Text)
    checkpoint: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    attempts: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[CreatedAt]
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    heartbeat_at: Mapped[datetime | None]
    lease_until: Mapped[datetime | None]
    claimed_by: Mapped[str | None] = mapped_column(String(64))


class ScheduleState(db.Model):  # type: ignore[name-defined]
    """When a periodic job last ran and is next due (kept by the scheduler leader)."""

    __tablename__ = "schedule_state"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    last_run_at: Mapped[datetime | None]
    next_run_at: Mapped[datetime]
    last_job_id: Mapped[int | None] = mapped_column(Integer)


class EngineLease(db.Model):  # type: ignore[name-defined]
    """A named lease (the scheduler's leadership on SQLite, where advisory locks do not exist)."""

    __tablename__ = "engine_lease"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(String(64))
    until: Mapped[datetime]


class ReplayEntry(db.Model):  # type: ignore[name-defined]
    """A value seen once (callback nonce, OIDC nonce) and refused again until `expires_at`."""

    __tablename__ = "replay_entry"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    namespace: Mapped[str] = mapped_column(String(32))
    expires_at: Mapped[datetime] = mapped_column(index=True)


_Listed = TypeVar("_Listed", "Delivery", "Job")


def newest_first(
    model: type[_Listed], limit: int, **equal_to: str | None
) -> Select[tuple[_Listed]]:
    """The query of `model`'s newest rows (1 to 500) whose named columns equal the values given."""
    query = select(model).order_by(model.id.desc()).limit(max(1, min(limit, 500)))
    for column, value in equal_to.items():
        if value:
            query = query.where(getattr(model, column) == value)
    return query
