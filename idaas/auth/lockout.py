"""Account lockout after repeated failed passwords, and request throttling per IP and account.

Lockout state lives in the database (shared by every process). Throttling counters go through
Flask-Limiter's storage, which is Redis when `IDAAS_REDIS_URL` is set, so several app processes
count together.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta

from flask import current_app
from limits import parse

from idaas import audit
from idaas.auth.models import AccountLockout
from idaas.extensions import db, limiter, utcnow


def _threshold() -> int:
    return int(current_app.config["LOCKOUT_THRESHOLD"])


def _duration() -> timedelta:
    return timedelta(minutes=float(current_app.config["LOCKOUT_MINUTES"]))


def is_locked(account_id: int) -> bool:
    """Whether the account is locked out right now."""
    row = db.session.get(AccountLockout, account_id)
    return bool(row and row.locked_until and row.locked_until > utcnow())


def register_failure(account_id: int, actor: str) -> bool:
    """Count a failed password; lock the account at the threshold. Return True if it locked now.

    The caller commits (together with its own audit row).
    """
    now = utcnow()
    row = db.session.get(AccountLockout, account_id)
    if row is None:
        row = AccountLockout(account_id=account_id, failures=0)
        db.session.add(row)
    if row.locked_until and row.locked_until <= now:
        row.failures, row.locked_until = 0, None
    if row.last_failure_at and now - row.last_failure_at > _duration():
        row.failures = 0
    row.failures = (row.failures or 0) + 1
    row.last_failure_at = now
    threshold = _threshold()
    if threshold and row.failures >= threshold and not row.locked_until:
        row.locked_until = now + _duration()
        audit.record(
            actor,
            "auth.lockout",
            f"account:{account_id}",
            outcome="denied",
            details={"failures": row.failures, "minutes": int(_duration().total_seconds() // 60)},
        )
        return True
    return False


def clear_failures(account_id: int) -> None:
    """Forget failed attempts after a successful sign-in (the caller commits)."""
    row = db.session.get(AccountLockout, account_id)
    if row is not None:
        row.failures, row.last_failure_at, row.locked_until = 0, None, None


def unlock(origin: str, account_id: int) -> bool:
    """Lift a lockout (admin action); audited and committed. Return whether it was locked."""
    row = db.session.get(AccountLockout, account_id)
    was_locked = bool(row and row.locked_until and row.locked_until > utcnow())
    if row is not None:
        row.failures, row.last_failure_at, row.locked_until = 0, None, None
    audit.record(origin, "auth.unlock", f"account:{account_id}", details={"was_locked": was_locked})
    db.session.commit()
    return was_locked


def _key(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:32]


def throttle(ip: str, account_key: str) -> str | None:
    """Count one sign-in attempt; return which limit is exceeded (`ip` or `account`) or None.

    `account_key` is the identifier as typed (normalised), so unknown and known identifiers
    are throttled alike and the counters reveal nothing about which accounts exist.
    """
    if not limiter.enabled:
        return None
    config = current_app.config
    prefix = str(config.get("RATELIMIT_KEY_PREFIX") or "")
    strategy = limiter.limiter
    checks = (
        ("ip", config["LOGIN_RATE_LIMIT_IP"], ip or "-"),
        ("account", config["LOGIN_RATE_LIMIT_ACCOUNT"], _key(account_key)),
    )
    exceeded = None
    for name, spec, value in checks:
        if not spec:
            continue
        if not strategy.hit(parse(spec), prefix, "idaas-login", name, value):
            exceeded = exceeded or name
    return exceeded
