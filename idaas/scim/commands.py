"""`idaas clients scim-tokens ...`: static SCIM bearer tokens of API clients."""

from __future__ import annotations

import click

from idaas.applications.errors import ApplicationError
from idaas.cli_support import ServiceGroup, cli_origin, emit, emit_rows, json_command
from idaas.scim import tokens
from idaas.scim.models import ScimToken


@click.group(
    "scim-tokens",
    cls=ServiceGroup,
    errors=(ApplicationError, tokens.TokenError, tokens.TokenNotFound),
)
def scim_tokens_group() -> None:
    """Static bearer tokens for /scim/v2 (for consoles that cannot do client credentials)."""


def _token_dict(row: ScimToken) -> dict[str, object]:
    from idaas.api.scim_tokens import token_to_dict

    return token_to_dict(row)


@json_command(scim_tokens_group, "create")
@click.argument("client_id")
@click.option("--name", required=True, help="What the token is for.")
@click.option("--scope", "scopes", multiple=True, help="scim:read / scim:write (repeatable).")
def create(client_id: str, name: str, scopes: tuple[str, ...], as_json: bool) -> None:
    """Issue a token for CLIENT_ID and print it once."""
    row, token = tokens.issue(cli_origin(), client_id, name, list(scopes) or None)
    emit(
        {**_token_dict(row), "token": token},
        as_json,
        f"SCIM token {row.id} for {client_id} (shown once): {token}",
    )


@json_command(scim_tokens_group, "list")
@click.argument("client_id")
def list_tokens(client_id: str, as_json: bool) -> None:
    """List CLIENT_ID's tokens (never their values)."""
    rows = [_token_dict(t) for t in tokens.list_tokens(client_id)]
    emit_rows(
        rows,
        as_json,
        lambda r: (
            f"{r['id']:<5} {r['prefix']:<20} {'revoked' if r['revoked_at'] else 'live   '} "
            f"{r['name']}  {' '.join(r['scopes'])}"
        ),
        "No SCIM tokens.",
    )


@json_command(scim_tokens_group, "revoke")
@click.argument("client_id")
@click.argument("token_id", type=int)
def revoke(client_id: str, token_id: int, as_json: bool) -> None:
    """Revoke token TOKEN_ID of CLIENT_ID at once."""
    row = tokens.revoke(cli_origin(), client_id, token_id)
    emit(_token_dict(row), as_json, f"Revoked SCIM token {row.id}.")
