"""`idaas dingtalk push settings|set|test|dry-run|sync|deliveries` and `idaas dingtalk notify`."""

from __future__ import annotations

import json
import sys
from typing import Any

import click
from flask import Flask
from flask.cli import AppGroup

from idaas.cli_support import cli_origin, emit
from idaas.dingtalk.notify import settings as notify_settings
from idaas.dingtalk.push import service, settings
from idaas.dingtalk.sync.commands import _conn
from idaas.directory.errors import DirectoryError
from idaas.events import jobs
from idaas.events.commands import follow_job

push_group = AppGroup("push", help="Directory -> DingTalk: push departments and people.")
notify_group = AppGroup("notify", help="DingTalk work notifications for account events.")
JSON = click.option("--json", "as_json", is_flag=True, help="Print JSON.")


def _fail(error: DirectoryError) -> click.ClickException:
    return click.ClickException(
        "; ".join(f"{k}: {v}" for k, v in error.fields.items()) or error.message
    )


@push_group.command("settings")
@click.argument("connection")
@JSON
def show_settings(connection: str, as_json: bool) -> None:
    """Show a connection's push settings."""
    emit(settings.describe(settings.get(_conn(connection))), as_json)


@push_group.command("set")
@click.argument("connection")
@click.option("--enabled/--disabled", default=None, help="Turn push on or off.")
@click.option("--source-department", type=int, help="Local department whose subtree is pushed.")
@click.option("--root-dept", type=int, help="DingTalk department to push under.")
@click.option("--when-disabled", type=click.Choice(["delete", "keep"]))
@click.option("--mapping", help="Field-mapping rules as JSON (a list).")
@JSON
def set_settings(
    connection: str,
    enabled: bool | None,
    source_department: int | None,
    root_dept: int | None,
    when_disabled: str | None,
    mapping: str | None,
    as_json: bool,
) -> None:
    """Change push settings (a subtree the connection pulls is refused)."""
    data: dict[str, Any] = {}
    for key, value in (
        ("enabled", enabled),
        ("source_department_id", source_department),
        ("root_dept_id", root_dept),
        ("disabled", when_disabled),
    ):
        if value is not None:
            data[key] = value
    if mapping is not None:
        try:
            data["mapping"] = json.loads(mapping)
        except ValueError:
            raise click.ClickException("--mapping must be JSON") from None
    try:
        row = settings.save(cli_origin(), _conn(connection), data)
    except DirectoryError as error:
        raise _fail(error) from None
    emit(settings.describe(row), as_json)


@push_group.command("test")
@click.argument("connection")
@JSON
def test(connection: str, as_json: bool) -> None:
    """Check the token, the root department and that the app may write contacts."""
    try:
        result = service.test(cli_origin(), _conn(connection))
    except DirectoryError as error:
        raise _fail(error) from None
    lines = [
        f"{'ok  ' if c['ok'] else 'FAIL'} {c['check']}: {c['message']}" for c in result["checks"]
    ]
    emit(result, as_json, "\n".join(lines))
    if not result["ok"]:
        raise SystemExit(1)


@push_group.command("dry-run")
@click.argument("connection")
@JSON
def dry_run(connection: str, as_json: bool) -> None:
    """Show what a full push would create, update and delete (changes nothing)."""
    try:
        plan = service.dry_run(_conn(connection))
    except DirectoryError as error:
        raise _fail(error) from None
    lines = [f"{k}: {v}" for k, v in plan["counts"].items()] or ["nothing to do"]
    for item in plan["items"]:
        if item["action"] == "error":
            lines.append(f"error {item['name']}: {item['errors'][0]['message']}")
    lines.append(f"unmanaged DingTalk people: {len(plan['unmanaged'])}")
    emit(plan, as_json, "\n".join(lines))


@push_group.command("sync")
@click.argument("connection")
@click.option("--wait/--no-wait", default=True, help="Follow the job with a progress bar.")
@click.option("--timeout", type=float, default=3600.0)
@JSON
def sync(connection: str, wait: bool, timeout: float, as_json: bool) -> None:
    """Queue the full push as a job (run by `idaas worker` or the embedded worker)."""
    try:
        job = service.start_sync(cli_origin(), _conn(connection))
    except DirectoryError as error:
        raise _fail(error) from None
    data = jobs.job_to_dict(job)
    if wait:
        show = sys.stderr.isatty() and not as_json
        data = follow_job(job.id, show=show, timeout=timeout, err=True)
    emit(data, as_json, f"Job {job.id}: {data['status']}")


@push_group.command("deliveries")
@click.argument("connection")
@click.option("--limit", type=int, default=20)
@JSON
def show_deliveries(connection: str, limit: int, as_json: bool) -> None:
    """The connection's latest push deliveries, with DingTalk's errors in words."""
    rows = service.recent_deliveries(_conn(connection), limit)
    lines = [
        f"{r['id']} {r['object_type']}:{r['object_id']} {r['action']} {r['status']}"
        + (f" - {r['last_error']}" if r["last_error"] else "")
        for r in rows
    ]
    emit(rows, as_json, "\n".join(lines) or "No deliveries.")


@notify_group.command("show")
@click.argument("connection")
@JSON
def notify_show(connection: str, as_json: bool) -> None:
    """Which account events send a work notification."""
    events = notify_settings.events_of(_conn(connection))
    emit({"events": events}, as_json, ", ".join(events) or "none")


@notify_group.command("set")
@click.argument("connection")
@click.argument("events", nargs=-1)
@JSON
def notify_set(connection: str, events: tuple[str, ...], as_json: bool) -> None:
    """Enable exactly these events (account_linked password_reset account_disabled
    association_approved); none turns notifications off."""
    try:
        chosen = notify_settings.save(cli_origin(), _conn(connection), list(events))
    except DirectoryError as error:
        raise _fail(error) from None
    emit({"events": chosen}, as_json, ", ".join(chosen) or "none")


def init_app(app: Flask) -> None:
    """Add `idaas dingtalk push` and `idaas dingtalk notify`."""
    from idaas.dingtalk.commands import dingtalk_group

    dingtalk_group.add_command(push_group)
    dingtalk_group.add_command(notify_group)
