"""Claiming queue rows under a lease: one statement, safe with many workers.

`UPDATE <table> ... WHERE id IN (SELECT id ... FOR UPDATE SKIP LOCKED) RETURNING id` on
PostgreSQL (the same without the lock clause on SQLite, where writers are serialised anyway):
two workers never claim the same row, and none waits for another's locked rows.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, select, update

from idaas.extensions import db


def lease_token(worker: str) -> str:
    """A claim token unique to this claim, naming the worker (at most 36 characters)."""
    return f"{worker[:27]}/{uuid.uuid4().hex[:8]}"


def claim_ids(
    model: Any,
    claimable: ColumnElement[bool],
    limit: int,
    *,
    token: str,
    now: datetime,
    lease_seconds: float,
    **values: Any,
) -> list[int]:
    """Mark up to `limit` claimable rows (oldest id first) running under `token`; their ids.

    The caller commits; `values` are further columns to set on the claimed rows."""
    candidates = (
        select(model.id)
        .where(claimable)
        .order_by(model.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    claimed = db.session.execute(
        update(model)
        .where(model.id.in_(candidates.scalar_subquery()))
        .values(
            status="running",
            claimed_by=token,
            lease_until=now + timedelta(seconds=lease_seconds),
            attempts=model.attempts + 1,
            **values,
        )
        .returning(model.id)
        .execution_options(synchronize_session=False)
    ).scalars()
    return sorted(claimed)
