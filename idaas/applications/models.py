"""API clients (AppKey/AppSecret) and integration requests.

An API client's secret is 256 random bits, so a single SHA-256 is enough to make the stored
value useless to a thief (no dictionary to try) while keeping the token endpoint fast; a slow
password hash (argon2) would only add latency. The secret itself is never stored.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, timedelta
from typing import Any

from authlib.oauth2.rfc6749 import ClientMixin
from flask import current_app
from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from idaas.columns import CreatedAt, IntPk, UpdatedAt
from idaas.extensions import db, utcnow

TOKEN_ENDPOINT_AUTH_METHODS = ("client_secret_basic", "client_secret_post")
REQUEST_STATUSES = ("pending", "approved", "rejected")


def hash_secret(secret: str) -> str:
    """The stored form of a client secret: SHA-256, hex."""
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


class RegisteredClient(ClientMixin):
    """What every OAuth client here has: identity, scopes, on/off, token generation, history."""

    id: Mapped[IntPk]
    client_id: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(128))
    scopes: Mapped[list[str]] = mapped_column(JSON, default=list)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    # Bumped on secret rotation (API clients) and disabling; tokens carry it and older
    # generations are refused, so those tokens stop working at once.
    token_generation: Mapped[int] = mapped_column(Integer, default=1)
    created_by: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[CreatedAt]
    updated_at: Mapped[UpdatedAt]
    version: Mapped[int] = mapped_column(Integer, default=1)

    def get_client_id(self) -> str:
        """The client identifier (RFC 6749 §2.2; an API client's AppKey)."""
        return self.client_id

    def get_allowed_scope(self, scope: str | None) -> str:
        """The part of the requested `scope` this client was granted (RFC 6749 §3.3)."""
        granted = set(self.scopes or [])
        return " ".join(s for s in (scope or "").split() if s in granted)


class ApiClient(RegisteredClient, db.Model):  # type: ignore[name-defined]
    """A machine client using the client-credentials grant (RFC 6749 §4.4)."""

    __tablename__ = "api_client"

    note: Mapped[str | None] = mapped_column(String(1024))
    owner: Mapped[str | None] = mapped_column(String(128))
    secret_hash: Mapped[str] = mapped_column(String(64))
    secret_rotated_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]

    # -- authlib ClientMixin (RFC 6749 §2, §3.2.1) --

    def get_default_redirect_uri(self) -> str | None:
        """API clients never redirect."""
        return None

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        """API clients have no redirect URIs."""
        return False

    def check_client_secret(self, client_secret: str) -> bool:
        """Compare the SHA-256 of the presented secret in constant time."""
        return hmac.compare_digest(hash_secret(client_secret), self.secret_hash)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        """The token endpoint, and introspection with `tokens:introspect` (RFC 7591 §2)."""
        if endpoint == "introspection" and "tokens:introspect" in (self.scopes or []):
            return method in TOKEN_ENDPOINT_AUTH_METHODS
        return endpoint == "token" and method in TOKEN_ENDPOINT_AUTH_METHODS

    def check_response_type(self, response_type: str) -> bool:
        """API clients use no authorization endpoint."""
        return False

    def check_grant_type(self, grant_type: str) -> bool:
        """Only the client-credentials grant (RFC 6749 §4.4)."""
        return grant_type == "client_credentials"


class IntegrationRequest(db.Model):  # type: ignore[name-defined]
    """A third party asking for an API client; an administrator approves or rejects it."""

    __tablename__ = "integration_request"

    id: Mapped[IntPk]
    reference: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(128))
    contact: Mapped[str] = mapped_column(String(254))
    scopes: Mapped[list[str]] = mapped_column(JSON, default=list)
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    decision_reason: Mapped[str | None] = mapped_column(String(1024))
    decided_by: Mapped[str | None] = mapped_column(String(128))
    decided_at: Mapped[datetime | None]
    api_client_id: Mapped[int | None] = mapped_column(
        ForeignKey("api_client.id", ondelete="SET NULL")
    )
    created_at: Mapped[CreatedAt]

    @property
    def current_status(self) -> str:
        """The status now: `expired` for a pending request older than its lifetime."""
        if self.status == "pending" and self.created_at < request_expiry_cutoff():
            return "expired"
        return self.status


def request_expiry_cutoff() -> datetime:
    """Pending integration requests submitted before this moment have expired."""
    days = float(current_app.config["INTEGRATION_REQUEST_EXPIRY_DAYS"])
    return utcnow() - timedelta(days=days)


SUBJECT_TYPES = ("public", "pairwise")
SUBACCOUNT_MODES = ("direct", "mapping", "association")
SUBACCOUNT_STATUSES = ("pending", "approved", "rejected")
OIDC_AUTH_METHODS = ("client_secret_basic", "client_secret_post", "none")
OIDC_GRANT_TYPES = ("authorization_code", "refresh_token")
ID_TOKEN_ALGS = ("ES256", "RS256")


