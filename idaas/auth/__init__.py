"""Sign-in: server-side sessions, auth sources, /login, MFA, password life-cycle, /logout."""

from __future__ import annotations

from typing import Any

from flask import Flask, g, has_request_context

from idaas.directory import signals


def _on_account_deactivated(
    sender: Flask, *, account_id: int, status: str, origin: str, **extra: Any
) -> None:
    """An account was disabled, left or deleted: end all its sessions in the same transaction."""
    from idaas.auth import sessions

    if status == "deleted":
        return  # the rows went with the account (ON DELETE CASCADE)
    sessions.end_all(account_id, f"account_{status}", origin)


def _on_password_changed(
    sender: Flask, *, account_id: int, origin: str, reset: bool, **extra: Any
) -> None:
    """A password changed: end the account's other sessions and forget remembered devices."""
    from idaas.auth import mfa, sessions

    keep = None
    if has_request_context() and origin == f"user:{account_id}":
        row = g.get("idaas_session")
        if row is not None and row.account_id == account_id:
            keep = row.id
            sessions.rotate(row)
    mfa.forget_devices(account_id)
    sessions.end_all(
        account_id, "password_reset" if reset else "password_changed", origin, keep=keep
    )


def _signed_in_account() -> Any:
    """The signed-in account for templates; None when it cannot be known (e.g. database down)."""
    from sqlalchemy.exc import SQLAlchemyError

    from idaas.auth import sessions

    try:
        return sessions.current_account()
    except SQLAlchemyError:
        return None


def init_app(app: Flask) -> None:
    """Models, sources, the session cookie, the blueprint, directory signals and CLI commands."""
    from idaas.auth import commands, models, reset_models, reset_views, sessions, sources, views  # noqa: F401

    sessions.init_app(app)
    app.context_processor(lambda: {"signed_in_account": _signed_in_account})
    sources.init_app(app)
    app.register_blueprint(views.bp)
    reset_views.init_app(app)
    signals.account_deactivated.connect(_on_account_deactivated)
    signals.password_changed.connect(_on_password_changed)
    commands.init_app(app)
