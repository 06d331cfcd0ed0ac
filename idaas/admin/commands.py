"""`idaas admins grant|revoke|list`: admin roles from the command line."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from idaas.admin import roles
from idaas.cli_support import cli_origin, emit
from idaas.directory import service
from idaas.directory.errors import DirectoryError


def _account_id(identifier: str) -> int:
    account = service.find_by_identifier(identifier)
    if account is None:
        raise click.ClickException(f"No account matches {identifier!r}.")
    return int(account.id)


@click.group("admins")
def admins_group() -> None:
    """Admin roles: super_admin, directory_admin, application_admin, auditor."""


@admins_group.command("list")
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def list_admins(as_json: bool) -> None:
    """Every account holding an admin role."""
    found = roles.admins()
    data = [
        {"id": a.id, "username": a.username, "roles": [r.key for r in held]} for a, held in found
    ]
    text = "\n".join(f"{a.username}\t{', '.join(r.key for r in held)}" for a, held in found)
    text = text or "No admins."
    emit(data, as_json, text)


def _change(identifier: str, role: str, as_json: bool, granted: bool) -> None:
    account_id = _account_id(identifier)
    try:
        if granted:
            changed = roles.grant(cli_origin(), account_id, role)
        else:
            changed = roles.revoke(cli_origin(), account_id, role)
    except DirectoryError as error:
        raise click.ClickException(error.message) from None
    verb = "granted" if granted else "revoked"
    data = {"account": identifier, "role": role, verb: changed}
    emit(data, as_json, f"{role} {verb}." if changed else "Nothing changed.")


ROLE = click.Choice(sorted(roles.ROLES))


@admins_group.command("grant")
@click.argument("account")
@click.argument("role", type=ROLE)
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def grant(account: str, role: str, as_json: bool) -> None:
    """Give ACCOUNT (username, email or mobile) the admin ROLE."""
    _change(account, role, as_json, True)


@admins_group.command("revoke")
@click.argument("account")
@click.argument("role", type=ROLE)
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def revoke(account: str, role: str, as_json: bool) -> None:
    """Take the admin ROLE away from ACCOUNT (never the last super admin)."""
    _change(account, role, as_json, False)
