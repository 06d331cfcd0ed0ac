"""The embedded SQLite database runs in WAL mode with foreign keys enforced."""

import pytest
from sqlalchemy import text

from idaas.extensions import db


@pytest.mark.sqlite_only
def test_sqlite_uses_wal_and_foreign_keys(make_app, tmp_path):
    app = make_app(DATABASE_URL=f"sqlite:///{tmp_path / 'pragmas.db'}")
    with app.app_context(), db.engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
        db.engine.dispose()
