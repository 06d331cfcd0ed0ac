"""API clients (AppKey/AppSecret) and integration requests.

An API client's secret is 256 random bits, so a single SHA-256 is enough to make the stored
value useless to a thief (no dictionary to try) while keeping the token endpoint fast; a slow
password hash (argon2) would only add latency. The secret itself is never stored.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime

from authlib.oauth2.rfc6749 import ClientMixin
from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from idaas.extensions import db, utcnow

TOKEN_ENDPOINT_AUTH_METHODS = ("client_secret_basic", "client_secret_post")
REQUEST_STATUSES = ("pending", "approved", "rejected")


def hash_secret(secret: str) -> str:
    """The stored form of a client secret: SHA-256, hex."""
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


class ApiClient(ClientMixin, db.Model):  # type: ignore[name-defined]
    """A machine client using the client-credentials grant (RFC 6749 §4.4)."""

    __tablename__ = "api_client"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(128))
    note: Mapped[str | None] = mapped_column(String(1024))
    owner: Mapped[str | None] = mapped_column(String(128))
    scopes: Mapped[list[str]] = mapped_column(JSON, default=list)
    secret_hash: Mapped[str] = mapped_column(String(64))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    secret_rotated_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Bumped on rotation and disabling; access tokens carry it (`client_gen`) and older
    # generations are refused, so those tokens stop working at once.
    token_generation: Mapped[int] = mapped_column(Integer, default=1)
    last_used_at: Mapped[datetime | None]
    version: Mapped[int] = mapped_column(Integer, default=1)

    # -- authlib ClientMixin (RFC 6749 §2, §3.2.1) --

    def get_client_id(self) -> str:
        """The public client identifier (the AppKey)."""
        return self.client_id

    def get_default_redirect_uri(self) -> str | None:
        """API clients never redirect."""
        return None

    def get_allowed_scope(self, scope: str | None) -> str:
        """The part of `scope` this client was granted (RFC 6749 §3.3)."""
        granted = set(self.scopes or [])
        return " ".join(s for s in (scope or "").split() if s in granted)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        """API clients have no redirect URIs."""
        return False

    def check_client_secret(self, client_secret: str) -> bool:
        """Compare the SHA-256 of the presented secret in constant time."""
        return hmac.compare_digest(hash_secret(client_secret), self.secret_hash)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        """Only the token endpoint, with client_secret_basic or client_secret_post (RFC 7591 §2)."""
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

    id: Mapped[int] = mapped_column(primary_key=True)
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
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
