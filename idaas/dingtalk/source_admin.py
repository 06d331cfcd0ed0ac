"""Saving DingTalk sign-in sources: the configuration row and its audit row in one transaction."""

from __future__ import annotations

from typing import Any

from idaas import audit
from idaas.extensions import db


def save_source(origin: str, name: str, type_: str, display_name: str, **options: Any) -> None:
    """Create or update a sign-in source and audit it; commits both or neither."""
    from idaas.auth import sources

    details: dict[str, Any] = {"name": name, "type": type_}
    if "enabled" in options:
        details["enabled"] = options["enabled"]
    audit.record(origin, "auth.source.saved", None, details=details)
    try:
        sources.save(name, type_, display_name, **options)  # commits the audit row with it
    except BaseException:
        db.session.rollback()
        raise
