"""CLI: `idaas worker`, `idaas deliveries list|show|replay`, `idaas jobs ...`."""

from __future__ import annotations

import json
import signal
import sys
import time
from typing import Any

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from idaas.cli_support import cli_origin, emit, emit_rows, json_command


@click.command("worker")
@click.option(
    "--concurrency",
    type=click.IntRange(1, 256),
    help="Delivery threads (default: EVENTS_CONCURRENCY).",
)
@click.option("--no-scheduler", is_flag=True, help="Never lead the scheduler from this worker.")
@click.option("--no-jobs", is_flag=True, help="Run deliveries only.")
@click.option("--once", is_flag=True, help="Work until nothing is due, then exit.")
@click.option(
    "--metrics-port", type=int, help="Serve this worker's Prometheus metrics on 127.0.0.1:PORT."
)
@with_appcontext
def worker_command(
    concurrency: int | None, no_scheduler: bool, no_jobs: bool, once: bool, metrics_port: int | None
) -> None:
    """Deliver change events, run jobs and lead the scheduler until SIGTERM/SIGINT."""
    from idaas.events.worker import Worker

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    worker = Worker(
        app, concurrency=concurrency, run_jobs=not no_jobs, run_scheduler=not no_scheduler
    )
    if metrics_port:
        from prometheus_client import start_http_server

        start_http_server(
            metrics_port, addr="127.0.0.1", registry=app.extensions["idaas_metrics"].registry
        )
    if once:
        worker.drain(timeout=3600)
        worker.stop()
        return

    def _stop(signum: int, frame: Any) -> None:
        worker.stopping.set()
        worker.wake()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    click.echo(f"idaas worker {worker.name} started", err=True)
    worker.run()
    worker.stop()
    click.echo("idaas worker stopped", err=True)


@click.group("deliveries")
def deliveries_group() -> None:
    """Inspect deliveries and replay dead letters."""


def _delivery_line(r: dict[str, Any]) -> str:
    """A delivery as one line of `idaas deliveries list`."""
    return (
        f"{r['id']:>7}  {r['status']:<9} {r['target_type']}:{r['target_key']}  "
        f"{r['object_type']}:{r['object_id']} {r['action']}  attempts={r['attempts']}"
    )


@json_command(deliveries_group, "list")
@click.option("--status", type=click.Choice(["pending", "running", "delivered", "dead"]))
@click.option("--target-type")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 500))
def list_deliveries(status: str | None, target_type: str | None, limit: int, as_json: bool) -> None:
    """List deliveries, newest first (`--status dead` lists the dead letters)."""
    from idaas.events import deliveries

    rows = [
        deliveries.delivery_to_dict(r)
        for r in deliveries.list_deliveries(status, target_type, limit=limit)
    ]
    emit_rows(rows, as_json, _delivery_line, "No deliveries.")


@json_command(deliveries_group, "show")
@click.argument("reference")
def show_delivery(reference: str, as_json: bool) -> None:
    """Show one delivery (by id or uid), with its last error."""
    from idaas.events import deliveries

    try:
        row = deliveries.get_delivery(reference)
    except deliveries.DeliveryNotFound:
        raise click.ClickException(f"no delivery {reference}") from None
    emit(deliveries.delivery_to_dict(row), as_json)


@json_command(deliveries_group, "replay")
@click.argument("references", nargs=-1, required=True)
def replay_deliveries(references: tuple[str, ...], as_json: bool) -> None:
    """Put dead letters back in the queue (by id or uid)."""
    from idaas.events import deliveries
    from idaas.events.clock import clock

    replayed = []
    for reference in references:
        try:
            replayed.append(deliveries.replay(reference, cli_origin(), clock().now()).id)
        except deliveries.DeliveryNotFound:
            raise click.ClickException(f"no delivery {reference}") from None
        except deliveries.NotDeadLetter:
            raise click.ClickException(f"delivery {reference} is not a dead letter") from None
    emit({"replayed": replayed}, as_json, f"Replayed {len(replayed)} dead letter(s).")


@click.group("jobs")
def jobs_group() -> None:
    """Background jobs: progress, cancel, wait."""


def _job_line(data: dict[str, Any]) -> str:
    progress = data["progress"]
    total = progress["total"]
    amount = f"{progress['done']}/{total}" if total is not None else str(progress["done"])
    return (
        f"{data['id']:>6}  {data['kind']:<24} {data['status']:<10} {amount:>12}  "
        f"{progress['step'] or ''}"
    )


