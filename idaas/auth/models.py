"""Tables of the sign-in machinery: sessions, lockout, MFA, remembered devices, auth sources."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from idaas.columns import AccountRow, CreatedAt, IntPk, TokenHash, UpdatedAt
from idaas.extensions import db, utcnow

#: Session states: a sign-in in progress (`mfa`, `mfa_enrol`, `password`) or complete (`active`).
SESSION_STATES = ("mfa", "mfa_enrol", "password", "active")


class AuthSession(AccountRow, db.Model):  # type: ignore[name-defined]
    """One sign-in: the cookie carries a signed random token; we store only its SHA-256."""

    __tablename__ = "auth_session"

    token_hash: Mapped[TokenHash]
    state: Mapped[str] = mapped_column(String(16), default="active")
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    authenticated_at: Mapped[datetime] = mapped_column(default=utcnow)
    ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(256))
    methods: Mapped[list[str]] = mapped_column(JSON, default=list)
    acr: Mapped[str] = mapped_column(String(32), default="pwd")
    source: Mapped[str | None] = mapped_column(String(64))
    #: How the first factor was proven: `password`, `dingtalk_qr`, `dingtalk_workbench` (portal).
    channel: Mapped[str | None] = mapped_column(String(32))
    revoked_at: Mapped[datetime | None]
    revoked_reason: Mapped[str | None] = mapped_column(String(64))


class AccountLockout(db.Model):  # type: ignore[name-defined]
    """Consecutive failed password attempts of an account and the lock they caused."""

    __tablename__ = "account_lockout"

    account_id: Mapped[int] = mapped_column(
        ForeignKey("account.id", ondelete="CASCADE"), primary_key=True
    )
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_failure_at: Mapped[datetime | None]
    locked_until: Mapped[datetime | None]
    # Wrong second-factor codes, counted apart from passwords: a correct password must not
    # reset them (issue 11 finding 1), only a correct code or the lock's end does.
    mfa_failures: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    mfa_last_failure_at: Mapped[datetime | None]


class AccountMfa(db.Model):  # type: ignore[name-defined]
    """An account's second factor: the TOTP secret (encrypted) and whether MFA is required."""

    __tablename__ = "account_mfa"

    account_id: Mapped[int] = mapped_column(
        ForeignKey("account.id", ondelete="CASCADE"), primary_key=True
    )
    required: Mapped[bool] = mapped_column(Boolean, default=False)
    totp_secret: Mapped[str | None] = mapped_column(String(512))
    totp_confirmed_at: Mapped[datetime | None]
    totp_last_step: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[UpdatedAt]


class RecoveryCode(AccountRow, db.Model):  # type: ignore[name-defined]
    """A single-use MFA recovery code, stored as SHA-256 (the code itself is high-entropy)."""

    __tablename__ = "mfa_recovery_code"

    code_hash: Mapped[TokenHash]
    used_at: Mapped[datetime | None]


class RememberedDevice(AccountRow, db.Model):  # type: ignore[name-defined]
    """A browser that passed MFA and asked to be remembered (skips the MFA step until expiry)."""

    __tablename__ = "mfa_remembered_device"

    token_hash: Mapped[TokenHash]
    expires_at: Mapped[datetime]
    user_agent: Mapped[str | None] = mapped_column(String(256))


class AuthSourceConfig(db.Model):  # type: ignore[name-defined]
    """A configured sign-in method: its type, name, display name, visibility, order, settings."""

    __tablename__ = "auth_source"

    id: Mapped[IntPk]
    name: Mapped[str] = mapped_column(String(64), unique=True)
    type: Mapped[str] = mapped_column(String(32))
    display_name: Mapped[str] = mapped_column(String(128))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    show_on_login: Mapped[bool] = mapped_column(Boolean, default=True)
    sort_order: Mapped[int] = mapped_column(Integer, default=0)
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[CreatedAt]
