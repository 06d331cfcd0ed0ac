"""`idaas clients scim-tokens ...`: static SCIM bearer tokens of API clients."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from idaas.applications.errors import ApplicationError
from idaas.cli_support import cli_origin, emit
from idaas.scim import tokens
from idaas.scim.models import ScimToken


@click.group("scim-tokens")
def scim_tokens_group() -> None:
    """Static bearer tokens for /scim/v2 (for consoles that cannot do client credentials)."""


def _token_dict(row: ScimToken) -> dict[str, object]:
    from idaas.api.scim_tokens import token_to_dict

    return token_to_dict(row)


@scim_tokens_group.command("create")
@click.argument("client_id")
@click.option("--name", required=True, help="What the token is for.")
@click.option("--scope", "scopes", multiple=True, help="scim:read / scim:write (repeatable).")
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def create(client_id: str, name: str, scopes: tuple[str, ...], as_json: bool) -> None:
    """Issue a token for CLIENT_ID and print it once."""
    try:
        row, token = tokens.issue(cli_origin(), client_id, name, list(scopes) or None)
    except (ApplicationError, tokens.TokenError) as error:
        raise click.ClickException(str(getattr(error, "message", error))) from None
    emit(
        {**_token_dict(row), "token": token},
        as_json,
        f"SCIM token {row.id} for {client_id} (shown once): {token}",
    )


@scim_tokens_group.command("list")
@click.argument("client_id")
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def list_tokens(client_id: str, as_json: bool) -> None:
    """List CLIENT_ID's tokens (never their values)."""
    try:
        rows = [_token_dict(t) for t in tokens.list_tokens(client_id)]
    except ApplicationError as error:
        raise click.ClickException(error.message) from None
    lines = [
        f"{r['id']:<5} {r['prefix']:<20} {'revoked' if r['revoked_at'] else 'live   '} "
        f"{r['name']}  {' '.join(r['scopes'])}"  # type: ignore[arg-type]
        for r in rows
    ]
    emit(rows, as_json, "\n".join(lines) or "No SCIM tokens.")


@scim_tokens_group.command("revoke")
@click.argument("client_id")
@click.argument("token_id", type=int)
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def revoke(client_id: str, token_id: int, as_json: bool) -> None:
    """Revoke token TOKEN_ID of CLIENT_ID at once."""
    try:
        row = tokens.revoke(cli_origin(), client_id, token_id)
    except (ApplicationError, tokens.TokenNotFound) as error:
        raise click.ClickException(str(getattr(error, "message", error))) from None
    emit(_token_dict(row), as_json, f"Revoked SCIM token {row.id}.")
