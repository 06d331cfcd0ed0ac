"""`idaas industry ...`: gateway secrets (AppSecret) of API clients, nonce housekeeping."""

from __future__ import annotations

import time

import click
from flask.cli import with_appcontext

from idaas.applications.errors import ApplicationError
from idaas.cli_support import cli_origin, emit
from idaas.industry import keys, nonces


@click.group("industry")
def industry_group() -> None:
    """The digital-factory API (/industry/...)."""


@industry_group.command("secret")
@click.argument("client_id")
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def secret(client_id: str, as_json: bool) -> None:
    """Issue (or rotate) the API client's gateway AppSecret; printed once."""
    try:
        value = keys.issue_secret(cli_origin(), client_id)
    except ApplicationError as error:
        raise click.ClickException(error.message) from None
    emit(
        {"app_key": client_id, "app_secret": value},
        as_json,
        f"AppKey {client_id}\nAppSecret (shown once): {value}",
    )


@industry_group.command("revoke-secret")
@click.argument("client_id")
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def revoke_secret(client_id: str, as_json: bool) -> None:
    """Remove the API client's gateway AppSecret; its signed requests stop at once."""
    try:
        removed = keys.revoke_secret(cli_origin(), client_id)
    except ApplicationError as error:
        raise click.ClickException(error.message) from None
    emit({"app_key": client_id, "revoked": removed}, as_json, "Revoked." if removed else "None.")


@industry_group.command("purge-nonces")
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def purge_nonces(as_json: bool) -> None:
    """Delete expired X-Ca-Nonce rows (the database replay store)."""
    count = nonces.purge(int(time.time() * 1000))
    emit({"purged": count}, as_json, f"Purged {count} expired nonces.")
