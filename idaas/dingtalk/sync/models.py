"""Tables of DingTalk -> directory sync: settings, runs (preview/import/events), rows, events."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from idaas.columns import CreatedAt, IntPk, UpdatedAt
from idaas.dingtalk.models import ConnectionFlowSettings
from idaas.extensions import db, utcnow


class SyncSettings(ConnectionFlowSettings, db.Model):  # type: ignore[name-defined]
    """How one DingTalk connection feeds the directory (issue 15 item 1)."""

    __tablename__ = "dingtalk_sync_settings"

    target_department_id: Mapped[int | None] = mapped_column(
        ForeignKey("department.id", ondelete="SET NULL")
    )
    root_dept_id: Mapped[int] = mapped_column(BigInteger, default=1)
    email_field: Mapped[str] = mapped_column(String(16), default="email")
    password_mode: Mapped[str] = mapped_column(String(16), default="none")
    initial_password_enc: Mapped[str | None] = mapped_column(String(1024))
    leavers: Mapped[str] = mapped_column(String(16), default="disable")
    leaver_delete_days: Mapped[int] = mapped_column(Integer, default=30)
    unlink_leavers: Mapped[bool] = mapped_column(Boolean, default=True)
    transport: Mapped[str] = mapped_column(String(16), default="stream")
    callback_token: Mapped[str | None] = mapped_column(String(64))
    callback_aes_key_enc: Mapped[str | None] = mapped_column(String(1024))
    callback_owner: Mapped[str] = mapped_column(String(16), default="app")
    delete_percent: Mapped[int] = mapped_column(Integer, default=5)
    delete_minimum: Mapped[int] = mapped_column(Integer, default=50)
    reconcile_budget: Mapped[int] = mapped_column(Integer, default=5000)
    #: DingTalk calls made while applying events, per API, on `calls_day` (UTC date)
    event_calls: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    calls_day: Mapped[str | None] = mapped_column(String(10))
    updated_at: Mapped[UpdatedAt]


class SyncRun(db.Model):  # type: ignore[name-defined]
    """One preview/import, event batch or reconciliation; its engine job has the progress."""

    __tablename__ = "dingtalk_sync_run"
    __table_args__ = (Index("ix_dingtalk_sync_run_connection", "connection", "id"),)

    id: Mapped[IntPk]
    connection: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))  # import | events | reconcile
    status: Mapped[str] = mapped_column(String(16), default="previewing")
    origin: Mapped[str] = mapped_column(String(128), default="system")
    counts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    #: the engine job working on the run now (`/api/v1/jobs/<id>`), when there is one
    job_id: Mapped[int | None] = mapped_column(Integer)
    total: Mapped[int] = mapped_column(Integer, default=0)
    done: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    step: Mapped[str | None] = mapped_column(String(32))
    message: Mapped[str | None] = mapped_column(String(1024))
    calls: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    result: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[CreatedAt]
    finished_at: Mapped[datetime | None]


class SyncRow(db.Model):  # type: ignore[name-defined]
    """One planned change of a run: a department or a person, its action and its problems."""

    __tablename__ = "dingtalk_sync_row"
    __table_args__ = (UniqueConstraint("run_id", "seq"),)

    id: Mapped[IntPk]
    run_id: Mapped[int] = mapped_column(
        ForeignKey("dingtalk_sync_run.id", ondelete="CASCADE"), index=True
    )
    seq: Mapped[int] = mapped_column(Integer)
    object_type: Mapped[str] = mapped_column(String(16))  # department | account
    external_id: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(16))  # create | update | move | disable | delete
    object_id: Mapped[int | None] = mapped_column(Integer)
    name: Mapped[str | None] = mapped_column(String(128))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    changes: Mapped[list[str]] = mapped_column(JSON, default=list)
    errors: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    removed: Mapped[bool] = mapped_column(Boolean, default=False)
    applied: Mapped[bool] = mapped_column(Boolean, default=False)


class SyncEvent(db.Model):  # type: ignore[name-defined]
    """A DingTalk event as received (stored before it is acknowledged), then applied in order."""

    __tablename__ = "dingtalk_sync_event"
    __table_args__ = (
        UniqueConstraint("connection", "dedupe_key"),
        UniqueConstraint("connection", "replay_key"),
        Index("ix_dingtalk_sync_event_pending", "connection", "status", "id"),
    )

    id: Mapped[IntPk]
    connection: Mapped[str] = mapped_column(String(64))
    transport: Mapped[str] = mapped_column(String(16))  # http | stream | recovery
    dedupe_key: Mapped[str] = mapped_column(String(128))
    #: `timestamp:nonce` of an HTTP push: the same request twice is a replay (§6.2)
    replay_key: Mapped[str | None] = mapped_column(String(96))
    event_type: Mapped[str] = mapped_column(String(64))
    user_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    dept_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    event_ms: Mapped[int | None] = mapped_column(BigInteger)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    run_id: Mapped[int | None] = mapped_column(Integer)
    applied_at: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(String(1024))


class RateCall(db.Model):  # type: ignore[name-defined]
    """A DingTalk call in the last second, per app and API: the window every process shares."""

    __tablename__ = "dingtalk_rate_call"
    __table_args__ = (Index("ix_dingtalk_rate_call_bucket_at", "bucket", "at"),)

    id: Mapped[IntPk]
    bucket: Mapped[str] = mapped_column(String(255))
    at: Mapped[float] = mapped_column(db.Float)
