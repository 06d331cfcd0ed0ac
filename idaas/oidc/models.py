"""Signing keys of the authorization server (private parts encrypted at rest)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from idaas.columns import AccountFk, CreatedAt, IntPk, TokenHash, partial_index
from idaas.extensions import db, utcnow

KEY_STATUSES = ("next", "active", "retired", "expired")


class SigningKey(db.Model):  # type: ignore[name-defined]
    """A JWS key: one `active` key per algorithm signs; `next` and `retired` keys verify;
    `expired` keys are gone from the JWKS."""

    __tablename__ = "signing_key"
    __table_args__ = (
        partial_index("uq_signing_key_active_alg", "alg", where="status = 'active'", unique=True),
    )

    id: Mapped[IntPk]
    kid: Mapped[str] = mapped_column(String(64), unique=True)
    alg: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="active")
    public_jwk: Mapped[dict[str, Any]] = mapped_column(JSON)
    private_jwk_encrypted: Mapped[str] = mapped_column(Text)
    created_at: Mapped[CreatedAt]
    retired_at: Mapped[datetime | None]
    # A `next` key is published in the JWKS now and starts signing at `activates_at`.
    activates_at: Mapped[datetime | None]


class KeyState(db.Model):  # type: ignore[name-defined]
    """One row: a generation counter bumped with every change to the signing keys.

    Every process compares it with the generation of its cached keys and documents, so a key
    change is seen by all workers at their next check (`oidc.keys`).
    """

    __tablename__ = "oidc_key_state"

    id: Mapped[IntPk]
    generation: Mapped[int] = mapped_column(Integer, default=0)


class AuthorizationCode(db.Model):  # type: ignore[name-defined]
    """A single-use authorization code (RFC 6749 §4.1.2); only its SHA-256 is stored."""

    __tablename__ = "oidc_authorization_code"
    # the nonce replay check filters on both (issue 18); client_id alone uses the same index
    __table_args__ = (Index("ix_oidc_authorization_code_client_id_nonce", "client_id", "nonce"),)

    id: Mapped[IntPk]
    code_hash: Mapped[TokenHash]
    client_id: Mapped[str] = mapped_column(String(64))
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"))
    auth_session_id: Mapped[int | None] = mapped_column(Integer)
    redirect_uri: Mapped[str] = mapped_column(Text)
    scope: Mapped[str] = mapped_column(Text)
    nonce: Mapped[str | None] = mapped_column(String(512))
    code_challenge: Mapped[str | None] = mapped_column(String(128))
    code_challenge_method: Mapped[str | None] = mapped_column(String(8))
    auth_time: Mapped[int] = mapped_column(Integer)
    acr: Mapped[str | None] = mapped_column(String(32))
    amr: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[CreatedAt]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]

    def get_redirect_uri(self) -> str:
        """The redirect URI of the authorization request (RFC 6749 §4.1.3)."""
        return self.redirect_uri

    def get_scope(self) -> str:
        """The granted scope."""
        return self.scope

    def get_nonce(self) -> str | None:
        """The request's nonce (OIDC Core §3.1.2.1)."""
        return self.nonce

    def get_auth_time(self) -> int:
        """When the person authenticated (OIDC Core §2 `auth_time`)."""
        return self.auth_time

    def get_acr(self) -> str | None:
        """The authentication context class (OIDC Core §2 `acr`)."""
        return self.acr

    def get_amr(self) -> list[str]:
        """The authentication methods (OIDC Core §2 `amr`)."""
        return list(self.amr or [])


class OidcToken(db.Model):  # type: ignore[name-defined]
    """One issue of tokens to a person's client: the access token's `jti` and the refresh
    token's SHA-256. Rows of one sign-in share a `family` (refresh rotation, RFC 9700 §4.14)."""

    __tablename__ = "oidc_token"

    id: Mapped[IntPk]
    family: Mapped[str] = mapped_column(String(64), index=True)
    client_id: Mapped[str] = mapped_column(String(64), index=True)
    account_id: Mapped[AccountFk]
    auth_session_id: Mapped[int | None] = mapped_column(Integer, index=True)
    code_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    jti: Mapped[str] = mapped_column(String(64), unique=True)
    refresh_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    scope: Mapped[str] = mapped_column(Text)
    subject: Mapped[str] = mapped_column(String(128))
    auth_time: Mapped[int] = mapped_column(Integer)
    acr: Mapped[str | None] = mapped_column(String(32))
    amr: Mapped[list[str]] = mapped_column(JSON, default=list)
    issued_at: Mapped[datetime] = mapped_column(default=utcnow)
    access_expires_at: Mapped[datetime]
    refresh_expires_at: Mapped[datetime | None]
    rotated_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    # The application's `token_generation` at issue: disabling bumps it, so old tokens stay dead
    # after re-enabling.
    client_generation: Mapped[int | None] = mapped_column(Integer)
    # The token response that replaced this refresh token (encrypted), replayed to a concurrent
    # re-presentation within REFRESH_TOKEN_REUSE_GRACE_SECONDS.
    successor_encrypted: Mapped[str | None] = mapped_column(Text)

    def get_scope(self) -> str:
        """The scope granted with this token."""
        return self.scope

    def check_client(self, client: Any) -> bool:
        """Whether `client` is the client this token was issued to."""
        return bool(client.get_client_id() == self.client_id)

    def is_revoked(self) -> bool:
        """Revoked explicitly or by family (RFC 7009 §2.1)."""
        return self.revoked_at is not None

    def is_expired(self) -> bool:
        """Whether the access token has expired."""
        return utcnow() >= self.access_expires_at


class Consent(db.Model):  # type: ignore[name-defined]
    """Scopes a person granted to a third-party application (OIDC Core §3.1.2.4)."""

    __tablename__ = "oidc_consent"
    __table_args__ = (UniqueConstraint("account_id", "client_id"),)

    id: Mapped[IntPk]
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"))
    client_id: Mapped[str] = mapped_column(String(64), index=True)
    scopes: Mapped[list[str]] = mapped_column(JSON, default=list)
    granted_at: Mapped[datetime] = mapped_column(default=utcnow)


class RpSession(db.Model):  # type: ignore[name-defined]
    """A relying party the person signed in to during one idaas session (for logout)."""

    __tablename__ = "oidc_rp_session"
    __table_args__ = (UniqueConstraint("auth_session_id", "client_id"),)

    id: Mapped[IntPk]
    auth_session_id: Mapped[int] = mapped_column(Integer, index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"))
    client_id: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[CreatedAt]
