"""Single-use values of DingTalk sign-in: `state` nonces and already-redeemed login codes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from idaas.columns import CreatedAt
from idaas.extensions import db


class DingTalkSingleUse(db.Model):  # type: ignore[name-defined]
    """A `state` nonce (kind `state`) or a redeemed code (kind `code`), stored as SHA-256."""

    __tablename__ = "dingtalk_single_use"

    value_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[CreatedAt]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
