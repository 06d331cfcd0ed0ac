"""Authorization codes (RFC 6749 §4.1.2): stored as hashes, claimed once, nonces never reused."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

from flask import has_request_context, request
from sqlalchemy import select, update
from sqlalchemy.orm import lazyload

from idaas import audit
from idaas.applications.models import Application
from idaas.directory.models import Account
from idaas.extensions import db, utcnow
from idaas.oidc.models import AuthorizationCode, OidcToken, RpSession
from idaas.oidc.principal import Principal, principal_for
from idaas.oidc.tokens import digest

CODE_LIFETIME = timedelta(minutes=2)


def save_code(code: str, request: Any, principal: Principal) -> None:
    """Store an authorization code (hash only) with what the token request will need."""
    data = request.payload.data
    now = utcnow()
    db.session.add(
        AuthorizationCode(
            code_hash=digest(code),
            client_id=request.client.client_id,
            account_id=principal.account.id,
            auth_session_id=principal.auth_session_id,
            redirect_uri=request.payload.redirect_uri or request.client.get_default_redirect_uri(),
            scope=request.scope or "",
            nonce=data.get("nonce"),
            code_challenge=data.get("code_challenge"),
            code_challenge_method=data.get("code_challenge_method"),
            auth_time=principal.auth_time or int(time.time()),
            acr=principal.acr,
            amr=principal.amr,
            created_at=now,
            expires_at=now + CODE_LIFETIME,
        )
    )
    if principal.auth_session_id is not None:
        _remember_rp(principal, request.client)
    db.session.commit()


def _remember_rp(principal: Principal, app: Application) -> None:
    exists = db.session.scalar(
        select(RpSession.id).where(
            RpSession.auth_session_id == principal.auth_session_id,
            RpSession.client_id == app.client_id,
        )
    )
    if exists is None:
        db.session.add(
            RpSession(
                auth_session_id=principal.auth_session_id,
                account_id=principal.account.id,
                client_id=app.client_id,
                subject=principal.subject,
            )
        )


def nonce_used(client_id: str, nonce: str) -> bool:
    """Whether this client already used `nonce` in a code still on record (replay).

    authlib asks twice per authorization request (validation, then the response): the answer
    is remembered for the request. The lookup uses the (client_id, nonce) index.
    """
    if not has_request_context():
        return _nonce_on_record(client_id, nonce)
    asked: dict[tuple[str, str], bool] = request.environ.setdefault("idaas.nonces", {})
    if (client_id, nonce) not in asked:
        asked[(client_id, nonce)] = _nonce_on_record(client_id, nonce)
    return asked[(client_id, nonce)]


def _nonce_on_record(client_id: str, nonce: str) -> bool:
    from idaas import replay  # the shared store outlives pruned codes (Redis or database)

    if replay.nonce_seen(client_id, nonce):
        return True
    return (
        db.session.scalar(
            select(AuthorizationCode.id).where(
                AuthorizationCode.client_id == client_id, AuthorizationCode.nonce == nonce
            )
        )
        is not None
    )


def _commit_keeping_loaded() -> None:
    """Commit without expiring the loaded objects: the token request reads the code and the
    client again at once, and nothing else wrote them in this transaction."""
    session = db.session()
    before = session.expire_on_commit
    session.expire_on_commit = False
    try:
        session.commit()
    finally:
        session.expire_on_commit = before


def claim_code(code: str, client: Application) -> AuthorizationCode | None:
    """The unused, unexpired code issued to `client`, marked used (RFC 6749 §4.1.2).

    A code presented a second time revokes every token issued from it (§10.5) and is refused.
    """
    row = db.session.scalar(
        select(AuthorizationCode).where(AuthorizationCode.code_hash == digest(code))
    )
    if row is None or row.client_id != client.client_id:
        return None
    if row.used_at is not None:
        revoked = db.session.execute(
            update(OidcToken)
            .where(OidcToken.code_hash == row.code_hash, OidcToken.revoked_at.is_(None))
            .values(revoked_at=utcnow())
        )
        audit.record(
            f"app:{client.client_id}",
            "oidc.code_reused",
            f"account:{row.account_id}",
            outcome="failure",
            details={"revoked_tokens": int(revoked.rowcount or 0)},  # type: ignore[attr-defined]
        )
        db.session.commit()
        return None
    if utcnow() >= row.expires_at:
        return None
    claimed = db.session.execute(
        update(AuthorizationCode)
        .where(AuthorizationCode.id == row.id, AuthorizationCode.used_at.is_(None))
        .values(used_at=utcnow())
    )
    if not claimed.rowcount:  # type: ignore[attr-defined]
        return None
    # Burnt at first presentation: a failed PKCE or redirect_uri check after this point must
    # not give a stolen code another try (RFC 9700 §4.5.3), so the claim is committed now.
    _commit_keeping_loaded()
    return row


def principal_of_code(row: AuthorizationCode, app: Application) -> Principal | None:
    """The Principal behind a code, if the account is still active."""
    # memberships are read only if the `departments` scope asks for them
    account = db.session.get(Account, row.account_id, options=[lazyload(Account.memberships)])
    if account is None or account.status != "active":
        return None
    return principal_for(
        app,
        account,
        auth_session_id=row.auth_session_id,
        auth_time=row.auth_time,
        acr=row.acr,
        amr=list(row.amr or []),
    )
