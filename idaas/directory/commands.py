"""`idaas accounts ...` and `idaas departments ...` commands."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import click

from idaas.cli_support import ServiceGroup, cli_origin, emit, emit_rows, json_command
from idaas.directory import service
from idaas.directory.errors import DirectoryError, NotFound
from idaas.directory.models import Account
from idaas.directory.serialise import account_to_dict, department_to_dict


def resolve_account(reference: str) -> Account:
    """The account a CLI argument names (id, username, email or mobile), or a usage error."""
    if reference.isdigit():
        try:
            return service.get_account(int(reference))
        except NotFound:
            pass
    account = service.find_by_identifier(reference)
    if account is None:
        raise click.ClickException(f"no account matches {reference!r}")
    return account


def account_command(
    group: click.Group, name: str, **options: Any
) -> Callable[[Callable[..., Any]], click.Command]:
    """`json_command(group, name)` with a REFERENCE argument (id, username, email or mobile)
    that the function receives as the resolved `account`."""

    def declare(function: Callable[..., Any]) -> click.Command:
        @functools.wraps(function)
        def resolved(reference: str, **kwargs: Any) -> Any:
            return function(resolve_account(reference), **kwargs)

        return json_command(group, name, **options)(click.argument("reference")(resolved))

    return declare


@click.group("accounts", cls=ServiceGroup, errors=(DirectoryError,))
def accounts_group() -> None:
    """Manage accounts."""


@json_command(accounts_group, "create")
@click.option("--username", required=True)
@click.option("--password", help="Initial password (must meet the policy).")
@click.option("--name", "display_name")
@click.option("--email")
@click.option("--mobile")
@click.option("--employee-number")
@click.option("--title")
@click.option(
    "--department",
    "departments",
    type=int,
    multiple=True,
    help="Department id; repeat for several (the first is primary).",
)
@click.option("--must-change-password/--no-must-change-password", default=None)
def create_account(as_json: bool, departments: tuple[int, ...], **fields: Any) -> None:
    """Create an account."""
    account = service.create_account(
        cli_origin(),
        memberships=list(departments),
        **{k: v for k, v in fields.items() if v is not None or k == "must_change_password"},
    )
    emit(
        account_to_dict(account), as_json, f"Created account {account.username} (id {account.id})."
    )


def _account_line(a: dict[str, Any]) -> str:
    """An account as one line of `idaas accounts list`."""
    return f"{a['id']:>6}  {a['username']:<24} {a['display_name']:<16} {a['status']}"


@json_command(accounts_group, "list")
@click.option("--q", help="Search username, name, email, mobile or employee number.")
@click.option("--department", "department_id", type=int)
@click.option("--status", type=click.Choice(["active", "disabled", "left"]))
@click.option("--limit", type=click.IntRange(1, 10000), default=100)
def list_accounts(
    q: str | None, department_id: int | None, status: str | None, limit: int, as_json: bool
) -> None:
    """List accounts."""
    accounts = service.list_accounts(limit=limit, q=q, department_id=department_id, status=status)
    rows = [account_to_dict(a) for a in accounts]
    emit_rows(rows, as_json, _account_line, "No accounts.")


@account_command(accounts_group, "show")
def show_account(account: Account, as_json: bool) -> None:
    """Show an account by id, username, email or mobile."""
    emit(account_to_dict(account), as_json)


def _set_status(account: Account, status: str, as_json: bool) -> None:
    account = service.set_status(cli_origin(), account.id, status)
    emit(account_to_dict(account), as_json, f"Account {account.username} is now {status}.")


@account_command(accounts_group, "disable")
def disable_account(account: Account, as_json: bool) -> None:
    """Disable an account (it can no longer sign in)."""
    _set_status(account, "disabled", as_json)


@account_command(accounts_group, "enable")
def enable_account(account: Account, as_json: bool) -> None:
    """Re-enable an account."""
    _set_status(account, "active", as_json)


@click.group("departments", cls=ServiceGroup, errors=(DirectoryError,))
def departments_group() -> None:
    """Manage the department tree."""


@json_command(departments_group, "create")
@click.option("--name", required=True)
@click.option("--parent", "parent_id", type=int, help="Parent department id (default: a root).")
@click.option("--sort-order", type=int, default=0)
def create_department(name: str, parent_id: int | None, sort_order: int, as_json: bool) -> None:
    """Create a department."""
    department = service.create_department(
        cli_origin(), name=name, parent_id=parent_id, sort_order=sort_order
    )
    emit(
        department_to_dict(department),
        as_json,
        f"Created department {department.name} (id {department.id}).",
    )


@json_command(departments_group, "list")
@click.option("--parent", "parent_id", type=int, help="Only this department's subtree.")
def list_departments(parent_id: int | None, as_json: bool) -> None:
    """List departments as a tree."""
    from idaas.directory.models import Department
    from idaas.extensions import db

    if parent_id is not None:
        departments = service.subtree(parent_id)
    else:
        departments = list(
            db.session.scalars(
                db.select(Department).order_by(Department.depth, Department.sort_order)
            )
        )
    ordered = sorted(departments, key=lambda d: [int(p) for p in d.path.strip("/").split("/")])
    base = min((d.depth for d in ordered), default=0)
    lines = [f"{'  ' * (d.depth - base)}{d.name} (id {d.id})" for d in ordered]
    emit([department_to_dict(d) for d in ordered], as_json, "\n".join(lines) or "No departments.")


@json_command(departments_group, "move")
@click.argument("department_id", type=int)
@click.option("--parent", "parent_id", type=int, help="New parent id.")
@click.option("--root", is_flag=True, help="Make it a root department.")
def move_department(department_id: int, parent_id: int | None, root: bool, as_json: bool) -> None:
    """Move a department (with its subtree) under another parent."""
    if (parent_id is None) == (not root):
        raise click.UsageError("give exactly one of --parent ID or --root")
    department = service.move_department(cli_origin(), department_id, parent_id)
    emit(department_to_dict(department), as_json, f"Moved {department.name}.")


@json_command(departments_group, "rename")
@click.argument("department_id", type=int)
@click.argument("name")
def rename_department(department_id: int, name: str, as_json: bool) -> None:
    """Rename a department (names are unique among siblings)."""
    before = service.get_department(department_id).name
    department = service.update_department(cli_origin(), department_id, name=name)
    emit(department_to_dict(department), as_json, f"Renamed {before} to {department.name}.")


@json_command(departments_group, "delete")
@click.argument("department_id", type=int)
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def delete_department(department_id: int, yes: bool, as_json: bool) -> None:
    """Delete an empty department (move its members and sub-departments first)."""
    department = service.get_department(department_id)
    if not yes and not as_json:
        click.confirm(f"Delete department {department.name} (id {department.id})?", abort=True)
    name = department.name
    service.delete_department(cli_origin(), department_id)
    emit({"id": department_id, "deleted": True}, as_json, f"Deleted department {name}.")
