"""CLI: `idaas accounts unlock|reset-password|require-mfa|reset-mfa`, `idaas sessions ...`."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import with_appcontext

from idaas.cli_support import cli_origin, emit
from idaas.directory import service as directory
from idaas.directory.commands import accounts_group, resolve_account
from idaas.directory.errors import DirectoryError


@click.command("unlock")
@click.argument("reference")
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def unlock_account(reference: str, as_json: bool) -> None:
    """Lift a sign-in lockout (after too many wrong passwords)."""
    from idaas.auth import lockout

    account = resolve_account(reference)
    was_locked = lockout.unlock(cli_origin(), account.id)
    emit(
        {"account": account.username, "was_locked": was_locked},
        as_json,
        f"Account {account.username} unlocked."
        if was_locked
        else f"Account {account.username} was not locked; failure count cleared.",
    )


@click.command("reset-password")
@click.argument("reference")
@click.option("--password", help="The new password (generated when omitted).")
@click.option(
    "--must-change/--no-must-change",
    default=True,
    show_default=True,
    help="Ask for a new password at the next sign-in.",
)
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def reset_password(reference: str, password: str | None, must_change: bool, as_json: bool) -> None:
    """Set a new password (ends the account's sessions); prints a generated one once."""
    from idaas.directory.bootstrap import generate_password

    account = resolve_account(reference)
    generated = None if password else generate_password()
    try:
        directory.set_password(
            cli_origin(), account.id, password or generated or "", must_change=must_change
        )
    except DirectoryError as error:
        raise click.ClickException(error.message) from None
    text = f"Password of {account.username} reset."
    if generated:
        text += f"\nGenerated password (shown once): {generated}"
    emit(
        {
            "account": account.username,
            "generated_password": generated,
            "must_change_password": must_change,
        },
        as_json,
        text,
    )


@click.command("require-mfa")
@click.argument("reference")
@click.option("--on/--off", "required", default=True, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def require_mfa(reference: str, required: bool, as_json: bool) -> None:
    """Require (or stop requiring) a second factor for one account."""
    from idaas.auth import mfa

    account = resolve_account(reference)
    mfa.set_required(cli_origin(), account.id, required)
    emit(
        {"account": account.username, "mfa_required": required},
        as_json,
        f"MFA {'required' if required else 'optional'} for {account.username}.",
    )


@click.command("reset-mfa")
@click.argument("reference")
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def reset_mfa(reference: str, as_json: bool) -> None:
    """Remove an account's authenticator and recovery codes (it must enrol again if required)."""
    from idaas.auth import mfa

    account = resolve_account(reference)
    mfa.reset(cli_origin(), account.id)
    emit({"account": account.username}, as_json, f"MFA reset for {account.username}.")


@click.group("sessions")
def sessions_group() -> None:
    """Inspect and end sign-in sessions."""


@sessions_group.command("list")
@click.argument("reference")
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def list_sessions(reference: str, as_json: bool) -> None:
    """List an account's live sessions."""
    from idaas.auth import sessions

    account = resolve_account(reference)
    rows = [
        {
            "id": row.id,
            "created_at": row.created_at.isoformat(),
            "last_seen_at": row.last_seen_at.isoformat(),
            "ip": row.ip,
            "user_agent": row.user_agent,
            "acr": row.acr,
            "amr": row.methods,
        }
        for row in sessions.live_sessions(account.id)
    ]
    lines = [f"{r['id']:>6}  {r['last_seen_at']}  {r['ip'] or '-':<16} {r['acr']}" for r in rows]
    emit(rows, as_json, "\n".join(lines) or "No live sessions.")


@sessions_group.command("revoke")
@click.argument("reference")
@click.option("--session", "session_id", type=int, help="Only this session id.")
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def revoke_sessions(reference: str, session_id: int | None, as_json: bool) -> None:
    """End one session, or all sessions, of an account."""
    from idaas.auth import sessions

    account = resolve_account(reference)
    if session_id is not None:
        row = sessions.get_session(session_id)
        if row is None or row.account_id != account.id:
            raise click.ClickException(f"no session {session_id} for {account.username}")
        sessions.end_session(row, "admin", cli_origin())
        count = 1
    else:
        count = sessions.revoke_all(account.id, "admin", cli_origin())
    emit(
        {"account": account.username, "revoked": count},
        as_json,
        f"Ended {count} session(s) of {account.username}.",
    )


def init_app(app: Flask) -> None:
    """Add the commands to `idaas accounts` and the `idaas sessions` group."""
    for command in (unlock_account, reset_password, require_mfa, reset_mfa):
        if command.name not in accounts_group.commands:
            accounts_group.add_command(command)
    app.cli.add_command(sessions_group)
