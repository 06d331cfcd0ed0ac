"""`idaas admins grant|revoke|list`: admin roles from the command line."""

from __future__ import annotations

from collections.abc import Callable

import click

from idaas.admin import roles
from idaas.cli_support import ServiceGroup, cli_origin, emit, emit_rows, json_command
from idaas.directory import service
from idaas.directory.errors import DirectoryError


def _account_id(identifier: str) -> int:
    account = service.find_by_identifier(identifier)
    if account is None:
        raise click.ClickException(f"No account matches {identifier!r}.")
    return int(account.id)


@click.group("admins", cls=ServiceGroup, errors=(DirectoryError,))
def admins_group() -> None:
    """Admin roles: super_admin, directory_admin, application_admin, auditor."""


@json_command(admins_group, "list")
def list_admins(as_json: bool) -> None:
    """Every account holding an admin role."""
    rows = [
        {"id": a.id, "username": a.username, "roles": [r.key for r in held]}
        for a, held in roles.admins()
    ]
    emit_rows(rows, as_json, lambda r: f"{r['username']}\t{', '.join(r['roles'])}", "No admins.")


def _role_command(
    name: str, verb: str, change_role: Callable[[str, int, str], bool], help: str
) -> None:
    """Declare `idaas admins NAME ACCOUNT ROLE`, which grants or revokes the role (`verb`)."""

    @json_command(admins_group, name, help=help)
    @click.argument("account")
    @click.argument("role", type=click.Choice(sorted(roles.ROLES)))
    def change(account: str, role: str, as_json: bool) -> None:
        changed = change_role(cli_origin(), _account_id(account), role)
        data = {"account": account, "role": role, verb: changed}
        emit(data, as_json, f"{role} {verb}." if changed else "Nothing changed.")


_role_command(
    "grant", "granted", roles.grant, "Give ACCOUNT (username, email or mobile) the admin ROLE."
)
_role_command(
    "revoke",
    "revoked",
    roles.revoke,
    "Take the admin ROLE away from ACCOUNT (never the last super admin).",
)
