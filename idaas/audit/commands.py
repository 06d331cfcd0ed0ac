"""`idaas audit ...` commands."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from idaas.audit.service import purge_expired
from idaas.cli_support import emit


@click.group("audit")
def audit_group() -> None:
    """Audit log maintenance."""


@audit_group.command("purge")
@click.option("--days", type=click.IntRange(min=1), help="Retention in days (default: config).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@with_appcontext
def purge(days: int | None, as_json: bool) -> None:
    """Delete audit rows older than the retention period."""
    removed = purge_expired(days)
    emit({"removed": removed}, as_json, f"Removed {removed} audit rows.")
