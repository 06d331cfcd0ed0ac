"""Static SCIM bearer tokens: long-lived credentials of an API client, stored as SHA-256."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from idaas.columns import CreatedAt, IntPk, TokenHash
from idaas.extensions import db


class ScimToken(db.Model):  # type: ignore[name-defined]
    """A static bearer token for `/scim/v2`, for consoles that cannot do client credentials."""

    __tablename__ = "scim_token"

    id: Mapped[IntPk]
    api_client_id: Mapped[int] = mapped_column(
        ForeignKey("api_client.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(128))
    # The SHA-256 (hex) of the whole token; the token itself is shown once and never stored.
    token_hash: Mapped[TokenHash]
    # The first characters, so a person can tell tokens apart in lists and audit rows.
    prefix: Mapped[str] = mapped_column(String(24))
    scopes: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_by: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[CreatedAt]
    revoked_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]
