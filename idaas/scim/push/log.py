"""The per-target delivery log: each request's summary, status and the target's error text."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, select

from idaas.extensions import db
from idaas.scim.push.client import Session
from idaas.scim.push.models import ProvisioningLog, ProvisioningTarget


def record(session: Session, object_type: str, object_id: str) -> None:
    """Add the session's requests to the target's log (in the current transaction)."""
    for entry in session.log:
        db.session.add(
            ProvisioningLog(
                target_id=session.target.id,
                delivery_uid=session.delivery_uid,
                object_type=object_type,
                object_id=object_id,
                operation=entry.operation,
                request=entry.request,
                status=entry.status,
                error=entry.error[:500] if entry.error else None,
            )
        )
    session.log.clear()


def prune(before: datetime) -> int:
    """Delete log entries written before `before` (the retention); commit; how many."""
    result: Any = db.session.execute(
        delete(ProvisioningLog).where(ProvisioningLog.at < before),
        execution_options={"synchronize_session": False},
    )
    db.session.commit()
    return int(result.rowcount or 0)


def entries(
    target: ProvisioningTarget,
    *,
    failed_only: bool = False,
    before_id: int | None = None,
    limit: int = 100,
) -> list[ProvisioningLog]:
    """The target's log, newest first."""
    query = (
        select(ProvisioningLog)
        .where(ProvisioningLog.target_id == target.id)
        .order_by(ProvisioningLog.id.desc())
        .limit(max(1, min(limit, 500)))
    )
    if failed_only:
        query = query.where(ProvisioningLog.error.is_not(None))
    if before_id:
        query = query.where(ProvisioningLog.id < before_id)
    return list(db.session.scalars(query))


def to_dict(row: ProvisioningLog) -> dict[str, Any]:
    """The JSON form of a log entry (it holds no secret: paths, statuses, error text)."""
    return {
        "id": row.id,
        "at": row.at.isoformat() + "Z",
        "delivery": row.delivery_uid,
        "object": f"{row.object_type}:{row.object_id}",
        "operation": row.operation,
        "request": row.request,
        "status": row.status,
        "error": row.error,
    }
