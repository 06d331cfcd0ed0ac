"""The sign-in state machine every auth source ends in (DESIGN.md section 2, "Sign-in paths").

A source proves a first factor and calls `complete_first_factor()`; the session then goes
through MFA (or forced MFA enrolment) and a forced password change as needed, and finally
resumes where the person was going: a same-origin path, or a pending request registered by
another module (e.g. `oidc:<request id>` resumed by the OIDC provider's handler).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from flask import Flask, current_app, redirect, session, url_for
from werkzeug.wrappers import Response

from idaas import audit
from idaas.auth import lockout, mfa, sessions
from idaas.auth.models import AuthSession
from idaas.directory.models import Account
from idaas.extensions import db, utcnow
from idaas.security import signin_policy
from idaas.web import is_safe_path

NEXT_KEY = "idaas_next"
REAUTH_KEY = "idaas_reauth"
_PENDING = re.compile(r"^([a-z][a-z0-9_-]{0,31}):([A-Za-z0-9._~-]{1,128})$")
_RESUME = "idaas_resume_handlers"
_LOGOUT_FRAMES = "idaas_logout_frame_providers"
SECOND_FACTORS = frozenset({"otp", "recovery", "device"})
STEP_ENDPOINTS = sessions.STEP_ENDPOINTS

ResumeHandler = Callable[[str], str | None]


def register_resume_handler(app: Flask, kind: str, handler: ResumeHandler) -> None:
    """Let a module resume its pending requests after sign-in: `kind:<id>` -> a same-origin URL."""
    app.extensions.setdefault(_RESUME, {})[kind] = handler


def register_logout_frames(app: Flask, provider: Callable[[int], list[str]]) -> None:
    """Let a module add pages to load in hidden iframes when a session signs out.

    OIDC uses it for front-channel logout (OpenID Front-Channel Logout 1.0 §3): `provider`
    gets the ending session's id and returns its relying parties' logout URLs.
    """
    app.extensions.setdefault(_LOGOUT_FRAMES, []).append(provider)


def logout_frames(session_id: int) -> list[str]:
    """Every registered module's iframe URLs for the session about to end."""
    providers = current_app.extensions.get(_LOGOUT_FRAMES, [])
    return [url for provider in providers for url in provider(session_id)]


def clean_next(target: str | None) -> str | None:
    """`target` if it is a same-origin path or a pending request a module can resume, else None."""
    if not target:
        return None
    if is_safe_path(target):
        return target
    match = _PENDING.match(target)
    if match and match.group(1) in current_app.extensions.get(_RESUME, {}):
        return target
    return None


def remember_next(target: str | None) -> None:
    """Keep a safe `next` target for the end of the sign-in (in the signed Flask cookie)."""
    cleaned = clean_next(target)
    if cleaned:
        session[NEXT_KEY] = cleaned
    else:
        session.pop(NEXT_KEY, None)


def request_reauthentication() -> None:
    """Ask for a fresh sign-in (prompt=login, max_age, another login_hint) without ending the
    current session: it is replaced only when the new sign-in succeeds (finding 9)."""
    session[REAUTH_KEY] = int(time.time())


def reauthentication_requested() -> bool:
    """Whether this browser was asked to sign in again (for the pending sign-in's lifetime)."""
    asked = session.get(REAUTH_KEY)
    minutes = float(current_app.config["SESSION_PENDING_MINUTES"])
    return isinstance(asked, int) and time.time() - asked < minutes * 60


def resume_url() -> str:
    """Where to go after a completed sign-in (and forget it)."""
    target = session.pop(NEXT_KEY, None)
    cleaned = clean_next(target)
    if cleaned:
        match = _PENDING.match(cleaned)
        if match and not is_safe_path(cleaned):
            handler = current_app.extensions.get(_RESUME, {}).get(match.group(1))
            url = handler(match.group(2)) if handler else None
            if url and is_safe_path(url):
                return url
        elif is_safe_path(cleaned):
            return cleaned
    return url_for("portal.home")


