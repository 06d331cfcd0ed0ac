"""Static SCIM bearer tokens: issue (shown once), verify, list and revoke; all audited."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from flask_babel import gettext
from sqlalchemy import select, update

from idaas import audit
from idaas.applications.models import ApiClient
from idaas.applications.service import get_client
from idaas.extensions import db, utcnow
from idaas.scim.models import ScimToken

TOKEN_PREFIX = "idaas_scim_"
SCIM_SCOPES = ("scim:read", "scim:write")
# last_used_at is kept to the minute: one conditional UPDATE a minute, not one per request.
LAST_USED_RESOLUTION = timedelta(minutes=1)


class TokenError(ValueError):
    """A token request that cannot be honoured; nothing was changed."""


class TokenNotFound(LookupError):
    """No such token for that client."""


def digest(token: str) -> str:
    """The stored form of a static token: SHA-256, hex."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def issue(
    origin: str, client_id: str, name: str, scopes: list[str] | None = None
) -> tuple[ScimToken, str]:
    """Create a token for an API client; return the row and the token (shown only now)."""
    client = get_client(client_id)
    name = (name or "").strip()
    if not name or len(name) > 128:
        raise TokenError(gettext("A token needs a name of at most 128 characters."))
    allowed = sorted(set(client.scopes or []) & set(SCIM_SCOPES))
    wanted = sorted(set(scopes)) if scopes else allowed
    if not wanted or not set(wanted) <= set(allowed):
        raise TokenError(
            gettext(
                "The client must hold the SCIM scopes the token is for (%(scopes)s).",
                scopes=", ".join(SCIM_SCOPES),
            )
        )
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ScimToken(
        api_client_id=client.id,
        name=name,
        token_hash=digest(token),
        prefix=token[: len(TOKEN_PREFIX) + 6],
        scopes=wanted,
        created_by=origin,
    )
    db.session.add(row)
    db.session.flush()
    audit.record(
        origin,
        "scim_token.created",
        f"scim_token:{row.id}",
        details={"client_id": client.client_id, "name": name, "scopes": wanted},
    )
    db.session.commit()
    return row, token


def list_tokens(client_id: str) -> list[ScimToken]:
    """The tokens of a client (revoked ones included), oldest first."""
    client = get_client(client_id)
    return list(
        db.session.scalars(
            select(ScimToken).where(ScimToken.api_client_id == client.id).order_by(ScimToken.id)
        )
    )


def revoke(origin: str, client_id: str, token_id: int) -> ScimToken:
    """Revoke a token at once (idempotent); audited."""
    client = get_client(client_id)
    row = db.session.scalar(
        select(ScimToken).where(ScimToken.id == token_id, ScimToken.api_client_id == client.id)
    )
    if row is None:
        raise TokenNotFound(gettext("No such token."))
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        audit.record(
            origin,
            "scim_token.revoked",
            f"scim_token:{row.id}",
            details={"client_id": client.client_id, "name": row.name},
        )
        db.session.commit()
    return row


def verify(token: str) -> tuple[ApiClient, list[str]] | None:
    """The enabled client and effective scopes of a live static token, or None."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    row = db.session.execute(
        select(ScimToken, ApiClient)
        .join(ApiClient, ApiClient.id == ScimToken.api_client_id)
        .where(ScimToken.token_hash == digest(token))
    ).first()
    if row is None:
        return None
    scim_token, client = row
    if scim_token.revoked_at is not None or not client.enabled:
        return None
    now = utcnow()
    if scim_token.last_used_at is None or now - scim_token.last_used_at >= LAST_USED_RESOLUTION:
        # Conditional, so concurrent requests of many workers write it once per minute.
        db.session.execute(
            update(ScimToken)
            .where(
                ScimToken.id == scim_token.id,
                (ScimToken.last_used_at.is_(None))
                | (ScimToken.last_used_at < now - LAST_USED_RESOLUTION),
            )
            .values(last_used_at=now)
        )
        db.session.commit()
    scopes = sorted(set(scim_token.scopes or []) & set(client.scopes or []))
    return client, scopes
