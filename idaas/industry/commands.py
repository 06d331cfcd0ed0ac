"""`idaas industry ...`: gateway secrets (AppSecret) of API clients, nonce housekeeping."""

from __future__ import annotations

import time

import click

from idaas.applications.errors import ApplicationError
from idaas.cli_support import ServiceGroup, cli_origin, emit, json_command
from idaas.industry import keys, nonces


@click.group("industry", cls=ServiceGroup, errors=(ApplicationError,))
def industry_group() -> None:
    """The digital-factory API (/industry/...)."""


@json_command(industry_group, "secret")
@click.argument("client_id")
def secret(client_id: str, as_json: bool) -> None:
    """Issue (or rotate) the API client's gateway AppSecret; printed once."""
    value = keys.issue_secret(cli_origin(), client_id)
    emit(
        {"app_key": client_id, "app_secret": value},
        as_json,
        f"AppKey {client_id}\nAppSecret (shown once): {value}",
    )


@json_command(industry_group, "revoke-secret")
@click.argument("client_id")
def revoke_secret(client_id: str, as_json: bool) -> None:
    """Remove the API client's gateway AppSecret; its signed requests stop at once."""
    removed = keys.revoke_secret(cli_origin(), client_id)
    emit({"app_key": client_id, "revoked": removed}, as_json, "Revoked." if removed else "None.")


@json_command(industry_group, "purge-nonces")
def purge_nonces(as_json: bool) -> None:
    """Delete expired X-Ca-Nonce rows (the database replay store)."""
    count = nonces.purge(int(time.time() * 1000))
    emit({"purged": count}, as_json, f"Purged {count} expired nonces.")
