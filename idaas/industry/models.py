"""Tables of the digital-factory API: gateway secrets, used nonces, the cache generation."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from idaas.columns import CreatedAt, IntPk
from idaas.extensions import db, utcnow


class GatewayKey(db.Model):  # type: ignore[name-defined]
    """The API-gateway AppSecret of an API client, Fernet-encrypted (HMAC needs the secret)."""

    __tablename__ = "industry_gateway_key"

    id: Mapped[IntPk]
    api_client_id: Mapped[int] = mapped_column(
        ForeignKey("api_client.id", ondelete="CASCADE"), unique=True
    )
    secret_encrypted: Mapped[str] = mapped_column(Text)
    created_at: Mapped[CreatedAt]
    rotated_at: Mapped[datetime] = mapped_column(default=utcnow)


class UsedNonce(db.Model):  # type: ignore[name-defined]
    """An `X-Ca-Nonce` already seen from a client, kept until its timestamp leaves the window."""

    __tablename__ = "industry_nonce"

    client_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    nonce: Mapped[str] = mapped_column(String(128), primary_key=True)
    expires_at: Mapped[int] = mapped_column(BigInteger, index=True)


class CacheGeneration(db.Model):  # type: ignore[name-defined]
    """One counter, bumped in the transaction of every change the API's caches depend on."""

    __tablename__ = "industry_generation"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger, default=0)
