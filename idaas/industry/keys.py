"""Gateway secrets (AppSecret) of API clients: issued once, encrypted at rest, rotatable.

API client secrets are stored as SHA-256 only, which is right for the token endpoint but
useless for HMAC: the gateway signature needs the secret itself on the server. So a client
that calls the digital-factory API with signatures gets a second, separate secret, encrypted
with the deployment's Fernet keys (`security.secretbox`, MultiFernet, key rotation), shown once
and rotatable without touching its OAuth secret.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import delete, select

from idaas import audit
from idaas.applications import service as clients
from idaas.applications.models import ApiClient
from idaas.extensions import db, utcnow
from idaas.industry.models import GatewayKey
from idaas.security import secretbox

SECRET_BYTES = 32


@dataclass(frozen=True)
class GatewayClient:
    """What a signed request needs to know about its AppKey."""

    client_id: str
    scopes: frozenset[str]
    secret: str | None


def issue_secret(origin: str, client_id: str) -> str:
    """Create or replace the client's gateway secret; return it (shown once, never logged)."""
    client = clients.get_client(client_id)
    secret = secrets.token_urlsafe(SECRET_BYTES)
    key = db.session.scalar(select(GatewayKey).where(GatewayKey.api_client_id == client.id))
    action = "industry.gateway_secret_rotated"
    if key is None:
        key = GatewayKey(api_client_id=client.id, secret_encrypted="")
        db.session.add(key)
        action = "industry.gateway_secret_issued"
    key.secret_encrypted = secretbox.encrypt(secret)
    key.rotated_at = utcnow()
    audit.record(origin, action, f"api_client:{client.client_id}", details={})
    db.session.commit()
    return secret


def revoke_secret(origin: str, client_id: str) -> bool:
    """Remove the client's gateway secret; signed requests with its AppKey stop at once."""
    client = clients.get_client(client_id)
    result = db.session.execute(delete(GatewayKey).where(GatewayKey.api_client_id == client.id))
    removed = int(getattr(result, "rowcount", 0) or 0)
    if removed:
        from idaas.industry import generation

        generation.bump(db.session())
        audit.record(
            origin, "industry.gateway_secret_revoked", f"api_client:{client_id}", details={}
        )
    db.session.commit()
    return bool(removed)


def _load(client_id: str) -> GatewayClient | None:
    row = db.session.execute(
        select(ApiClient.client_id, ApiClient.scopes, GatewayKey.secret_encrypted)
        .outerjoin(GatewayKey, GatewayKey.api_client_id == ApiClient.id)
        .where(ApiClient.client_id == client_id, ApiClient.enabled.is_(True))
    ).first()
    if row is None:
        return None
    found, scopes, encrypted = row
    secret = secretbox.decrypt(encrypted) if encrypted else None
    return GatewayClient(found, frozenset(scopes or []), secret)


def gateway_client(client_id: str) -> GatewayClient | None:
    """The enabled API client behind an AppKey (cached until anything about clients changes)."""
    if not client_id or len(client_id) > 64:
        return None
    cache = current_app.extensions["industry"].clients
    return cache.get(("client", client_id), lambda: _load(client_id))


def cached_gateway_client(client_id: str) -> tuple[int, GatewayClient] | None:
    """`(generation, client)` as this process last loaded it, if it can sign; no store read."""
    found = current_app.extensions["industry"].clients.peek(("client", client_id))
    if found is None or found[1] is None or found[1].secret is None:
        return None
    return found
