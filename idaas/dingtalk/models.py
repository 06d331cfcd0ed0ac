"""DingTalk tables: single-use sign-in values, and what the per-connection settings share."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, String
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


class ConnectionFlowSettings:
    """Key, switch and field mapping of a flow between the directory and a DingTalk connection."""

    connection: Mapped[str] = mapped_column(String(64), primary_key=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    #: field-mapping rules between idaas account fields and DingTalk user fields
    mapping: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
