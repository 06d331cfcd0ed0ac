"""`idaas audit ...` commands."""

from __future__ import annotations

from typing import Any

import click
from flask.cli import with_appcontext

from idaas.audit.query import (
    AuditFilter,
    InvalidFilter,
    export_csv,
    export_json_lines,
    to_dict,
)
from idaas.audit.query import get as get_event
from idaas.audit.query import page as query_page
from idaas.audit.service import purge_expired
from idaas.cli_support import emit, emit_rows, json_command


@click.group("audit")
def audit_group() -> None:
    """Audit log maintenance."""


@json_command(audit_group, "purge")
@click.option("--days", type=click.IntRange(min=1), help="Retention in days (default: config).")
def purge(days: int | None, as_json: bool) -> None:
    """Delete audit rows older than the retention period."""
    removed = purge_expired(days)
    emit({"removed": removed}, as_json, f"Removed {removed} audit rows.")


def _filter(**values: object) -> AuditFilter:
    try:
        return AuditFilter.parse(values)
    except InvalidFilter as error:
        raise click.BadParameter(error.message, param_hint=f"--{error.field}") from None


FILTER_OPTIONS = (
    click.option("--actor", help="Exact actor, or a prefix ending in * (e.g. 'admin:*')."),
    click.option("--action", help="Exact action, or a prefix ending in * (e.g. 'auth.*')."),
    click.option("--target", help="'type' or 'type:id', e.g. account:7."),
    click.option("--outcome", type=click.Choice(["success", "failure", "denied"])),
    click.option("--since", help="From this ISO 8601 time (inclusive, UTC when no offset)."),
    click.option("--until", help="Up to this ISO 8601 time (exclusive)."),
)


def _with_filters(command: Any) -> Any:
    for option in reversed(FILTER_OPTIONS):
        command = option(command)
    return command


def _event_line(r: dict[str, Any]) -> str:
    """An audit row as one line of `idaas audit list`."""
    return (
        f"{r['id']}\t{r['occurred_at']}\t{r['actor']}\t{r['action']}\t"
        f"{r['target_type'] or ''}:{r['target_id'] or ''}\t{r['outcome']}"
    )


@json_command(audit_group, "list")
@_with_filters
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 1000))
@click.option("--before", type=click.IntRange(min=1), help="Only rows older than this id.")
def list_events(limit: int, before: int | None, as_json: bool, **filters: Any) -> None:
    """The newest audit rows matching the filters."""
    rows = [to_dict(r) for r in query_page(_filter(**filters), before, limit)]
    emit_rows(rows, as_json, _event_line, "No audit rows match.")


@json_command(audit_group, "show")
@click.argument("event_id", type=click.IntRange(min=1))
def show(event_id: int, as_json: bool) -> None:
    """One audit row with its details."""
    row = get_event(event_id)
    if row is None:
        raise click.ClickException(f"Audit row {event_id} does not exist.")
    emit(to_dict(row), as_json)


@audit_group.command("export")
@_with_filters
@click.option("--format", "fmt", type=click.Choice(["csv", "jsonl"]), default="csv")
@click.option("--output", "-o", type=click.File("w", encoding="utf-8"), default="-")
@with_appcontext
def export(fmt: str, output: Any, **filters: Any) -> None:
    """Export matching rows (oldest first) as CSV or JSON Lines to a file or stdout."""
    flt = _filter(**filters)
    chunks = export_csv(flt) if fmt == "csv" else export_json_lines(flt)
    for chunk in chunks:
        output.write(chunk)
