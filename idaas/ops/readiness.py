"""Readiness checks: database reachable and migrations current."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from alembic.config import Config
from alembic.script import ScriptDirectory
from flask import current_app
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from idaas.extensions import db


@cache
def migration_heads(directory: str) -> frozenset[str]:
    """The head revisions of the migration scripts (read once per process)."""
    config = Config()
    config.set_main_option("script_location", directory)
    return frozenset(ScriptDirectory.from_config(config).get_heads())


def problem() -> str | None:
    """Why the app is not ready, or None when it is."""
    try:
        with db.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
            try:
                rows = connection.execute(text("SELECT version_num FROM alembic_version"))
                current = {row[0] for row in rows}
            except SQLAlchemyError:
                return "database schema not created: run `idaas db upgrade`"
    except SQLAlchemyError as exc:
        return f"database unreachable: {type(exc.__cause__ or exc).__name__}"
    heads = migration_heads(str(Path(current_app.config["MIGRATIONS_DIRECTORY"])))
    if current != heads:
        return "database schema is not current: run `idaas db upgrade`"
    return None
