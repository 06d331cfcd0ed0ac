"""Tables of self-service password reset: work-notification codes and proven-identity tickets."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from idaas.columns import AccountRow, CreatedAt, TokenHash
from idaas.extensions import db


class PasswordResetCode(db.Model):  # type: ignore[name-defined]
    """A one-time code sent as a DingTalk work notification (or a decoy for an unknown account).

    `id` is the random public id of the request (in the URL); only the code's SHA-256 is kept.
    A decoy row (no account) answers every code with the same refusal, so the responses never
    tell whether an account exists.
    """

    __tablename__ = "password_reset_code"

    id: Mapped[str] = mapped_column(String(43), primary_key=True)
    account_id: Mapped[int | None] = mapped_column(
        ForeignKey("account.id", ondelete="CASCADE"), index=True
    )
    code_hash: Mapped[str] = mapped_column(String(64))
    link_hash: Mapped[TokenHash]
    created_at: Mapped[CreatedAt]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(Integer, default=0)


class PasswordResetTicket(AccountRow, db.Model):  # type: ignore[name-defined]
    """Proof that a browser showed who it is (through DingTalk): lets it set a new password once."""

    __tablename__ = "password_reset_ticket"

    token_hash: Mapped[TokenHash]
    method: Mapped[str] = mapped_column(String(32))
    mfa_done: Mapped[bool] = mapped_column(Boolean, default=False)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
