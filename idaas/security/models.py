"""The console's override of the sign-in policy: one row, version-checked on every change."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Float, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from idaas.extensions import db, utcnow


class SignInPolicyOverride(db.Model):  # type: ignore[name-defined]
    """Values an administrator set on the Sign-in page; NULL keeps the instance setting."""

    __tablename__ = "signin_policy"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    password_min_length: Mapped[int | None] = mapped_column(Integer)
    password_required_classes: Mapped[int | None] = mapped_column(Integer)
    password_history: Mapped[int | None] = mapped_column(Integer)
    password_max_age_days: Mapped[int | None] = mapped_column(Integer)
    lockout_threshold: Mapped[int | None] = mapped_column(Integer)
    lockout_minutes: Mapped[float | None] = mapped_column(Float)
    mfa_required: Mapped[bool | None] = mapped_column(Boolean)
    session_idle_minutes: Mapped[float | None] = mapped_column(Float)
    session_absolute_hours: Mapped[float | None] = mapped_column(Float)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    updated_by: Mapped[str | None] = mapped_column(String(128))

    __mapper_args__ = {"version_id_col": version}
