"""The database schema: upgrading it to the newest Alembic migration."""

from __future__ import annotations

from flask import current_app
from flask_migrate import upgrade


def upgrade_database() -> None:
    """Create or upgrade the schema to the latest migration (needs an app context)."""
    upgrade(directory=str(current_app.config["MIGRATIONS_DIRECTORY"]))


def drop_everything() -> None:
    """Drop every table of the database, Alembic's version table included (demo `--reset`)."""
    from sqlalchemy import MetaData

    from idaas.extensions import db

    tables = MetaData()
    tables.reflect(bind=db.engine)
    tables.drop_all(bind=db.engine)
