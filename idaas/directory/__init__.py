"""The directory: departments, accounts, memberships, groups, roles, attributes, identities."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the directory CLI commands (models are imported for the metadata)."""
    from idaas.directory import commands, models  # noqa: F401

    app.cli.add_command(commands.accounts_group)
    app.cli.add_command(commands.departments_group)
