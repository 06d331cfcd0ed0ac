"""The scheduled job kinds: signing-key rotation, pruning of expired rows, audit retention.

Pruning deletes rows that can no longer be used by anyone, after a grace period
(`EVENTS_PRUNE_GRACE_SECONDS`) so that investigations and reuse detection still see them for a
while: authorization codes, token rows whose refresh (or access) token expired, ended or
expired sign-in sessions and the RP sessions hanging off them, DingTalk sign-in states and
redeemed codes, replay entries, delivered deliveries, finished jobs and old change events.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import current_app
from sqlalchemy import and_, delete, or_, select

from idaas.events import jobs
from idaas.events.clock import clock
from idaas.events.models import ChangeEvent, Delivery, Job, ReplayEntry
from idaas.extensions import db

ROTATE_KEYS = "oidc.rotate_keys"
PRUNE = "housekeeping.prune"
AUDIT_RETENTION = "audit.retention"


def _count(result: Any) -> int:
    return int(result.rowcount or 0)


def _delete(statement: Any) -> int:
    result = db.session.execute(statement, execution_options={"synchronize_session": False})
    db.session.commit()
    return _count(result)


def rotate_keys(ctx: jobs.JobContext) -> dict[str, Any]:
    """Start a rotation of every signing algorithm in use; expire keys no token can need."""
    from idaas.oidc import keys
    from idaas.oidc.models import SigningKey

    in_use = sorted(
        set(db.session.scalars(select(SigningKey.alg).where(SigningKey.status == "active")))
    )
    pending = set(db.session.scalars(select(SigningKey.alg).where(SigningKey.status == "next")))
    ctx.progress(total=len(in_use), done=0, step="rotate")
    rotated = []
    for index, alg in enumerate(in_use, start=1):
        if alg not in pending:
            keys.rotate("system", alg)
            rotated.append(alg)
        ctx.progress(done=index)
    ctx.progress(step="expire")
    return {"rotated": rotated, "expired": keys.expire_retired()}


def prune(ctx: jobs.JobContext) -> dict[str, Any]:
    """Delete expired codes, tokens, sessions, sign-in states, replay entries, old engine rows."""
    from idaas.auth.models import AuthSession
    from idaas.dingtalk import signin
    from idaas.oidc.models import AuthorizationCode, OidcToken, RpSession

    config = current_app.config
    now = clock().now()
    cutoff = now - timedelta(seconds=float(config["EVENTS_PRUNE_GRACE_SECONDS"]))
    kept = now - timedelta(days=float(config["EVENTS_RETENTION_DAYS"]))
    steps: list[tuple[str, Any]] = [
        (
            "authorization_codes",
            delete(AuthorizationCode).where(AuthorizationCode.expires_at < cutoff),
        ),
        (
            "tokens",
            delete(OidcToken).where(
                or_(
                    and_(
                        OidcToken.refresh_expires_at.is_(None),
                        OidcToken.access_expires_at < cutoff,
                    ),
                    OidcToken.refresh_expires_at < cutoff,
                )
            ),
        ),
        (
            "sessions",
            delete(AuthSession).where(
                or_(AuthSession.expires_at < cutoff, AuthSession.revoked_at < cutoff)
            ),
        ),
        (
            "rp_sessions",
            delete(RpSession).where(~RpSession.auth_session_id.in_(select(AuthSession.id))),
        ),
        ("replay_entries", delete(ReplayEntry).where(ReplayEntry.expires_at < now)),
        (
            "deliveries",
            delete(Delivery).where(Delivery.status == "delivered", Delivery.delivered_at < kept),
        ),
        (
            "jobs",
            delete(Job).where(Job.status.in_(jobs.FINAL), Job.finished_at < kept),
        ),
        ("change_events", delete(ChangeEvent).where(ChangeEvent.occurred_at < kept)),
    ]
    ctx.progress(total=len(steps) + 1, done=0)
    result: dict[str, Any] = {}
    for index, (name, statement) in enumerate(steps):
        ctx.progress(step=name)
        result[name] = _delete(statement)
        ctx.progress(done=index + 1)
    ctx.progress(step="dingtalk_signin_states")
    result["dingtalk_signin_states"] = signin.purge_expired()
    ctx.progress(done=len(steps) + 1)
    return result


def audit_retention(ctx: jobs.JobContext) -> dict[str, Any]:
    """Delete audit rows older than AUDIT_RETENTION_DAYS (the existing purge)."""
    from idaas.audit import service

    ctx.progress(total=1, done=0, step="purge")
    purged = service.purge_expired()
    ctx.progress(done=1)
    return {"purged": purged, "older_than_days": int(current_app.config["AUDIT_RETENTION_DAYS"])}


def init_app() -> None:
    """Register the housekeeping job kinds."""
    jobs.register_kind(ROTATE_KEYS, rotate_keys)
    jobs.register_kind(PRUNE, prune)
    jobs.register_kind(AUDIT_RETENTION, audit_retention)
