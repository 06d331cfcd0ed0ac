"""The database schema: upgrading it to the newest Alembic migration."""

from __future__ import annotations

from flask import current_app
from flask_migrate import upgrade


def upgrade_database() -> None:
    """Create or upgrade the schema to the latest migration (needs an app context)."""
    upgrade(directory=str(current_app.config["MIGRATIONS_DIRECTORY"]))
