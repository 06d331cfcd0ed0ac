"""CLI: `idaas accounts unlock|reset-password|require-mfa|reset-mfa`, `idaas sessions ...`."""

from __future__ import annotations

import click
from flask import Flask

from idaas.cli_support import cli_origin, emit, emit_rows
from idaas.directory import service as directory
from idaas.directory.commands import account_command, accounts_group
from idaas.directory.models import Account


@account_command(accounts_group, "unlock")
def unlock_account(account: Account, as_json: bool) -> None:
    """Lift a sign-in lockout (after too many wrong passwords)."""
    from idaas.auth import lockout

    was_locked = lockout.unlock(cli_origin(), account.id)
    emit(
        {"account": account.username, "was_locked": was_locked},
        as_json,
        f"Account {account.username} unlocked."
        if was_locked
        else f"Account {account.username} was not locked; failure count cleared.",
    )


@account_command(accounts_group, "reset-password")
@click.option("--password", help="The new password (generated when omitted).")
@click.option(
    "--must-change/--no-must-change",
    default=True,
    show_default=True,
    help="Ask for a new password at the next sign-in.",
)
def reset_password(
    account: Account, password: str | None, must_change: bool, as_json: bool
) -> None:
    """Set a new password (ends the account's sessions); prints a generated one once."""
    from idaas.directory.bootstrap import generate_password

    generated = None if password else generate_password()
    directory.set_password(
        cli_origin(), account.id, password or generated or "", must_change=must_change
    )
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


@account_command(accounts_group, "require-mfa")
@click.option("--on/--off", "required", default=True, show_default=True)
def require_mfa(account: Account, required: bool, as_json: bool) -> None:
    """Require (or stop requiring) a second factor for one account."""
    from idaas.auth import mfa

    mfa.set_required(cli_origin(), account.id, required)
    emit(
        {"account": account.username, "mfa_required": required},
        as_json,
        f"MFA {'required' if required else 'optional'} for {account.username}.",
    )


@account_command(accounts_group, "reset-mfa")
def reset_mfa(account: Account, as_json: bool) -> None:
    """Remove an account's authenticator and recovery codes (it must enrol again if required)."""
    from idaas.auth import mfa

    mfa.reset(cli_origin(), account.id)
    emit({"account": account.username}, as_json, f"MFA reset for {account.username}.")


@click.group("sessions")
def sessions_group() -> None:
    """Inspect and end sign-in sessions."""


@account_command(sessions_group, "list")
def list_sessions(account: Account, as_json: bool) -> None:
    """List an account's live sessions."""
    from idaas.auth import sessions

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
    emit_rows(
        rows,
        as_json,
        lambda r: f"{r['id']:>6}  {r['last_seen_at']}  {r['ip'] or '-':<16} {r['acr']}",
        "No live sessions.",
    )


@account_command(sessions_group, "revoke")
@click.option("--session", "session_id", type=int, help="Only this session id.")
def revoke_sessions(account: Account, session_id: int | None, as_json: bool) -> None:
    """End one session, or all sessions, of an account."""
    from idaas.auth import sessions

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
    """Add the `idaas sessions` group (the account commands join `idaas accounts` on import)."""
    app.cli.add_command(sessions_group)
