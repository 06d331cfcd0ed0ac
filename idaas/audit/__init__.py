"""Append-only audit log: `audit.record(...)` and retention."""

from __future__ import annotations

from flask import Flask

from idaas.audit.service import purge_expired, record

__all__ = ["init_app", "purge_expired", "record"]


def init_app(app: Flask) -> None:
    """Register the audit CLI commands."""
    from idaas.audit import commands

    app.cli.add_command(commands.audit_group)
