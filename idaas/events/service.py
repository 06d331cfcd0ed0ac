"""Appending to the outbox. Joins the caller's transaction; never commits."""

from __future__ import annotations

import re
from typing import Any

from idaas.events.models import ChangeEvent
from idaas.extensions import db

ORIGIN_PATTERN = re.compile(r"^(system|(admin|api|scim|dingtalk|cli|user|industry):[^\s]{1,120})$")


class InvalidOrigin(ValueError):
    """An origin string that is not `system` or `<kind>:<id>`."""


def check_origin(origin: str) -> str:
    """Validate an origin tag such as `admin:3`, `api:abc`, `dingtalk:main` or `system`."""
    if not ORIGIN_PATTERN.match(origin):
        raise InvalidOrigin(f"invalid origin {origin!r}")
    return origin


def append_change(
    object_type: str,
    object_id: object,
    action: str,
    origin: str,
    version: int,
    changes: dict[str, Any] | None = None,
) -> ChangeEvent:
    """Add one change event to the current transaction."""
    event = ChangeEvent(
        object_type=object_type,
        object_id=str(object_id),
        action=action,
        origin=check_origin(origin),
        version=version,
        changes=changes or {},
    )
    db.session.add(event)
    db.session.flush([event])
    return event
