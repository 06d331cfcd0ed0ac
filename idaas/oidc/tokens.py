"""Token families: the issue record of every token pair, its liveness and its revocation.

Access tokens are JWTs whose `jti` is remembered, refresh tokens are stored as hashes only, so
that code reuse, refresh-token reuse, revocation and logout can invalidate them.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import lazyload

from idaas import audit
from idaas.applications import apps
from idaas.applications.models import Application
from idaas.directory.models import Account
from idaas.extensions import db, utcnow
from idaas.oidc.models import AuthorizationCode, OidcToken
from idaas.oidc.principal import Principal


def digest(value: str) -> str:
    """SHA-256 (hex) of a code or refresh token: the stored form."""
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()


def save_token(token: dict[str, Any], request: Any, jti: str) -> None:
    """Record an issue of tokens to a person's client (RFC 6749 §5.1); audited without values."""
    app: Application = request.client
    principal: Principal = request.user
    previous: OidcToken | None = getattr(request, "refresh_token", None)
    code: AuthorizationCode | None = getattr(request, "authorization_code", None)
    now = utcnow()
    refresh = token.get("refresh_token")
    row = OidcToken(
        family=previous.family if previous is not None else secrets.token_urlsafe(16),
        client_id=app.client_id,
        account_id=principal.account.id,
        auth_session_id=principal.auth_session_id,
        code_hash=code.code_hash
        if code is not None
        else (previous.code_hash if previous else None),
        jti=jti,
        refresh_hash=digest(refresh) if refresh else None,
        scope=token.get("scope", ""),
        subject=principal.subject,
        auth_time=principal.auth_time,
        acr=principal.acr,
        amr=list(principal.amr),
        issued_at=now,
        access_expires_at=now + timedelta(seconds=int(token.get("expires_in", 0))),
        refresh_expires_at=(now + timedelta(seconds=app.refresh_token_lifetime))
        if refresh
        else None,
        client_generation=app.token_generation,
    )
    db.session.add(row)
    audit.record(
        f"app:{app.client_id}",
        "oauth2.token_issued",
        f"account:{principal.account.id}",
        details={
            "grant_type": request.payload.grant_type if request.payload else "",
            "client_id": app.client_id,
            "scope": row.scope,
            "jti": jti,
            "refresh": bool(refresh),
        },
    )


def revoke_family(family: str) -> None:
    """Revoke every token of a refresh family (the caller commits)."""
    db.session.execute(
        update(OidcToken)
        .where(OidcToken.family == family, OidcToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )


def token_by_jti(jti: str) -> OidcToken | None:
    """The issue record of an access token."""
    return db.session.scalar(select(OidcToken).where(OidcToken.jti == jti))


def current_generation(row: OidcToken, app: Application | None) -> bool:
    """Whether the app is enabled and was not disabled since the token was issued (finding 4)."""
    if app is None:
        return False
    return row.client_generation is None or row.client_generation == app.token_generation


def live_access_token(jti: str) -> tuple[OidcToken, Account, Application] | None:
    """The record, account and app of an access token that is still good (one query).

    Not revoked, not expired, its app enabled and not disabled since (token generation), its
    account active.
    """
    found = db.session.execute(
        select(OidcToken, Account, Application)
        .join(Account, Account.id == OidcToken.account_id)
        .join(Application, Application.client_id == OidcToken.client_id)
        .where(OidcToken.jti == jti, Application.enabled.is_(True))
        .options(lazyload(Account.memberships))  # read only if the `departments` scope asks
    ).first()
    if found is None:
        return None
    row, account, app = found
    if row.revoked_at is not None or row.is_expired() or account.status != "active":
        return None
    if not current_generation(row, app):
        return None
    return row, account, app


def live_refresh_token(row: OidcToken) -> bool:
    """Whether a refresh token row could still be redeemed (for introspection)."""
    if row.revoked_at is not None or row.rotated_at is not None:
        return False
    if row.refresh_expires_at is None or utcnow() >= row.refresh_expires_at:
        return False
    account = db.session.get(Account, row.account_id)
    if account is None or account.status != "active":
        return False
    return current_generation(row, apps.find_enabled_application(row.client_id))


def revoke_token_row(row: OidcToken, actor: str) -> None:
    """RFC 7009 §2.1: a refresh token takes its family with it; an access token goes alone."""
    if row.refresh_hash is not None:
        revoke_family(row.family)
    elif row.revoked_at is None:
        row.revoked_at = utcnow()
    audit.record(actor, "oidc.token_revoked", f"account:{row.account_id}", details={"jti": row.jti})
    db.session.commit()
