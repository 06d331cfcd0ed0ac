"""Reading the audit log: filters, keyset (cursor) pages, and CSV/JSON export.

Filters: actor (exact, or a prefix ending in `*`, e.g. `admin:*`), action (exact or prefix
`auth.*`), target (`type` or `type:id`), outcome, and a half-open time range
[`since`, `until`). Rows come newest first, paged by id (the primary key), so page N costs the
same as page 1. Exports stream in id order in batches, never holding the whole log in memory.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Select, select

from idaas.audit.models import AuditEvent
from idaas.audit.service import OUTCOMES
from idaas.extensions import db
from idaas.serialise import columns

CSV_COLUMNS = (
    "id",
    "occurred_at",
    "actor",
    "action",
    "target_type",
    "target_id",
    "outcome",
    "ip",
    "user_agent",
    "details",
)
EXPORT_BATCH = 1000


class InvalidFilter(ValueError):
    """A filter value cannot be understood; `field` names it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True)
class AuditFilter:
    """What to select from the audit log (every field optional)."""

    actor: str | None = None
    action: str | None = None
    target: str | None = None
    outcome: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    @classmethod
    def parse(cls, values: dict[str, Any]) -> AuditFilter:
        """Build a filter from strings (query string, CLI options); InvalidFilter on bad input."""

        def text(name: str, limit: int) -> str | None:
            value = (values.get(name) or "").strip()
            if len(value) > limit:
                raise InvalidFilter(name, f"At most {limit} characters.")
            return value or None

        outcome = text("outcome", 16)
        if outcome and outcome not in OUTCOMES:
            raise InvalidFilter("outcome", f"One of: {', '.join(sorted(OUTCOMES))}.")
        return cls(
            actor=text("actor", 128),
            action=text("action", 64),
            target=text("target", 97),
            outcome=outcome,
            since=parse_time(values.get("since"), "since"),
            until=parse_time(values.get("until"), "until"),
        )

    def is_empty(self) -> bool:
        """Whether no filter is set."""
        return not any(vars(self).values())


def parse_time(value: Any, field: str) -> datetime | None:
    """An ISO 8601 date or date-time (naive = UTC) as a naive UTC datetime, or None."""
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        parsed = value
    else:
        try:
            parsed = datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
        except ValueError:
            raise InvalidFilter(
                field, "Use an ISO 8601 date or time, e.g. 2026-12-01 or 2026-12-01T08:00."
            ) from None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    return parsed


def _prefix_or_exact(column: Any, value: str) -> Any:
    if value.endswith("*"):
        return column.startswith(value[:-1], autoescape=True)
    return column == value


def build(flt: AuditFilter) -> Select[tuple[AuditEvent]]:
    """The SELECT of the rows matching `flt` (unordered)."""
    query = select(AuditEvent)
    if flt.actor:
        query = query.where(_prefix_or_exact(AuditEvent.actor, flt.actor))
    if flt.action:
        query = query.where(_prefix_or_exact(AuditEvent.action, flt.action))
    if flt.target:
        kind, _, ident = flt.target.partition(":")
        query = query.where(AuditEvent.target_type == kind)
        if ident:
            query = query.where(AuditEvent.target_id == ident)
    if flt.outcome:
        query = query.where(AuditEvent.outcome == flt.outcome)
    if flt.since:
        query = query.where(AuditEvent.occurred_at >= flt.since)
    if flt.until:
        query = query.where(AuditEvent.occurred_at < flt.until)
    return query


def page(flt: AuditFilter, before_id: int | None = None, limit: int = 50) -> list[AuditEvent]:
    """Up to `limit` matching rows, newest first, older than `before_id` when given."""
    query = build(flt)
    if before_id is not None:
        query = query.where(AuditEvent.id < before_id)
    return list(db.session.scalars(query.order_by(AuditEvent.id.desc()).limit(limit)))


def get(event_id: int) -> AuditEvent | None:
    """One audit row by id."""
    return db.session.get(AuditEvent, event_id)


def to_dict(row: AuditEvent) -> dict[str, Any]:
    """A JSON-ready audit row (times in UTC with `Z`)."""
    return {
        **columns(row, "id", times="occurred_at"),
        **columns(row, "actor action target_type target_id outcome ip user_agent"),
        "details": row.details or {},
    }


def iterate(flt: AuditFilter, limit: int | None = None) -> Iterator[AuditEvent]:
    """Every matching row, oldest first, fetched in batches by id."""
    after = 0
    sent = 0
    while True:
        size = EXPORT_BATCH if limit is None else min(EXPORT_BATCH, limit - sent)
        if size <= 0:
            return
        rows = list(
            db.session.scalars(
                build(flt).where(AuditEvent.id > after).order_by(AuditEvent.id).limit(size)
            )
        )
        if not rows:
            return
        for row in rows:
            yield row
            db.session.expunge(row)  # keep memory flat on long exports
        sent += len(rows)
        after = rows[-1].id


def _csv_safe(value: Any) -> Any:
    # A cell starting with = + - @ is a formula in spreadsheet programs (CSV injection, OWASP).
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def export_csv(flt: AuditFilter, limit: int | None = None) -> Iterator[str]:
    """The matching rows as CSV text chunks (header first; details as compact JSON)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    yield buffer.getvalue()
    for row in iterate(flt, limit):
        buffer.seek(0)
        buffer.truncate()
        data = to_dict(row)
        data["details"] = json.dumps(data["details"], ensure_ascii=False, sort_keys=True)
        writer.writerow([_csv_safe(data[c]) for c in CSV_COLUMNS])
        yield buffer.getvalue()


def export_json_lines(flt: AuditFilter, limit: int | None = None) -> Iterator[str]:
    """The matching rows as JSON Lines (one object per line)."""
    for row in iterate(flt, limit):
        yield json.dumps(to_dict(row), ensure_ascii=False, sort_keys=True) + "\n"


def record_export(actor: str, filters: dict[str, Any]) -> None:
    """Audit (and commit) that `actor` exported the rows matching `filters`."""
    from idaas.audit.service import record

    record(actor, "audit.exported", details={"filters": filters})
    db.session.commit()
