"""The scheduled job kinds: signing-key rotation, pruning of expired rows, audit retention.

Pruning deletes rows that can no longer be used by anyone, after a grace period
(`EVENTS_PRUNE_GRACE_SECONDS`) so that investigations and reuse detection still see them for a
while: authorization codes, token rows whose refresh (or access) token expired, ended or
expired sign-in sessions and the RP sessions hanging off them, DingTalk sign-in states and
redeemed codes, password-reset codes and tickets, digital-factory nonces, replay entries,
delivered deliveries, finished jobs, old change events, and SCIM push log entries older than
`PROVISIONING_LOG_RETENTION_DAYS`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from functools import partial
from typing import Any

from flask import current_app
from sqlalchemy import delete

from idaas.events import jobs
from idaas.events.clock import clock
from idaas.events.models import ChangeEvent, Delivery, Job, ReplayEntry
from idaas.extensions import db

ROTATE_KEYS = "oidc.rotate_keys"
PRUNE = "housekeeping.prune"
AUDIT_RETENTION = "audit.retention"


def _delete(statement: Any) -> int:
    result: Any = db.session.execute(statement, execution_options={"synchronize_session": False})
    db.session.commit()
    return int(result.rowcount or 0)


def rotate_keys(ctx: jobs.JobContext) -> dict[str, Any]:
    """Start a rotation of every signing algorithm in use; expire keys no token can need."""
    from idaas.oidc import housekeeping as oidc

    ctx.progress(total=1, done=0, step="rotate")
    result = oidc.rotate_signing_keys()
    ctx.progress(done=1)
    return result


def prune(ctx: jobs.JobContext) -> dict[str, Any]:
    """Delete expired codes, tokens, sessions, sign-in states, replay entries, old engine rows.

    Each owner prunes its own rows; the events engine's rows are pruned here."""
    from idaas.auth import reset, sessions
    from idaas.dingtalk import signin
    from idaas.industry import nonces
    from idaas.oidc import housekeeping as oidc
    from idaas.scim.push import log as provisioning_log

    config = current_app.config
    now = clock().now()
    cutoff = now - timedelta(seconds=float(config["EVENTS_PRUNE_GRACE_SECONDS"]))
    kept = now - timedelta(days=float(config["EVENTS_RETENTION_DAYS"]))
    steps: list[tuple[str, Callable[[], int]]] = [
        ("authorization_codes", partial(oidc.prune_codes, cutoff)),
        ("tokens", partial(oidc.prune_tokens, cutoff)),
        ("sessions", partial(sessions.prune, cutoff)),
        ("rp_sessions", oidc.prune_rp_sessions),  # after the sessions they hang off
        (
            "replay_entries",
            partial(_delete, delete(ReplayEntry).where(ReplayEntry.expires_at < now)),
        ),
        (
            "deliveries",
            partial(
                _delete,
                delete(Delivery).where(
                    Delivery.status == "delivered", Delivery.delivered_at < kept
                ),
            ),
        ),
        (
            "jobs",
            partial(_delete, delete(Job).where(Job.status.in_(jobs.FINAL), Job.finished_at < kept)),
        ),
        (
            "change_events",
            partial(_delete, delete(ChangeEvent).where(ChangeEvent.occurred_at < kept)),
        ),
        ("dingtalk_signin_states", signin.purge_expired),
        ("password_reset_codes", reset.purge_expired),
        ("industry_nonces", partial(nonces.purge, int(now.timestamp() * 1000))),
        (
            "provisioning_log",
            partial(
                provisioning_log.prune,
                now - timedelta(days=float(config["PROVISIONING_LOG_RETENTION_DAYS"])),
            ),
        ),
    ]
    ctx.progress(total=len(steps), done=0)
    result: dict[str, Any] = {}
    for index, (name, step) in enumerate(steps, start=1):
        ctx.progress(step=name)
        result[name] = step()
        ctx.progress(done=index)
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
