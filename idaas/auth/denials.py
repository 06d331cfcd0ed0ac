"""Refused sign-in, binding and reset steps: audited in a transaction of their own."""

from __future__ import annotations

from typing import Any

from idaas import audit
from idaas.extensions import db


def record_denial(
    actor: str, action: str, details: dict[str, Any], target: str | None = None
) -> None:
    """Audit (and commit) a refused step, so the record stays whatever the caller does next."""
    audit.record(actor, action, target, outcome="denied", details=details)
    db.session.commit()