@json_command(jobs_group, "list")
@click.option(
    "--status", type=click.Choice(["queued", "running", "succeeded", "failed", "cancelled"])
)
@click.option("--kind")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 500))
def list_jobs(status: str | None, kind: str | None, limit: int, as_json: bool) -> None:
    """List jobs, newest first."""
    from idaas.events import jobs

    rows = [jobs.job_to_dict(j) for j in jobs.list_jobs(status, kind, limit)]
    emit_rows(rows, as_json, _job_line, "No jobs.")


def _job(job_id: int) -> Any:
    from idaas.events import jobs

    try:
        return jobs.get(job_id)
    except jobs.JobNotFound:
        raise click.ClickException(f"no job {job_id}") from None


@json_command(jobs_group, "show")
@click.argument("job_id", type=int)
def show_job(job_id: int, as_json: bool) -> None:
    """Show one job: progress, checkpoint, result or error."""
    from idaas.events import jobs

    emit(jobs.job_to_dict(_job(job_id)), as_json)


@json_command(jobs_group, "start")
@click.argument("kind")
@click.option(
    "--param",
    "params",
    multiple=True,
    metavar="KEY=VALUE",
    help="A parameter (JSON values allowed).",
)
def start_job(kind: str, params: tuple[str, ...], as_json: bool) -> None:
    """Queue a job of a registered kind."""
    from idaas.events import jobs

    values: dict[str, Any] = {}
    for item in params:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{item!r} is not KEY=VALUE", param_hint="--param")
        try:
            values[key] = json.loads(raw)
        except ValueError:
            values[key] = raw
    try:
        job = jobs.start(kind, values, cli_origin())
    except jobs.UnknownJobKind:
        raise click.ClickException(
            f"unknown job kind {kind!r} (known: {', '.join(jobs.kinds())})"
        ) from None
    emit(jobs.job_to_dict(job), as_json, f"Job {job.id} ({kind}) queued.")


@json_command(jobs_group, "cancel")
@click.argument("job_id", type=int)
def cancel_job(job_id: int, as_json: bool) -> None:
    """Ask a job to stop."""
    from idaas.events import jobs

    _job(job_id)
    job = jobs.cancel(job_id, cli_origin())
    emit(jobs.job_to_dict(job), as_json, f"Job {job_id}: {job.status}, cancel requested.")


def _bar(data: dict[str, Any], width: int = 30) -> str:
    progress = data["progress"]
    total, done = progress["total"], progress["done"] or 0
    fraction = min(1.0, done / total) if total else 0.0
    filled = int(fraction * width)
    counts = f"{done}/{total}" if total is not None else f"{done}"
    failed = f" failed {progress['failed']}" if progress["failed"] else ""
    return (
        f"\r[{'#' * filled}{'.' * (width - filled)}] {fraction * 100:5.1f}% {counts}{failed} "
        f"{progress['step'] or ''} {progress['message'] or ''}"[:120].ljust(120)
    )


def follow_job(
    job_id: int, *, show: bool, timeout: float = 0.0, err: bool = False
) -> dict[str, Any]:
    """Poll a job until it ends (its bar drawn when `show`); its final JSON.

    Gives up with a ClickException after `timeout` seconds (0: never).
    """
    from idaas.events import jobs
    from idaas.extensions import db

    started = time.monotonic()
    hinted = False
    while True:
        db.session.expire_all()
        data = jobs.job_to_dict(_job(job_id))
        if show:
            click.echo(_bar(data), nl=False, err=err)
        if data["status"] in jobs.FINAL:
            break
        waited = time.monotonic() - started
        if show and not hinted and waited >= 5 and not data["started_at"]:
            click.echo("\nwaiting for a worker (`idaas worker`)", err=err)
            hinted = True
        if timeout and waited > timeout:
            if show:
                click.echo(err=err)
            raise click.ClickException(f"job {job_id} still {data['status']} after {timeout:g} s")
        db.session.rollback()
        time.sleep(0.25)
    if show:
        click.echo(err=err)
    return data


@json_command(jobs_group, "wait")
@click.argument("job_id", type=int)
@click.option(
    "--timeout", default=0.0, type=float, help="Give up after this many seconds (0: never)."
)
def wait_job(job_id: int, timeout: float, as_json: bool) -> None:
    """Wait for a job to end (a live progress bar on a terminal); exit 1 unless it succeeded."""
    data = follow_job(job_id, show=sys.stdout.isatty() and not as_json, timeout=timeout)
    emit(
        data,
        as_json,
        f"Job {job_id} {data['status']}: {json.dumps(data['result'] or data['error'])}",
    )
    if data["status"] != "succeeded":
        sys.exit(1)


def init_app(app: Flask) -> None:
    """Add `idaas worker`, `idaas deliveries` and `idaas jobs`."""
    app.cli.add_command(worker_command)
    app.cli.add_command(deliveries_group)
    app.cli.add_command(jobs_group)