class Application(RegisteredClient, db.Model):  # type: ignore[name-defined]
    """A downstream application and its OIDC client (OIDC Core §2, RFC 7591 §2 metadata)."""

    __tablename__ = "application"

    description: Mapped[str | None] = mapped_column(String(1024))
    icon_url: Mapped[str | None] = mapped_column(String(512))
    #: The name per language ({"en": "Expenses", "zh_CN": "报销"}); `name` when none fits.
    display_names: Mapped[dict[str, str] | None] = mapped_column(JSON)
    show_in_portal: Mapped[bool] = mapped_column(Boolean, default=True)
    initiate_login_uri: Mapped[str | None] = mapped_column(String(512))
    # {"everyone": true} or any of {"departments": [...], "groups": [...], "roles": [...],
    # "accounts": [...]} (ids; departments include their sub-departments).
    policy: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    secret_hash: Mapped[str | None] = mapped_column(String(64))
    redirect_uris: Mapped[list[str]] = mapped_column(JSON, default=list)
    post_logout_redirect_uris: Mapped[list[str]] = mapped_column(JSON, default=list)
    grant_types: Mapped[list[str]] = mapped_column(JSON, default=list)
    token_endpoint_auth_method: Mapped[str] = mapped_column(String(32))
    id_token_alg: Mapped[str] = mapped_column(String(8), default="ES256")
    access_token_lifetime: Mapped[int] = mapped_column(Integer, default=3600)
    refresh_token_lifetime: Mapped[int] = mapped_column(Integer, default=30 * 86400)
    id_token_lifetime: Mapped[int] = mapped_column(Integer, default=3600)
    consent_required: Mapped[bool] = mapped_column(Boolean, default=True)
    pkce_required: Mapped[bool] = mapped_column(Boolean, default=True)
    subject_type: Mapped[str] = mapped_column(String(16), default="public")
    sector_identifier: Mapped[str | None] = mapped_column(String(255))
    backchannel_logout_uri: Mapped[str | None] = mapped_column(String(512))
    frontchannel_logout_uri: Mapped[str | None] = mapped_column(String(512))
    subaccount_mode: Mapped[str] = mapped_column(String(16), default="direct")
    subaccount_rule: Mapped[str | None] = mapped_column(String(64))
    subaccount_as_sub: Mapped[bool] = mapped_column(Boolean, default=False)
    # {"claim name": "custom attribute key"}, released with the `profile` scope.
    claim_mapping: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)

    @property
    def is_public(self) -> bool:
        """A public client has no secret (RFC 6749 §2.1)."""
        return self.secret_hash is None

    @property
    def client_metadata(self) -> dict[str, Any]:
        """Registered metadata authlib reads (RP-Initiated Logout §3)."""
        return {"post_logout_redirect_uris": list(self.post_logout_redirect_uris or [])}

    @property
    def id_token_signed_response_alg(self) -> str:
        """The client's ID token algorithm (OIDC Registration §2)."""
        return self.id_token_alg

    def get_default_redirect_uri(self) -> str | None:
        """The only redirect URI when exactly one is registered (RFC 6749 §3.1.2.3)."""
        uris = list(self.redirect_uris or [])
        return uris[0] if len(uris) == 1 else None

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        """Exact string match with a registered URI (RFC 6749 §3.1.2.3, no prefixes)."""
        return redirect_uri in (self.redirect_uris or [])

    def check_client_secret(self, client_secret: str) -> bool:
        """Constant-time SHA-256 comparison; public clients have no secret."""
        if self.secret_hash is None:
            return False
        return hmac.compare_digest(hash_secret(client_secret), self.secret_hash)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        """Confidential: either secret method (quirky RPs differ); public: none (RFC 7591 §2)."""
        if endpoint == "introspection" and self.is_public:
            return False
        if self.is_public:
            return method == "none"
        return method in ("client_secret_basic", "client_secret_post")

    def check_response_type(self, response_type: str) -> bool:
        """Only the code flow (OIDC Core §3.1)."""
        return response_type == "code" and "authorization_code" in (self.grant_types or [])

    def check_grant_type(self, grant_type: str) -> bool:
        """The grant types registered for this client."""
        return grant_type in (self.grant_types or [])


class SubAccount(db.Model):  # type: ignore[name-defined]
    """An account's username in one application (主子账号, association mode)."""

    __tablename__ = "application_subaccount"
    __table_args__ = (UniqueConstraint("application_id", "account_id"),)

    id: Mapped[IntPk]
    application_id: Mapped[int] = mapped_column(
        ForeignKey("application.id", ondelete="CASCADE"), index=True
    )
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"))
    username: Mapped[str] = mapped_column(String(128))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    proposed_by: Mapped[str] = mapped_column(String(128))
    decided_by: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[CreatedAt]
    decided_at: Mapped[datetime | None]
