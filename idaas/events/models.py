"""Change events: one row per directory write, appended in the writer's transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from idaas.extensions import db, utcnow


class ChangeEvent(db.Model):  # type: ignore[name-defined]
    """A directory object was created, updated, moved or deleted by `origin`."""

    __tablename__ = "change_event"
    __table_args__ = (Index("ix_change_event_object", "object_type", "object_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(default=utcnow)
    object_type: Mapped[str] = mapped_column(String(32))
    object_id: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(32))
    origin: Mapped[str] = mapped_column(String(128))
    version: Mapped[int] = mapped_column(default=1)
    changes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
