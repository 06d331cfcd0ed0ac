"""The `idaas` command: a Flask CLI group over `create_app`."""

from __future__ import annotations

import sys
from typing import Any

import click
from flask.cli import FlaskGroup, with_appcontext

from idaas import create_app
from idaas.cli_support import cli_origin, emit
from idaas.config import ConfigError
from idaas.directory.errors import DirectoryError
from idaas.schema import upgrade_database


@click.group(
    cls=FlaskGroup, create_app=create_app, add_default_commands=False, add_version_option=False
)
def cli() -> None:
    """idaas: identity and single sign-on for DingTalk organisations."""


@cli.command("init")
@click.option("--admin-username", default="admin", show_default=True)
@click.option("--password", help="The administrator's password (generated when omitted).")
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def init(admin_username: str, password: str | None, as_json: bool) -> None:
    """Create or upgrade the database and make sure a first administrator exists."""
    from idaas.directory.bootstrap import ensure_administrator

    upgrade_database()
    try:
        account, generated = ensure_administrator(cli_origin(), admin_username, password)
    except DirectoryError as error:
        raise click.ClickException(error.message) from None
    data = {"admin_username": account.username, "generated_password": generated}
    text = f"Database ready. Administrator: {account.username}"
    if generated:
        text += f"\nGenerated password (shown once, change it at first sign-in): {generated}"
    emit(data, as_json, text)


def default_workers() -> int:
    """gunicorn processes: two per CPU core (measured in issue 18), at least 2, at most 8."""
    import os

    return max(2, min(8, 2 * (os.cpu_count() or 1)))


@cli.command("serve", with_appcontext=False)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, type=int, show_default=True)
@click.option(
    "--workers",
    default=lambda: default_workers(),
    type=click.IntRange(1, 64),
    show_default="2 per CPU core, 2 to 8",
)
@click.option("--threads", default=2, type=click.IntRange(1, 256), show_default=True)
def serve(host: str, port: int, workers: int, threads: int) -> None:
    """Run the production server (gunicorn); sizing: docs/deployment.md."""
    import shutil

    from idaas.server import prepare_metrics_directory, run_gunicorn

    temporary = prepare_metrics_directory()
    try:
        run_gunicorn(host=host, port=port, workers=workers, threads=threads)
    finally:
        if temporary is not None:
            shutil.rmtree(temporary, ignore_errors=True)


def _register_commands() -> None:
    from idaas.demo import demo
    from idaas.sandbox.dingtalk.cli import sandbox

    cli.add_command(demo)
    cli.add_command(sandbox)


_register_commands()


def main(argv: list[str] | None = None) -> Any:
    """Entry point: configuration errors become one clear line and exit code 2."""
    try:
        return cli.main(args=argv, prog_name="idaas", standalone_mode=True)
    except ConfigError as error:
        click.echo(f"idaas: configuration error: {error}", err=True)
        sys.exit(2)
