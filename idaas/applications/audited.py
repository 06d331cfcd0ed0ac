"""Writes to applications and API clients that are audited in the same commit."""

from __future__ import annotations

from typing import Any

from idaas import audit
from idaas.extensions import db


def delete_with_audit(
    origin: str, row: Any, action: str, target: str, details: dict[str, Any]
) -> None:
    """Delete `row` and record `action` on `target` in one commit."""
    db.session.delete(row)
    audit.record(origin, action, target, details=details)
    db.session.commit()
