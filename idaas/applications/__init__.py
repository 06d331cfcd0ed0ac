"""Applications: API clients (AK/AS), integration requests and downstream OIDC applications."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the `idaas clients` commands (models are imported for the metadata)."""
    from idaas.applications import commands, models  # noqa: F401

    app.cli.add_command(commands.clients_group)
    app.cli.add_command(commands.apps_group)
