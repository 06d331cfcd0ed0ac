"""`idaas sync dingtalk preview|apply|status|reconcile|confirm|discard|settings|test|...`."""

from __future__ import annotations

import functools
import sys
import threading
from collections.abc import Callable
from typing import Any

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from idaas.cli_support import ServiceGroup, cli_origin, emit, parse_pairs
from idaas.dingtalk import connections
from idaas.dingtalk.connections import DingTalkConnection
from idaas.dingtalk.sync import (
    events,
    jobs,
    reconcile,
    registration,
    removal,
    runs,
    settings,
    status,
)
from idaas.dingtalk.sync.api import run_to_dict
from idaas.dingtalk.sync.models import SyncRun
from idaas.directory.errors import DirectoryError
from idaas.events import jobs as engine
from idaas.events.commands import follow_job
from idaas.events.models import Job

sync_group = AppGroup("sync", help="Synchronise the directory from external sources.")
dingtalk = ServiceGroup(
    "dingtalk",
    help="DingTalk -> directory: import, events, reconciliation.",
    errors=(runs.RunError, removal.ChoiceRequired),
)
sync_group.add_command(dingtalk)
JSON = click.option("--json", "as_json", is_flag=True, help="Print JSON.")
HERE = click.option(
    "--here",
    is_flag=True,
    help="Run the job in this process instead of waiting for `idaas worker` to run it.",
)


def _conn(name: str) -> DingTalkConnection:
    conn = connections.get(name)
    if conn is None:
        raise click.ClickException(f"no DingTalk connection named {name!r}")
    return conn


def follow(job: Job, *, here: bool, as_json: bool) -> str:
    """Wait for a sync job to end, drawing its progress on a terminal; its final status.

    With `here` the job runs in this process (a thread of this command) instead of a worker.
    """
    job_id = job.id
    runner = None
    if here:
        app = current_app._get_current_object()  # type: ignore[attr-defined]

        def work() -> None:
            with app.app_context():
                jobs.run_here(engine.get(job_id))

        runner = threading.Thread(target=work, name=f"idaas-job-{job_id}-here", daemon=True)
        runner.start()
    data = follow_job(job_id, show=sys.stderr.isatty() and not as_json, err=True)
    if runner is not None:
        runner.join()
    return str(data["status"])


def _summary(run: Any) -> str:
    data = run_to_dict(run)
    lines = [f"run {data['id']} ({data['kind']}): {data['status']}"]
    if data["message"]:
        lines.append(f"  {data['message']}")
    if data["job"] and data["job"]["error"]:
        lines.append(f"  job {data['job']['id']}: {data['job']['error']}")
    for key, value in sorted((data["counts"].get("actions") or {}).items()):
        lines.append(f"  {key}: {value}")
    for key, value in sorted((data["counts"].get("invalid_by_kind") or {}).items()):
        lines.append(f"  invalid ({key}): {value}")
    return "\n".join(lines)


def _fail_on(error: Exception) -> click.ClickException:
    if isinstance(error, DirectoryError):
        return click.ClickException(
            "; ".join(f"{k}: {v}" for k, v in error.fields.items()) or error.message
        )
    return click.ClickException(str(error))


def _report(run_id: int, status: str, as_json: bool) -> None:
    """Print the run; exit 1 when its job or the run failed."""
    run = runs.get_run(run_id)
    emit(run_to_dict(run), as_json, _summary(run))
    if status != "succeeded" or run.status == "failed":
        sys.exit(1)


def _job_command(
    name: str, start: Callable[[str, DingTalkConnection], tuple[SyncRun, Job]], help: str
) -> None:
    """Declare `idaas sync dingtalk NAME CONNECTION`: start a run's job, follow it, report."""

    @dingtalk.command(name, help=help)
    @click.argument("connection")
    @HERE
    @JSON
    def run_job(connection: str, here: bool, as_json: bool) -> None:
        run, job = start(cli_origin(), _conn(connection))
        _report(run.id, follow(job, here=here, as_json=as_json), as_json)


_job_command(
    "preview",
    runs.preview,
    "Plan a full import without changing anything (a job); shows counts and invalid rows.",
)
_job_command(
    "reconcile",
    reconcile.reconcile,
    "Recover failed pushes and repair drift now, within the call budget (a job).",
)


def _run_command(name: str) -> Callable[[Callable[..., Any]], click.Command]:
    """`idaas sync dingtalk NAME CONNECTION RUN_ID [--json]`, whose function receives the run."""

    def declare(function: Callable[..., Any]) -> click.Command:
        @functools.wraps(function)
        def resolved(connection: str, run_id: int, **kwargs: Any) -> Any:
            return function(runs.get_run(run_id, _conn(connection).name), **kwargs)

        arguments = click.argument("connection")(click.argument("run_id", type=int)(resolved))
        return dingtalk.command(name)(JSON(arguments))

    return declare


@_run_command("rows")
@click.option("--invalid", is_flag=True, help="Only rows with validation errors.")
def rows(run: SyncRun, invalid: bool, as_json: bool) -> None:
    """The rows of a run (each invalid one with its reasons)."""
    items: list[dict[str, Any]] = [
        {
            "seq": r.seq,
            "type": r.object_type,
            "id": r.external_id,
            "action": r.action,
            "name": r.name,
            "errors": r.errors,
            "removed": r.removed,
        }
        for r in runs.rows_of(run, invalid=True if invalid else None, limit=10**9)
    ]
    text = "\n".join(
        f"{i['seq']:>6} {i['type']:<10} {i['action']:<7} {i['id']} {i['name'] or ''}"
        + "".join(f"\n         ! {e['kind']}: {e['message']}" for e in i["errors"])
        for i in items
    )
    emit(items, as_json, text)


