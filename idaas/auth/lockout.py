"""Account lockout after repeated failed passwords, and request throttling per IP and account.

Lockout state lives in the database (shared by every process). Throttling counters go through
Flask-Limiter's storage, which is Redis when `IDAAS_REDIS_URL` is set, so several app processes
count together.
"""

from __future__ import annotations

import hashlib
import math
from datetime import datetime, timedelta

from flask import current_app
from limits import parse

from idaas import audit
from idaas.auth.models import AccountLockout
from idaas.extensions import db, limiter, utcnow
from idaas.security import signin_policy


def _threshold() -> int:
    return signin_policy.effective().lockout_threshold


def _duration() -> timedelta:
    return signin_policy.effective().lockout_duration


def locked_until(account_id: int) -> datetime | None:
    """When the account's lock ends, or None when it is not locked right now."""
    row = db.session.get(AccountLockout, account_id)
    if row and row.locked_until and row.locked_until > utcnow():
        return row.locked_until
    return None


def is_locked(account_id: int) -> bool:
    """Whether the account is locked out right now."""
    return locked_until(account_id) is not None


def minutes_left(until: datetime) -> int:
    """Whole minutes (at least 1) until `until`, for the "locked" message."""
    return max(1, math.ceil((until - utcnow()).total_seconds() / 60))


def _row_for_failure(account_id: int) -> AccountLockout:
    """The lockout row, with counters reset when an earlier lock has ended."""
    now = utcnow()
    row = db.session.get(AccountLockout, account_id)
    if row is None:
        row = AccountLockout(account_id=account_id, failures=0, mfa_failures=0)
        db.session.add(row)
    if row.locked_until and row.locked_until <= now:
        row.failures, row.mfa_failures, row.locked_until = 0, 0, None
    return row


def _lock(row: AccountLockout, actor: str, kind: str, failures: int) -> None:
    """Lock the account now, end every sign-in still in progress, audit (the caller commits)."""
    from idaas.auth import sessions

    row.locked_until = utcnow() + _duration()
    audit.record(
        actor,
        "auth.lockout",
        f"account:{row.account_id}",
        outcome="denied",
        details={
            "failures": failures,
            "factor": kind,
            "minutes": int(_duration().total_seconds() // 60),
        },
    )
    # A pending sign-in that already passed the password must not finish on a locked account.
    sessions.revoke_pending(row.account_id, "locked", actor)


def register_failure(account_id: int, actor: str) -> bool:
    """Count a failed password; lock the account at the threshold. Return True if it locked now.

    The caller commits (together with its own audit row).
    """
    now = utcnow()
    row = _row_for_failure(account_id)
    if row.last_failure_at and now - row.last_failure_at > _duration():
        row.failures = 0
    row.failures = (row.failures or 0) + 1
    row.last_failure_at = now
    threshold = _threshold()
    if threshold and row.failures >= threshold and not row.locked_until:
        _lock(row, actor, "password", row.failures)
        return True
    return False


def register_mfa_failure(account_id: int, actor: str) -> bool:
    """Count a wrong TOTP or recovery code; lock at the threshold. True if it locked now.

    This counter survives a correct password (which resets only `failures`), so signing in
    again with the password does not buy an attacker more guesses. The caller commits.
    """
    now = utcnow()
    row = _row_for_failure(account_id)
    if row.mfa_last_failure_at and now - row.mfa_last_failure_at > _duration():
        row.mfa_failures = 0
    row.mfa_failures = (row.mfa_failures or 0) + 1
    row.mfa_last_failure_at = now
    threshold = _threshold()
    if threshold and row.mfa_failures >= threshold and not row.locked_until:
        _lock(row, actor, "mfa", row.mfa_failures)
        return True
    return False


def clear_failures(account_id: int) -> None:
    """Forget failed passwords after a correct one (the caller commits); MFA failures stay."""
    row = db.session.get(AccountLockout, account_id)
    if row is not None:
        row.failures, row.last_failure_at = 0, None


def clear_mfa_failures(account_id: int) -> None:
    """Forget wrong codes after a correct second factor (the caller commits)."""
    row = db.session.get(AccountLockout, account_id)
    if row is not None:
        row.mfa_failures, row.mfa_last_failure_at = 0, None


def unlock(origin: str, account_id: int) -> bool:
    """Lift a lockout (admin action); audited and committed. Return whether it was locked."""
    row = db.session.get(AccountLockout, account_id)
    was_locked = bool(row and row.locked_until and row.locked_until > utcnow())
    if row is not None:
        row.failures, row.last_failure_at, row.locked_until = 0, None, None
        row.mfa_failures, row.mfa_last_failure_at = 0, None
    audit.record(origin, "auth.unlock", f"account:{account_id}", details={"was_locked": was_locked})
    db.session.commit()
    return was_locked


def _key(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:32]


def _hit(checks: tuple[tuple[str, str, str], ...], scope: str) -> str | None:
    """Count one attempt against each (name, limit, key); return the first exceeded name."""
    if not limiter.enabled:
        return None
    prefix = str(current_app.config["RATELIMIT_KEY_PREFIX"])
    exceeded = None
    for name, spec, value in checks:
        if spec and not limiter.limiter.hit(parse(spec), prefix, scope, name, value):
            exceeded = exceeded or name
    return exceeded


def hit_limit(scope: str, spec: str, key: str) -> bool:
    """Count one event against a limit like `20/minute` for `key`; True when it is exceeded."""
    return _hit((("key", spec, key),), scope) is not None


def throttle_mfa(ip: str, account_id: int) -> str | None:
    """Count one second-factor attempt per client IP and per account; the exceeded limit."""
    config = current_app.config
    return _hit(
        (
            ("ip", str(config["LOGIN_RATE_LIMIT_IP"]), ip or "-"),
            ("account", str(config["MFA_RATE_LIMIT_ACCOUNT"]), str(account_id)),
        ),
        "idaas-mfa",
    )


def throttle(ip: str, account_key: str) -> str | None:
    """Count one sign-in attempt; return which limit is exceeded (`ip` or `account`) or None.

    `account_key` is the identifier as typed (normalised), so unknown and known identifiers
    are throttled alike and the counters reveal nothing about which accounts exist. The
    per-identifier counter is kept per client IP too: one client hammering an identifier must
    not block that person everywhere (the lockout protects the account itself). `ip` is the
    client address after ProxyFix (TRUSTED_PROXY_HOPS), never the proxy's.
    """
    config = current_app.config
    return _hit(
        (
            ("ip", str(config["LOGIN_RATE_LIMIT_IP"]), ip or "-"),
            ("account", str(config["LOGIN_RATE_LIMIT_ACCOUNT"]), _key(f"{account_key}|{ip}")),
        ),
        "idaas-login",
    )
