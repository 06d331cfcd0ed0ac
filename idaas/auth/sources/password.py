"""The password source: identifier (username, email or mobile) + argon2id password."""

from __future__ import annotations

from typing import Any

from flask import request
from flask_babel import gettext
from werkzeug.wrappers import Response

from idaas import audit
from idaas.auth import flow, lockout
from idaas.auth.forms import LoginForm
from idaas.auth.sources.base import AuthSource
from idaas.auth.sources.registry import register_type
from idaas.directory import service as directory
from idaas.extensions import db
from idaas.security.passwords import verify_dummy, verify_password


class SignInFailed(Exception):
    """A sign-in attempt failed; `message` is safe to show (it never says which check failed)."""

    def __init__(self, message: str, status: int = 200) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def generic_failure() -> SignInFailed:
    """The one message for an unknown account, a wrong password, a locked or disabled account."""
    return SignInFailed(gettext("The account or password is incorrect."))


def locked_failure(until: Any) -> SignInFailed:
    """The message for a locked account that proved its password: how long, how to unlock."""
    return SignInFailed(
        gettext(
            "This account is locked after too many failed attempts. Try again in "
            "%(minutes)d minute(s), or ask your administrator to unlock it.",
            minutes=lockout.minutes_left(until),
        )
    )


def _fail(reason: str, account_id: int | None, source: str) -> None:
    audit.record(
        f"user:{account_id}" if account_id else "anonymous",
        "auth.login",
        f"account:{account_id}" if account_id else None,
        outcome="failure",
        details={"reason": reason, "source": source},
    )
    db.session.commit()


def authenticate(identifier: str, password: str, source: str = "password") -> Any:
    """Check an identifier and password; return the account or raise SignInFailed (audited)."""
    account = directory.find_by_identifier(identifier)
    # Keyed by what was typed, never by whether it matched: a shared counter for a known
    # account's several identifiers would tell an attacker that the account exists. The
    # account itself is protected by the lockout.
    throttle_key = " ".join(identifier.split()).casefold()
    exceeded = lockout.throttle(request.remote_addr or "", throttle_key)
    if exceeded:
        verify_dummy(password)
        _fail(f"throttled_{exceeded}", account.id if account else None, source)
        raise SignInFailed(
            gettext("Too many sign-in attempts. Please wait a minute and try again."), 429
        )
    if account is None:
        verify_dummy(password)
        _fail("unknown_account", None, source)
        raise generic_failure()
    ok, new_hash = verify_password(account.password_hash, password)
    until = lockout.locked_until(account.id)
    if until is not None:
        _fail("locked", account.id, source)
        # Only the right password learns about the lock: a wrong one (or an unknown account)
        # gets the generic message, so the lock reveals nothing to someone guessing.
        raise locked_failure(until) if ok else generic_failure()
    if not ok:
        lockout.register_failure(account.id, f"user:{account.id}")
        _fail("bad_password", account.id, source)
        raise generic_failure()
    if account.status != "active":
        _fail(f"account_{account.status}", account.id, source)
        raise generic_failure()
    if new_hash:
        directory.rehash_password(account.id, new_hash)
    return account


@register_type
class PasswordSource(AuthSource):
    """Username, email or mobile plus password, as an inline form on /login."""

    type = "password"
    form_template = "auth/_password_form.html"

    def make_form(self) -> LoginForm:
        """The login form."""
        return LoginForm()

    def handle_post(self, form: Any) -> Response | None:
        """Verify the credentials and continue the sign-in; raise SignInFailed on failure."""
        if not form.validate_on_submit():
            return None
        account = authenticate(form.identifier.data, form.password.data, self.name)
        return flow.complete_first_factor(account, method="pwd", source=self.name)
