"""The database schema: upgrading it to the newest Alembic migration."""

from __future__ import annotations

from typing import Any

from flask import current_app
from flask_migrate import upgrade


def applies_to(dialect: str, kind: str, item: Any, reflected: bool) -> bool:
    """Whether autogenerate should compare a schema item on `dialect`.

    Alembic ignores `ddl_if(dialect=...)`, so an index made only on PostgreSQL (the accounts'
    trigram indexes) would look missing on SQLite; this filter leaves it out there.
    """
    condition = getattr(item, "_ddl_if", None)
    wanted = getattr(condition, "dialect", None)
    if kind != "index" or reflected or wanted is None:
        return True
    return dialect in ((wanted,) if isinstance(wanted, str) else tuple(wanted))


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