@_run_command("remove-invalid")
def remove_invalid(run: SyncRun, as_json: bool) -> None:
    """Drop every invalid row of a previewed run in one action."""
    count = runs.remove_invalid(cli_origin(), run)
    emit({"removed": count}, as_json, f"removed {count} rows")


@_run_command("confirm")
@click.option("--accept-deletions", is_flag=True, help="Apply a delete-protection hold.")
@HERE
def confirm(run: SyncRun, accept_deletions: bool, here: bool, as_json: bool) -> None:
    """Confirm a previewed run (or a hold) and apply it (a job; a held event batch at once)."""
    status = "succeeded"
    if run.kind == "events":
        events.release(cli_origin(), run, approve=True)
        events.apply_pending(_conn(run.connection))
    else:
        job = runs.apply(cli_origin(), run, accept_deletions=accept_deletions)
        status = follow(job, here=here, as_json=as_json)
    _report(run.id, status, as_json)


@_run_command("discard")
def discard(run: SyncRun, as_json: bool) -> None:
    """Throw away a previewed run or a delete-protection hold."""
    if run.kind == "events":
        events.release(cli_origin(), run, approve=False)
    else:
        runs.discard(cli_origin(), run)
    emit(run_to_dict(runs.get_run(run.id)), as_json)


@dingtalk.command("apply")
@click.argument("connection")
@click.option("--run", "run_id", type=int, help="Resume or apply this confirmed run.")
@click.option("--skip-invalid", is_flag=True, help="Drop invalid rows instead of stopping.")
@HERE
@JSON
def apply(
    connection: str, run_id: int | None, skip_invalid: bool, here: bool, as_json: bool
) -> None:
    """Preview, confirm and apply in one go (or resume a run), each step a job."""
    conn = _conn(connection)
    origin = cli_origin()
    if run_id is not None:
        run = runs.get_run(run_id, conn.name)
        if run.status not in ("confirmed", "applying"):
            raise click.ClickException(f"run {run_id} is {run.status}: confirm it first")
        job = jobs.start("dingtalk.apply", run, origin)
    else:
        run, job = runs.preview(origin, conn)
        status = follow(job, here=here, as_json=as_json)
        run = runs.get_run(run.id)
        if status != "succeeded" or run.status != "previewed":
            _report(run.id, status, as_json)
            sys.exit(1)
        if run.counts.get("invalid"):
            if not skip_invalid:
                emit(run_to_dict(run), as_json, _summary(run) + "\n(use --skip-invalid)")
                sys.exit(1)
            runs.remove_invalid(origin, run)
        job = runs.apply(origin, run)
    _report(run.id, follow(job, here=here, as_json=as_json), as_json)


@dingtalk.command("status")
@click.argument("connection")
@JSON
def status_command(connection: str, as_json: bool) -> None:
    """Last import, last event, lag, events per minute, calls today, errors."""
    emit(status.status(_conn(connection)), as_json)


@dingtalk.command("settings")
@click.argument("connection")
@click.option("--set", "pairs", multiple=True, help="key=value (JSON values allowed).")
@JSON
def settings_command(connection: str, pairs: tuple[str, ...], as_json: bool) -> None:
    """Show or change the sync settings (with the callback URL, token and AES key)."""
    conn = _conn(connection)
    if pairs:
        try:
            settings.save(cli_origin(), conn, parse_pairs(pairs))
        except DirectoryError as error:
            raise _fail_on(error) from None
    row = settings.get(conn)
    emit(settings.describe(conn, row, registration.callback_url(conn)), as_json)


@dingtalk.command("test")
@click.argument("connection")
@JSON
def test_command(connection: str, as_json: bool) -> None:
    """Check the token, contacts permissions and scope; says what to fix."""
    result = settings.test_connection(cli_origin(), _conn(connection))
    text = "\n".join(
        f"{'ok ' if c['ok'] else 'FIX'} {c['check']}: {c['message']}" for c in result["checks"]
    )
    emit(result, as_json, text)
    if not result["ok"]:
        sys.exit(1)


@dingtalk.command("register-callback")
@click.argument("connection")
@JSON
def register_command(connection: str, as_json: bool) -> None:
    """Register the HTTP callback through the legacy register_call_back API."""
    url = registration.register_legacy(cli_origin(), _conn(connection))
    emit({"url": url}, as_json, f"registered {url}")


@dingtalk.command("stream")
@click.argument("connection", required=False)
def stream_command(connection: str | None) -> None:
    """Run the Stream consumers (leader-elected per connection) until interrupted."""
    from flask import current_app

    from idaas.dingtalk.sync.streaming import StreamRunner, start_all

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    runners = [StreamRunner(app, _conn(connection).name).start()] if connection else start_all(app)
    try:
        for runner in runners:
            while runner.thread is not None and runner.thread.is_alive():
                runner.thread.join(1)
    except KeyboardInterrupt:
        for runner in runners:
            runner.stop()


@dingtalk.command("remove-connection")
@click.argument("connection")
@click.option(
    "--imported", type=click.Choice(removal.CHOICES), help="keep or disable imported people"
)
@JSON
def remove_connection(connection: str, imported: str | None, as_json: bool) -> None:
    """Remove a connection; with imported people, choose --imported keep|disable."""
    emit(removal.remove(cli_origin(), _conn(connection), imported), as_json)


def init_app(app: Flask) -> None:
    """Add `idaas sync dingtalk ...`."""
    app.cli.add_command(sync_group)
