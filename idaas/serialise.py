"""JSON-ready data from model rows: named columns as they are, times as RFC 3339 with `Z`."""

from __future__ import annotations

from datetime import datetime
from typing import Any


def iso(moment: datetime | None) -> str | None:
    """A stored (naive UTC) time as RFC 3339 with `Z`, or None."""
    return moment.isoformat() + "Z" if moment is not None else None


def columns(row: Any, names: str, *, times: str = "", lists: str = "") -> dict[str, Any]:
    """`{name: row.<name>}` for the space-separated `names`, then `times` (as `iso`) and
    `lists` (copied; None as empty), in that order."""
    data = {name: getattr(row, name) for name in names.split()}
    data.update({name: iso(getattr(row, name)) for name in times.split()})
    data.update({name: list(getattr(row, name) or []) for name in lists.split()})
    return data
