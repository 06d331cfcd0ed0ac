"""The Alembic migrations build the same working schema as the models, on SQLite and PostgreSQL."""

import os

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from idaas import create_app
from idaas.extensions import db


def _migrated_app(url, base_config):
    app = create_app({**base_config, "DATABASE_URL": url})
    with app.app_context():
        upgrade(directory=str(app.config["MIGRATIONS_DIRECTORY"]))
    return app


def _assert_models_match(app):
    with app.app_context(), db.engine.connect() as connection:
        from idaas.schema import applies_to

        dialect = connection.dialect.name
        context = MigrationContext.configure(
            connection,
            opts={
                "compare_type": True,
                "include_object": lambda item, name, kind, reflected, compare_to: applies_to(
                    dialect, kind, item, reflected
                ),
            },
        )
        differences = compare_metadata(context, db.metadata)
        assert differences == [], f"models and migrations disagree: {differences}"


def _assert_schema_works(app):
    from idaas.directory import service

    with app.app_context():
        department = service.create_department("system", name="总部")
        child = service.create_department("system", name="研发", parent_id=department.id)
        account = service.create_account(
            "system", username="mig", mobile="13800138000", memberships=[child.id]
        )
        service.move_department("system", child.id, None)
        assert service.list_accounts(department_id=child.id)[0].id == account.id


def _dispose(app):
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def test_sqlite_migrations_match_models_and_downgrade(tmp_path, base_config):
    url = f"sqlite:///{tmp_path / 'migrated.db'}"
    app = _migrated_app(url, base_config)
    try:
        _assert_models_match(app)
        _assert_schema_works(app)
        with app.app_context():
            downgrade(directory=str(app.config["MIGRATIONS_DIRECTORY"]), revision="base")
            assert set(inspect(db.engine).get_table_names()) == {"alembic_version"}
            upgrade(directory=str(app.config["MIGRATIONS_DIRECTORY"]))
    finally:
        _dispose(app)


@pytest.mark.postgresql_only
def test_postgresql_migrations_match_models(base_config):
    from tests.conftest import require

    url = os.environ.get("IDAAS_TEST_DATABASE_URL")
    require(
        bool(url) and url.startswith(("postgresql", "postgres://")),
        "IDAAS_TEST_DATABASE_URL must name a PostgreSQL database (PostgreSQL pass)",
    )
    assert url is not None
    target = make_url(url.replace("postgresql://", "postgresql+psycopg://", 1))
    name = f"{target.database}_migrations"
    admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    app = None
    try:
        app = _migrated_app(
            target.set(database=name).render_as_string(hide_password=False), base_config
        )
        _assert_models_match(app)
        _assert_schema_works(app)
    finally:
        if app is not None:
            _dispose(app)
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