def password_expired(account: Account) -> bool:
    """Whether the password is past the policy's maximum age."""
    return signin_policy.effective().password.is_expired(account.password_changed_at, utcnow())


def next_state(account: Account, row: AuthSession) -> str:
    """The next step of a sign-in: `mfa`, `mfa_enrol`, `password` or `active`."""
    used = set(row.methods)
    if mfa.is_enrolled(account.id):
        if not used & SECOND_FACTORS:
            return "mfa"
    elif mfa.is_required(account.id):
        return "mfa_enrol"
    if account.password_hash and (account.must_change_password or password_expired(account)):
        return "password"
    return "active"


def redirect_for(row: AuthSession) -> Response:
    """The response for a session: its pending step's page, or the resumed destination."""
    if row.state == "active":
        return redirect(resume_url())
    return redirect(url_for(STEP_ENDPOINTS[row.state]))


def complete_first_factor(
    account: Account, *, method: str, source: str, channel: str | None = None
) -> Response:
    """After a source verified its factor: start a fresh session and go to the next step.

    `channel` says how the factor was proven (`dingtalk_qr`, `dingtalk_workbench`), for the
    portal's session list; it defaults to `password` for the `pwd` method.
    """
    actor = f"user:{account.id}"
    previous = sessions.current_any()
    if previous is not None:
        sessions.revoke(previous, "replaced", actor)
    session.pop(REAUTH_KEY, None)
    methods = [method]
    if mfa.is_enrolled(account.id) and mfa.device_remembered(account.id):
        methods.append("device")
    row = sessions.start(account, methods=methods, source=source, state="pending")
    row.channel = channel or ("password" if method == "pwd" else method)
    db.session.flush()
    lockout.clear_failures(account.id)
    state = next_state(account, row)
    sessions.set_state(row, state)
    audit.record(
        actor,
        "auth.login",
        f"account:{account.id}",
        details={"source": source, "method": method, "next_step": state, "session": row.id},
    )
    db.session.commit()
    return redirect_for(row)


@dataclass
class SecondFactor:
    """A second-factor attempt's outcome: `ok` (with `method`), `bad`, `locked`, `throttled`."""

    outcome: str
    method: str | None = None
    locked_until: datetime | None = None


def check_second_factor(row: AuthSession, code: str, ip: str) -> SecondFactor:
    """Verify a TOTP or recovery code for a pending sign-in, under the lockout and throttle.

    The lock is checked before the code (a locked account's correct code is refused), wrong
    codes count towards the MFA lock whatever the password did, and reaching the lock ends
    every pending sign-in of the account (issue 11 finding 1). Commits.
    """
    actor = f"user:{row.account_id}"
    until = lockout.locked_until(row.account_id)
    if until is not None:
        sessions.revoke(row, "locked", actor)
        db.session.commit()
        return SecondFactor("locked", locked_until=until)
    if lockout.throttle_mfa(ip, row.account_id):
        return SecondFactor("throttled")
    method = mfa.verify(row.account_id, code, actor)
    if method is not None:
        lockout.clear_mfa_failures(row.account_id)
        db.session.commit()
        return SecondFactor("ok", method=method)
    if lockout.register_mfa_failure(row.account_id, actor):
        db.session.commit()
        return SecondFactor("locked", locked_until=lockout.locked_until(row.account_id))
    db.session.commit()
    return SecondFactor("bad")


def complete_step(row: AuthSession, method: str | None = None) -> Response:
    """After an MFA or password step: record it, rotate the id, and go to the next step."""
    account = db.session.get(Account, row.account_id)
    assert account is not None
    if method and method not in row.methods:
        row.methods = [*row.methods, method]
    sessions.rotate(row)
    state = next_state(account, row)
    sessions.set_state(row, state)
    if state == "active":
        audit.record(
            f"user:{account.id}",
            "auth.signed_in",
            f"account:{account.id}",
            details={"session": row.id, "acr": row.acr, "amr": row.methods},
        )
    db.session.commit()
    return redirect_for(row)
