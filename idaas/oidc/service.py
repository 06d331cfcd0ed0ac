"""The OpenID provider's state: codes, token families, consent, RP sessions, claims, logout.

Only hashes of codes and refresh tokens are stored; access tokens are JWTs whose `jti` is
remembered so that code reuse, refresh-token reuse, revocation and logout can invalidate them.
Every decision the issue lists (authorization granted/denied, consent, token issued, refresh
reuse, logout) is audited here, never with a token value.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import select, update

from idaas import audit
from idaas.applications import apps
from idaas.applications.models import Application
from idaas.directory.models import Account
from idaas.extensions import db, utcnow
from idaas.oidc.models import AuthorizationCode, Consent, OidcToken, RpSession

CODE_LIFETIME = timedelta(minutes=2)


def epoch(moment: datetime) -> int:
    """Seconds since the epoch of a naive UTC datetime (as stored), whatever the server's TZ."""
    return int(moment.replace(tzinfo=UTC).timestamp())


def digest(value: str) -> str:
    """SHA-256 (hex) of a code or refresh token: the stored form."""
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass
class Principal:
    """The signed-in person as authlib's grants see them (`get_user_id` is the app's `sub`)."""

    account: Account
    subject: str
    auth_session_id: int | None = None
    auth_time: int = 0
    acr: str | None = None
    amr: list[str] = field(default_factory=list)

    def get_user_id(self) -> str:
        """The subject identifier for this client (OIDC Core §8)."""
        return self.subject


# -- subjects and claims -------------------------------------------------------------------


