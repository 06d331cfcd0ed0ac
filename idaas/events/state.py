"""The delivery engine's cluster-wide state, read from the database (dashboard and /metrics)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from idaas.events.models import Delivery
from idaas.extensions import db


@dataclass(frozen=True)
class EngineState:
    """Cluster-wide delivery state: counts by (target type, status), pending, dead, lag."""

    by_status: dict[tuple[str, str], int]
    pending: int
    dead: int
    lag_seconds: float


def engine_state() -> EngineState:
    """Read the delivery counts and the age of the oldest pending delivery (two queries)."""
    from idaas.events.clock import clock

    rows = db.session.execute(
        select(Delivery.target_type, Delivery.status, func.count()).group_by(
            Delivery.target_type, Delivery.status
        )
    )
    by_status = {(str(kind), str(status)): int(count) for kind, status, count in rows}
    pending = sum(n for (_, status), n in by_status.items() if status in ("pending", "running"))
    dead = sum(n for (_, status), n in by_status.items() if status == "dead")
    oldest = db.session.scalar(
        select(func.min(Delivery.created_at)).where(Delivery.status.in_(("pending", "running")))
    )
    lag = max(0.0, (clock().now() - oldest).total_seconds()) if oldest is not None else 0.0
    return EngineState(by_status, pending, dead, lag)
