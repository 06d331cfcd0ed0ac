"""Writing and purging audit rows. `record` joins the caller's transaction; it never commits."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from flask import current_app, has_request_context, request
from sqlalchemy import delete

from idaas.audit.models import AuditEvent
from idaas.extensions import db, utcnow

OUTCOMES = frozenset({"success", "failure", "denied"})
_SENSITIVE_KEY = re.compile(r"pass|secret|token|hash|code_verifier|authcode|credential", re.I)
REDACTED = "[redacted]"


def redact(details: Any) -> Any:
    """Replace values under sensitive-looking keys, recursively (defence in depth)."""
    if isinstance(details, dict):
        return {
            key: REDACTED if _SENSITIVE_KEY.search(str(key)) else redact(value)
            for key, value in details.items()
        }
    if isinstance(details, list):
        return [redact(value) for value in details]
    return details


def _split_target(target: str | None) -> tuple[str | None, str | None]:
    if not target:
        return None, None
    kind, _, ident = target.partition(":")
    return kind[:32], (ident or None) and ident[:64]


def record(
    actor: str,
    action: str,
    target: str | None = None,
    outcome: str = "success",
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append an audit row to the current transaction; `target` is `type:id`, e.g. `account:7`."""
    if outcome not in OUTCOMES:
        raise ValueError(f"audit outcome must be one of {sorted(OUTCOMES)}")
    target_type, target_id = _split_target(target)
    row = AuditEvent(
        actor=actor[:128],
        action=action[:64],
        target_type=target_type,
        target_id=target_id,
        outcome=outcome,
        details=redact(details or {}),
    )
    if has_request_context():
        row.ip = (request.remote_addr or "")[:64] or None
        row.user_agent = (request.user_agent.string or "")[:256] or None
    db.session.add(row)
    return row


def purge_expired(retention_days: int | None = None) -> int:
    """Delete audit rows older than the retention period; return how many went."""
    days = (
        retention_days if retention_days is not None else current_app.config["AUDIT_RETENTION_DAYS"]
    )
    cutoff = utcnow() - timedelta(days=int(days))
    result = db.session.execute(
        delete(AuditEvent).where(AuditEvent.occurred_at < cutoff),
        execution_options={"synchronize_session": False},
    )
    record("system", "audit.purged", outcome="success", details={"older_than_days": int(days)})
    db.session.commit()
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