def sid_for(auth_session_id: int) -> str:
    """The `sid` of an idaas session (Front-/Back-Channel Logout §3): opaque and stable."""
    key = str(current_app.secret_key).encode()
    mac = hmac.new(key, f"sid:{auth_session_id}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac[:18]).decode().rstrip("=")


def sector_of(app: Application) -> str:
    """The sector identifier: configured, else the host of the first redirect URI (§8.1)."""
    if app.sector_identifier:
        return app.sector_identifier
    from urllib.parse import urlsplit

    uris = app.redirect_uris or [app.client_id]
    return urlsplit(uris[0]).hostname or uris[0]


def subject_for(app: Application, account: Account) -> str:
    """`sub` for `app`: uuid, pairwise (OIDC Core §8.1) or the app username."""
    if app.subaccount_as_sub and app.subaccount_mode != "direct":
        username, state = apps.app_username(app, account)
        if username and state == "ok":
            return username
    if app.subject_type == "pairwise":
        salt = str(current_app.config["PAIRWISE_SALT"] or current_app.secret_key).encode()
        raw = f"{sector_of(app)}|{account.uuid}".encode()
        mac = hmac.new(salt, raw, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(mac).decode().rstrip("=")
    return account.uuid


def principal_for(
    app: Application, account: Account, session_row: Any | None = None, **fallback: Any
) -> Principal:
    """The Principal of `account` for `app`, with the session's authentication facts."""
    if session_row is not None:
        return Principal(
            account=account,
            subject=subject_for(app, account),
            auth_session_id=session_row.id,
            auth_time=epoch(session_row.authenticated_at),
            acr=session_row.acr,
            amr=list(session_row.methods or []),
        )
    return Principal(account=account, subject=subject_for(app, account), **fallback)


def user_claims(app: Application, account: Account, scope: str, subject: str) -> dict[str, Any]:
    """The claims the granted `scope` releases (OIDC Core §5.4, plus idaas scopes)."""
    from idaas.directory import service as directory

    scopes = set(scope.split())
    claims: dict[str, Any] = {"sub": subject}
    if "profile" in scopes:
        username, _ = apps.app_username(app, account)
        claims.update(
            name=account.display_name,
            preferred_username=username or account.username,
            locale=(account.locale or "zh-CN").replace("_", "-"),
            updated_at=epoch(account.updated_at),
        )
        for claim, key in (app.claim_mapping or {}).items():
            value = (account.attributes or {}).get(key)
            if value is not None and claim not in claims:
                claims[claim] = value
    if "email" in scopes and account.email:
        claims.update(email=account.email, email_verified=bool(account.email_verified))
    if "phone" in scopes and account.mobile:
        claims.update(
            phone_number=account.mobile, phone_number_verified=bool(account.mobile_verified)
        )
    if "employee_number" in scopes and account.employee_number:
        claims["employee_number"] = account.employee_number
    if "departments" in scopes:
        memberships = sorted(account.memberships, key=lambda m: (not m.is_primary, m.sort_order))
        departments = []
        for membership in memberships:
            department = directory.get_department(membership.department_id)
            departments.append(
                {"id": department.id, "name": department.name, "primary": membership.is_primary}
            )
        claims["departments"] = departments
    if "groups" in scopes:
        claims["groups"] = [g.name for g in directory.groups_of(account.id)]
    if "roles" in scopes:
        claims["roles"] = [r.name for r in directory.roles_of(account.id)]
    return claims


# -- authorization decisions ---------------------------------------------------------------


def record_decision(
    app: Application,
    account: Account | None,
    granted: bool,
    reason: str,
    scope: str = "",
    *,
    commit: bool = True,
) -> None:
    """Audit an authorization granted or denied (with the policy reason)."""
    actor = f"user:{account.id}" if account else "anonymous"
    audit.record(
        actor,
        "oidc.authorization_granted" if granted else "oidc.authorization_denied",
        f"application:{app.client_id}",
        outcome="success" if granted else "failure",
        details={"reason": reason, "scope": scope},
    )
    if commit:
        db.session.commit()


def has_consent(account_id: int, client_id: str, scopes: list[str]) -> bool:
    """Whether the person already granted these scopes to this app (remembered consent)."""
    row = db.session.scalar(
        select(Consent).where(Consent.account_id == account_id, Consent.client_id == client_id)
    )
    return row is not None and set(scopes) <= set(row.scopes or [])


def grant_consent(account_id: int, client_id: str, scopes: list[str]) -> None:
    """Remember consent to `scopes` (merged with earlier ones); audited."""
    row = db.session.scalar(
        select(Consent).where(Consent.account_id == account_id, Consent.client_id == client_id)
    )
    if row is None:
        row = Consent(account_id=account_id, client_id=client_id, scopes=[])
        db.session.add(row)
    row.scopes = sorted(set(row.scopes or []) | set(scopes))
    row.granted_at = utcnow()
    audit.record(
        f"user:{account_id}",
        "oidc.consent_granted",
        f"application:{client_id}",
        details={"scopes": row.scopes},
    )
    db.session.commit()


def consents_of(account_id: int) -> list[tuple[Consent, Application | None]]:
    """The person's remembered consents with their applications."""
    rows = db.session.scalars(select(Consent).where(Consent.account_id == account_id))
    return [(row, apps.find_enabled_application(row.client_id)) for row in rows]


def revoke_consent(account_id: int, client_id: str) -> bool:
    """Forget consent for an app and revoke the tokens it holds for the person; audited."""
    row = db.session.scalar(
        select(Consent).where(Consent.account_id == account_id, Consent.client_id == client_id)
    )
    if row is None:
        return False
    db.session.delete(row)
    db.session.execute(
        update(OidcToken)
        .where(
            OidcToken.account_id == account_id,
            OidcToken.client_id == client_id,
            OidcToken.revoked_at.is_(None),
        )
        .values(revoked_at=utcnow())
    )
    audit.record(f"user:{account_id}", "oidc.consent_revoked", f"application:{client_id}")
    db.session.commit()
    return True


# -- codes ---------------------------------------------------------------------------------


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
    """Whether this client already used `nonce` in a code still on record (replay)."""
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
    db.session.commit()
    return row


def principal_of_code(row: AuthorizationCode, app: Application) -> Principal | None:
    """The Principal behind a code, if the account is still active."""
    account = db.session.get(Account, row.account_id)
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


# -- tokens --------------------------------------------------------------------------------


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
    """The record, account and app of an access token that is still good.

    Not revoked, not expired, its app enabled and not disabled since (token generation), its
    account active.
    """
    row = token_by_jti(jti)
    if row is None or row.revoked_at is not None or row.is_expired():
        return None
    account = db.session.get(Account, row.account_id)
    app = apps.find_enabled_application(row.client_id)
    if account is None or account.status != "active" or app is None:
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


# -- logout --------------------------------------------------------------------------------


def rp_sessions_of(auth_session_ids: list[int]) -> list[tuple[RpSession, Application]]:
    """The relying parties signed in through these idaas sessions."""
    if not auth_session_ids:
        return []
    rows = db.session.scalars(
        select(RpSession).where(RpSession.auth_session_id.in_(auth_session_ids))
    )
    found = []
    for row in rows:
        app = apps.find_enabled_application(row.client_id)
        if app is not None:
            found.append((row, app))
    return found


def end_rp_sessions(auth_session_ids: list[int], actor: str) -> list[tuple[RpSession, Application]]:
    """Forget the RP sessions of ended idaas sessions, revoke their tokens; return them."""
    found = rp_sessions_of(auth_session_ids)
    if not auth_session_ids:
        return found
    db.session.execute(
        update(OidcToken)
        .where(OidcToken.auth_session_id.in_(auth_session_ids), OidcToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    for row, app in found:
        audit.record(
            actor,
            "oidc.logout",
            f"application:{app.client_id}",
            details={"session": row.auth_session_id, "account_id": row.account_id},
        )
        db.session.delete(row)
    db.session.commit()
    return found
