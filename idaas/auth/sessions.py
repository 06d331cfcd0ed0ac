"""Server-side sessions: one row per sign-in, a signed opaque id in the cookie.

The cookie holds `itsdangerous`-signed random token; the table stores only its SHA-256, so a
copy of the database does not hand out live sessions. A lookup is one indexed query (the unique
`token_hash`, joined to the account for its status). The id is replaced whenever the privilege
of the session changes (a new row at sign-in, `rotate()` after MFA or a password change), so a
planted cookie never becomes a signed-in one (session fixation).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import wraps
from typing import Any, TypeVar, cast

from flask import Flask, current_app, g, redirect, request, url_for
from flask_babel import refresh
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import delete, func, or_, select
from werkzeug.wrappers import Response

from idaas import audit
from idaas.auth.models import AuthSession
from idaas.directory.models import Account
from idaas.extensions import db, utcnow
from idaas.security import signin_policy
from idaas.security.models import SignInPolicyOverride

SALT = "idaas.auth.session"
#: The page of each pending sign-in step (the sign-in flow sends people there; so does
#: `login_required`, which is why it lives here and `flow` imports it, not the other way).
STEP_ENDPOINTS = {
    "mfa": "auth.mfa_step",
    "mfa_enrol": "auth.mfa_enrol",
    "password": "auth.change_password",
}
TOUCH_EVERY = timedelta(seconds=60)
_UNSET = object()
F = TypeVar("F", bound=Callable[..., Any])


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(str(current_app.secret_key), salt=SALT)


def token_hash(token: str) -> str:
    """The SHA-256 (hex) of a session token: what the table stores."""
    return hashlib.sha256(token.encode()).hexdigest()


def cookie_name() -> str:
    """The name of the session-id cookie."""
    return str(current_app.config["SESSION_COOKIE_NAME_AUTH"])


def _lifetime(state: str) -> timedelta:
    config = current_app.config
    if state == "active":
        return signin_policy.effective().session_lifetime
    return timedelta(minutes=float(config["SESSION_PENDING_MINUTES"]))


def _issue(row: AuthSession) -> None:
    """Give `row` a fresh random token and schedule the cookie that carries it."""
    token = secrets.token_urlsafe(32)
    row.token_hash = token_hash(token)
    g.idaas_set_cookie = _serializer().dumps(token)
    g.idaas_session = row


def start(account: Account, *, methods: list[str], source: str, state: str) -> AuthSession:
    """Create the session row of a new sign-in (fresh id; the caller commits)."""
    now = utcnow()
    row = AuthSession(
        account_id=account.id,
        state=state,
        created_at=now,
        last_seen_at=now,
        authenticated_at=now,
        expires_at=now + _lifetime(state),
        ip=(request.remote_addr or "")[:64] or None,
        user_agent=(request.user_agent.string or "")[:256] or None,
        methods=list(methods),
        acr=acr_for(methods),
        source=source,
    )
    _issue(row)
    db.session.add(row)
    return row


def acr_for(methods: list[str]) -> str:
    """`mfa` when a second factor was used, else `pwd` (or the single method's name)."""
    if {"otp", "recovery", "device"} & set(methods):
        return "mfa"
    return methods[0] if methods else "none"


def rotate(row: AuthSession) -> None:
    """Replace the session id (privilege change); the old cookie stops working."""
    _issue(row)


def set_state(row: AuthSession, state: str) -> None:
    """Move a session to a new state; becoming active starts the absolute lifetime."""
    row.state = state
    row.acr = acr_for(row.methods)
    if state == "active":
        now = utcnow()
        row.authenticated_at = now
        row.last_seen_at = now
        row.expires_at = now + _lifetime("active")


def _load() -> AuthSession | None:
    """Find this request's session row (any state) or None; one indexed query."""
    raw = request.cookies.get(cookie_name())
    if not raw:
        return None
    try:
        token = _serializer().loads(raw)
    except BadSignature:
        return None
    if not isinstance(token, str):
        return None
    # The policy row rides along (outer join on its primary key): the idle timeout needs it,
    # and a signed-in page then reads the sign-in policy without a statement of its own.
    found = db.session.execute(
        select(AuthSession, Account.status, SignInPolicyOverride)
        .join(Account, Account.id == AuthSession.account_id)
        .outerjoin(SignInPolicyOverride, SignInPolicyOverride.id == signin_policy.ROW_ID)
        .where(AuthSession.token_hash == token_hash(token))
        .execution_options(populate_existing=True)
    ).first()
    if found is None:
        return None
    row, status, override = found
    signin_policy.remember(override)
    now = utcnow()
    idle = signin_policy.effective().session_idle
    if row.revoked_at is not None or status != "active" or now >= row.expires_at:
        return None
    if row.state == "active" and now - row.last_seen_at > idle:
        return None
    if now - row.last_seen_at > TOUCH_EVERY:
        row.last_seen_at = now
        db.session.commit()
    return cast(AuthSession, row)


def current_any() -> AuthSession | None:
    """This request's session in any state (a sign-in in progress included)."""
    cached = g.get("idaas_session", _UNSET)
    if cached is _UNSET:
        cached = _load()
        g.idaas_session = cached
        if cached is None and request.cookies.get(cookie_name()):
            g.idaas_clear_cookie = True
    return cast(AuthSession | None, cached)


def current() -> AuthSession | None:
    """This request's completed (signed-in) session, or None."""
    row = current_any()
    return row if row is not None and row.state == "active" else None


def current_account() -> Account | None:
    """The signed-in account of this request, or None."""
    row = current()
    return db.session.get(Account, row.account_id) if row is not None else None


def revoke(row: AuthSession, reason: str, actor: str) -> None:
    """End one session (the caller commits); audited."""
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        row.revoked_reason = reason[:64]
        audit.record(
            actor,
            "auth.session.revoked",
            f"account:{row.account_id}",
            details={"session": row.id, "reason": reason},
        )
    if g.get("idaas_session") is row:
        g.idaas_session = None
        g.idaas_clear_cookie = True
        g.pop("idaas_set_cookie", None)


def end_session(row: AuthSession, reason: str, actor: str) -> None:
    """End one session now: revoke (audited) and commit."""
    revoke(row, reason, actor)
    db.session.commit()


def sign_out(row: AuthSession) -> None:
    """The person signs out of this session: revoke, audit `auth.logout`, commit."""
    actor = f"user:{row.account_id}"
    revoke(row, "logout", actor)
    audit.record(actor, "auth.logout", f"account:{row.account_id}", details={"session": row.id})
    db.session.commit()


def add_method(row: AuthSession, method: str) -> None:
    """Record a factor passed inside a signed-in session (e.g. TOTP just enrolled); new id."""
    if method not in row.methods:
        row.methods = [*row.methods, method]
    row.acr = acr_for(row.methods)
    rotate(row)
    db.session.commit()


def revoke_all(account_id: int, reason: str, actor: str, *, keep: int | None = None) -> int:
    """End every live session of an account except `keep`; commit; return how many ended."""
    count = end_all(account_id, reason, actor, keep=keep)
    db.session.commit()
    return count


def end_all(account_id: int, reason: str, actor: str, *, keep: int | None = None) -> int:
    """End every live session of an account except `keep` (the caller commits); how many.

    Rows are changed through the ORM (an account has a handful of sessions), so listeners on
    `AuthSession.revoked_at` (OIDC back-channel logout) see each one, as with `revoke`.
    Directory signal receivers use this: the directory write that sent the signal commits.
    """
    query = select(AuthSession).where(
        AuthSession.account_id == account_id, AuthSession.revoked_at.is_(None)
    )
    if keep is not None:
        query = query.where(AuthSession.id != keep)
    now = utcnow()
    rows = list(db.session.scalars(query))
    for row in rows:
        row.revoked_at = now
        row.revoked_reason = reason[:64]
    count = len(rows)
    if count:
        audit.record(
            actor,
            "auth.session.revoked_all",
            f"account:{account_id}",
            details={"reason": reason, "count": count, "kept": keep},
        )
    current_row = g.get("idaas_session") if _in_request() else None
    if current_row is not None and current_row.account_id == account_id and current_row.id != keep:
        g.idaas_session = None
        g.idaas_clear_cookie = True
    return count


def revoke_pending(account_id: int, reason: str, actor: str) -> int:
    """End every sign-in of the account still in progress (MFA, enrolment, password step).

    Through the ORM like `revoke_all`; the caller commits. Returns how many ended.
    """
    rows = list(
        db.session.scalars(
            select(AuthSession).where(
                AuthSession.account_id == account_id,
                AuthSession.revoked_at.is_(None),
                AuthSession.state != "active",
            )
        )
    )
    for row in rows:
        revoke(row, reason, actor)
    return len(rows)


def prune(cutoff: datetime) -> int:
    """Delete sessions that expired or were revoked before `cutoff` (housekeeping); commit."""
    ended = or_(AuthSession.expires_at < cutoff, AuthSession.revoked_at < cutoff)
    result: Any = db.session.execute(
        delete(AuthSession).where(ended), execution_options={"synchronize_session": False}
    )
    db.session.commit()
    return int(result.rowcount or 0)


def _in_request() -> bool:
    from flask import has_request_context

    return has_request_context()


def _live(account_id: int) -> list[Any]:
    """The conditions of an account's signed-in sessions that have not ended."""
    now = utcnow()
    idle = signin_policy.effective().session_idle
    return [
        AuthSession.account_id == account_id,
        AuthSession.revoked_at.is_(None),
        AuthSession.state == "active",
        AuthSession.expires_at > now,
        AuthSession.last_seen_at > now - idle,
    ]


def live_sessions(account_id: int) -> list[AuthSession]:
    """The account's signed-in sessions that have not ended, newest first."""
    query = select(AuthSession).where(*_live(account_id))
    return list(db.session.scalars(query.order_by(AuthSession.last_seen_at.desc())))


def live_session_count(account_id: int) -> int:
    """How many signed-in sessions of the account have not ended (one COUNT, no rows loaded)."""
    query = select(func.count()).select_from(AuthSession).where(*_live(account_id))
    return int(db.session.scalar(query) or 0)


def get_session(session_id: int) -> AuthSession | None:
    """A session row by id."""
    return db.session.get(AuthSession, session_id)


def login_required(view: F) -> F:
    """Send people without a completed session to /login (and back here afterwards)."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if current() is None:
            pending = current_any()
            if pending is not None:
                return redirect(url_for(STEP_ENDPOINTS[pending.state]))
            target = request.full_path.rstrip("?") if request.method == "GET" else None
            return redirect(url_for("auth.login", next=target))
        g.account = current_account()
        return view(*args, **kwargs)

    return cast(F, wrapper)


def _write_cookie(response: Response) -> Response:
    """Set or clear the session-id cookie as the request decided."""
    value = g.get("idaas_set_cookie")
    secure = bool(current_app.config["SESSION_COOKIE_SECURE"])
    if value:
        max_age = int(_lifetime("active").total_seconds())
        response.set_cookie(
            cookie_name(),
            value,
            max_age=max_age,
            httponly=True,
            samesite="Lax",
            secure=secure,
            path="/",
        )
        response.headers.add("Cache-Control", "no-store")
    elif g.get("idaas_clear_cookie"):
        response.delete_cookie(
            cookie_name(), path="/", httponly=True, samesite="Lax", secure=secure
        )
    if g.get("idaas_session") is not None and "Cache-Control" not in response.headers:
        response.headers["Cache-Control"] = "no-store"
    return response


def expires_at(row: AuthSession) -> datetime:
    """When the session ends at the latest (absolute lifetime or idle timeout)."""
    idle = signin_policy.effective().session_idle
    return min(row.expires_at, row.last_seen_at + idle)


def _reset_request_state() -> None:
    """Forget the previous request's session (an app context may outlive one request)."""
    for key in ("idaas_session", "idaas_set_cookie", "idaas_clear_cookie", "account"):
        g.pop(key, None)
    refresh()  # Flask-Babel caches the locale on the app context, too


def init_app(app: Flask) -> None:
    """Reset per-request state before, and write the session cookie after, each request."""
    app.before_request(_reset_request_state)
    app.after_request(_write_cookie)
