"""CLI: `idaas provisioning show|set|test|preview|dry-run|sync|log|remove APPLICATION`."""

from __future__ import annotations

import sys
from typing import Any

import click
from flask import Flask
from flask.cli import AppGroup

from idaas.applications.errors import ApplicationError
from idaas.cli_support import cli_origin, emit, parse_pairs
from idaas.events import jobs
from idaas.events.commands import wait_job
from idaas.scim.push import jobs as push_jobs
from idaas.scim.push import log, settings
from idaas.scim.push.preview import preview

provisioning_group = AppGroup("provisioning", help="SCIM push provisioning of applications.")
JSON = click.option("--json", "as_json", is_flag=True, help="Print JSON.")
WAIT = click.option("--wait", is_flag=True, help="Follow the job with a progress bar.")


def _fail(error: Exception) -> click.ClickException:
    if isinstance(error, ApplicationError):
        return click.ClickException(error.message)
    if isinstance(error, settings.NoTarget):
        return click.ClickException(f"application {error} has no SCIM push target")
    return click.ClickException(str(error))


def _show(client_id: str, as_json: bool) -> None:
    try:
        app, target = settings.get(client_id)
    except (ApplicationError, settings.NoTarget) as error:
        raise _fail(error) from None
    emit(settings.to_dict(target, app), as_json)


@provisioning_group.command("show")
@click.argument("application")
@JSON
def show_command(application: str, as_json: bool) -> None:
    """Show an application's SCIM push target (never its secret)."""
    _show(application, as_json)


@provisioning_group.command("set")
@click.argument("application")
@click.option("--set", "pairs", multiple=True, help="key=value (JSON values allowed).")
@click.option("--secret-stdin", is_flag=True, help="Read the secret from standard input.")
@JSON
def set_command(
    application: str, pairs: tuple[str, ...], secret_stdin: bool, as_json: bool
) -> None:
    """Create or change the target: --set base_url=https://app/scim/v2 --set auth_type=bearer."""
    data = parse_pairs(pairs)
    if secret_stdin:
        data["secret"] = sys.stdin.read().strip()
    try:
        settings.save(cli_origin(), application, data)
    except ApplicationError as error:
        raise _fail(error) from None
    _show(application, as_json)


@provisioning_group.command("test")
@click.argument("application")
@JSON
def test_command(application: str, as_json: bool) -> None:
    """Read the target's ServiceProviderConfig and adapt to it (PATCH, filter)."""
    try:
        report = settings.test_connection(cli_origin(), application)
    except (ApplicationError, settings.NoTarget) as error:
        raise _fail(error) from None
    text = (
        f"OK: patch={report['patch']} filter={report['filter']} bulk={report['bulk']} "
        f"resources={','.join(report['resource_types'])}"
        if report["ok"]
        else f"FAILED: {report.get('message')}"
    )
    emit(report, as_json, text)
    if not report["ok"]:
        raise SystemExit(1)


@provisioning_group.command("preview")
@click.argument("application")
@click.argument("account_id", type=int)
@JSON
def preview_command(application: str, account_id: int, as_json: bool) -> None:
    """Show the User the target would receive for one account."""
    try:
        emit(preview(application, account_id), as_json)
    except Exception as error:  # unknown app or account, malformed mapping: say which
        raise _fail(error) from None


def _start(
    ctx: click.Context, kind: str, params: dict[str, Any], wait: bool, as_json: bool
) -> None:
    job = jobs.start(kind, params, cli_origin())
    if wait:
        ctx.invoke(wait_job, job_id=job.id, timeout=0.0, as_json=as_json)
    else:
        emit(
            jobs.job_to_dict(job),
            as_json,
            f"Job {job.id} ({kind}) queued: idaas jobs wait {job.id}",
        )


@provisioning_group.command("dry-run")
@click.argument("application")
@WAIT
@JSON
@click.pass_context
def dry_run_command(ctx: click.Context, application: str, wait: bool, as_json: bool) -> None:
    """Queue the diff of the target against the directory (created/updated/deactivated)."""
    try:
        settings.get(application)
    except (ApplicationError, settings.NoTarget) as error:
        raise _fail(error) from None
    _start(ctx, push_jobs.PLAN, {"application": application}, wait, as_json)


@provisioning_group.command("sync")
@click.argument("application")
@click.option("--plan", "plan_job", type=int, required=True, help="The finished dry-run job.")
@WAIT
@JSON
@click.pass_context
def sync_command(
    ctx: click.Context, application: str, plan_job: int, wait: bool, as_json: bool
) -> None:
    """Apply exactly the diff of a finished dry run."""
    try:
        push_jobs.planned_by(plan_job, application)
    except push_jobs.PlanNotReady:
        raise click.ClickException(
            f"job {plan_job} is not a finished dry run of {application}"
        ) from None
    _start(ctx, push_jobs.SYNC, {"application": application, "plan_job": plan_job}, wait, as_json)


@provisioning_group.command("log")
@click.argument("application")
@click.option("--failed", is_flag=True, help="Only failed requests.")
@click.option("--limit", default=50, type=click.IntRange(1, 500))
@JSON
def log_command(application: str, failed: bool, limit: int, as_json: bool) -> None:
    """The target's delivery log, newest first."""
    try:
        _, target = settings.get(application)
    except (ApplicationError, settings.NoTarget) as error:
        raise _fail(error) from None
    rows = [log.to_dict(r) for r in log.entries(target, failed_only=failed, limit=limit)]
    text = "\n".join(
        f"{r['at']} {r['object']:<16} {r['operation']:<10} {r['request']} -> {r['status']}"
        + (f" {r['error']}" if r["error"] else "")
        for r in rows
    )
    emit(rows, as_json, text or "No requests yet.")


@provisioning_group.command("remove")
@click.argument("application")
@click.option("--yes", is_flag=True, help="Do not ask.")
def remove_command(application: str, yes: bool) -> None:
    """Remove the application's SCIM push target (what it provisioned stays there)."""
    if not yes:
        click.confirm(f"Remove SCIM push of {application}?", abort=True)
    try:
        settings.delete(cli_origin(), application)
    except (ApplicationError, settings.NoTarget) as error:
        raise _fail(error) from None
    click.echo(f"SCIM push of {application} removed.")


def init_app(app: Flask) -> None:
    """Add `idaas provisioning`."""
    app.cli.add_command(provisioning_group)
