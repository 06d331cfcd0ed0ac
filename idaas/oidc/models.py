"""Signing keys of the authorization server (private parts encrypted at rest)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from idaas.extensions import db, utcnow

KEY_STATUSES = ("active", "retired")


class SigningKey(db.Model):  # type: ignore[name-defined]
    """A JWS key: at most one `active` key per algorithm signs; `retired` keys still verify."""

    __tablename__ = "signing_key"
    __table_args__ = (
        Index(
            "uq_signing_key_active_alg",
            "alg",
            unique=True,
            sqlite_where=text("status = 'active'"),
            postgresql_where=text("status = 'active'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kid: Mapped[str] = mapped_column(String(64), unique=True)
    alg: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="active")
    public_jwk: Mapped[dict[str, Any]] = mapped_column(JSON)
    private_jwk_encrypted: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    retired_at: Mapped[datetime | None]
