"""`idaas keys ...`: list and rotate the signing keys (JWKS)."""

from __future__ import annotations

import click

from idaas.cli_support import cli_origin, emit, emit_rows, json_command
from idaas.oidc import keys


@click.group("keys")
def keys_group() -> None:
    """Manage the token signing keys."""


@json_command(keys_group, "list")
def list_keys(as_json: bool) -> None:
    """List signing keys and their state (next, active, retired, expired)."""
    keys.expire_retired()
    rows = [
        {
            "kid": row.kid,
            "alg": row.alg,
            "status": row.status,
            "created_at": row.created_at.isoformat() + "Z",
            "activates_at": row.activates_at.isoformat() + "Z" if row.activates_at else None,
            "retired_at": row.retired_at.isoformat() + "Z" if row.retired_at else None,
        }
        for row in keys.list_keys()
    ]
    emit_rows(
        rows,
        as_json,
        lambda r: f"{r['kid']:<20} {r['alg']:<6} {r['status']:<8} {r['created_at']}",
        "No keys yet.",
    )


@json_command(keys_group, "rotate")
@click.option("--alg", type=click.Choice(sorted(keys.GENERATORS)), default=keys.DEFAULT_ALG)
@click.option("--overlap", type=int, default=None, help="Seconds published before signing.")
def rotate(alg: str, overlap: int | None, as_json: bool) -> None:
    """Publish a new key in the JWKS now; it signs after the overlap; the old one retires.

    With an overlap no longer than KEY_PUBLISH_SECONDS the command waits until the new key
    signs (every worker serves it by then), so "rotate now" is done when it returns.
    """
    wait = overlap is not None and overlap <= keys.publish_seconds()
    row = keys.rotate(cli_origin(), alg, overlap, wait=wait)
    emit(
        {"kid": row.kid, "alg": row.alg, "status": row.status},
        as_json,
        f"New {row.alg} key {row.kid} ({row.status}).",
    )
