"""Shared fixtures: app, client, runner, db (clean per test), account, admin, live_server.

The suite runs on SQLite by default and on PostgreSQL when IDAAS_TEST_DATABASE_URL is set.
The schema is created once per session through the Alembic migrations, then emptied after
every test.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import create_engine, text

from tests.support.leaks import LeakGuard
from tests.support.live import LiveServer

PASSWORD = "Correct-Horse-42"
ADMIN_PASSWORD = "Admin-Battery-77"
CHEAP_ARGON2 = {"ARGON2_MEMORY_COST": 256, "ARGON2_TIME_COST": 1, "ARGON2_PARALLELISM": 1}


def _reset_postgres(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def _normalise_pg(url: str) -> str:
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


@pytest.fixture(scope="session")
def instance_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A throwaway instance folder (generated keys, SQLite database)."""
    path = tmp_path_factory.mktemp("instance")
    os.environ["IDAAS_INSTANCE_PATH"] = str(path)
    return path


@pytest.fixture(scope="session")
def database_url(instance_dir: Path) -> str:
    """The test database: PostgreSQL from IDAAS_TEST_DATABASE_URL, else a SQLite file."""
    url = os.environ.get("IDAAS_TEST_DATABASE_URL")
    if url:
        url = _normalise_pg(url)
        _reset_postgres(url)
        return url
    return f"sqlite:///{instance_dir / 'test.db'}"


@pytest.fixture(scope="session")
def base_config(database_url: str) -> dict[str, Any]:
    """Configuration every test app starts from."""
    return {
        "ENV": "testing",
        "TESTING": True,
        "DATABASE_URL": database_url,
        "WTF_CSRF_ENABLED": False,
        "RATELIMIT_ENABLED": True,
        "ISSUER": "http://localhost",
        "SERVER_NAME": None,
        **CHEAP_ARGON2,
    }


@pytest.fixture(scope="session")
def _schema(base_config: dict[str, Any]) -> None:
    """Create the schema once from the models (tests/test_migrations.py checks they agree)."""
    from idaas import create_app
    from idaas.extensions import db

    app = create_app(dict(base_config))
    with app.app_context():
        db.create_all()
        db.engine.dispose()


def _empty_all_tables(app: Flask) -> None:
    from idaas.extensions import db

    tables = list(reversed(db.metadata.sorted_tables))
    with db.engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            names = ", ".join(f'"{t.name}"' for t in tables)
            connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            # Self-referencing RESTRICT keys (department.parent_id) block a plain DELETE.
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            for table in tables:
                connection.execute(table.delete())
            connection.commit()
            connection.exec_driver_sql("PRAGMA foreign_keys=ON")
        connection.commit()


@pytest.fixture(scope="session")
def leak_guard() -> Iterator[LeakGuard]:
    """Captures all logs for the session so tests can check that no secret was logged."""
    guard = LeakGuard()
    guard.register(PASSWORD, ADMIN_PASSWORD)
    root = logging.getLogger()
    root.addHandler(guard)
    previous = root.level
    root.setLevel(logging.DEBUG)
    yield guard
    root.removeHandler(guard)
    root.setLevel(previous)


def _find_leaks(leak_guard: LeakGuard) -> list[str]:
    """Registered secrets and stored password hashes found in captured logs or audit rows."""
    import json

    from idaas.audit.models import AuditEvent
    from idaas.directory.models import Account
    from idaas.extensions import db

    hashes = [h for h in db.session.scalars(db.select(Account.password_hash)) if h]
    leak_guard.register(*hashes)
    audit_texts = [
        json.dumps([row.actor, row.action, row.target_id, row.details], ensure_ascii=False)
        for row in db.session.scalars(db.select(AuditEvent))
    ]
    found = leak_guard.find(audit_texts)
    db.session.remove()
    return found


@pytest.fixture
def make_app(base_config: dict[str, Any], _schema: None, leak_guard: LeakGuard) -> Iterator[Any]:
    """Build extra apps with config overrides; all are emptied and disposed at teardown."""
    from idaas import create_app

    apps: list[Flask] = []

    def factory(**overrides: Any) -> Flask:
        app = create_app({**base_config, **overrides})
        apps.append(app)
        return app

    yield factory
    for app in apps:
        with app.app_context():
            from idaas.extensions import db

            db.session.remove()
    leaks: list[str] = []
    primary = next(
        (a for a in apps if a.config["DATABASE_URL"] == base_config["DATABASE_URL"]), None
    )
    if primary is not None:
        with primary.app_context():
            leaks = _find_leaks(leak_guard)
            _empty_all_tables(primary)
    for app in apps:
        with app.app_context():
            from idaas.extensions import db

            db.engine.dispose()
    if leaks:
        pytest.fail(f"secrets leaked into logs or the audit log: {leaks}")


@pytest.fixture
def app(make_app: Any, leak_guard: LeakGuard) -> Iterator[Flask]:
    """The app under test, inside an app context, with an empty database."""
    application = make_app()
    with application.app_context():
        yield application


@pytest.fixture
def db(app: Flask) -> Any:
    """The SQLAlchemy extension bound to the test app."""
    from idaas.extensions import db as database

    return database


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A test client for the app."""
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    """A CLI runner for the app."""
    return app.test_cli_runner()


@pytest.fixture
def account(app: Flask) -> Any:
    """An active account `alice` with password PASSWORD."""
    from idaas.directory import service

    return service.create_account(
        "system",
        username="alice",
        display_name="Alice Wang",
        email="alice@example.com",
        mobile="13800138000",
        password=PASSWORD,
        must_change_password=False,
    )


@pytest.fixture
def admin(app: Flask) -> Any:
    """An administrator `root` with password ADMIN_PASSWORD."""
    from idaas.directory.bootstrap import ensure_administrator

    account, _ = ensure_administrator("system", "root", ADMIN_PASSWORD)
    account.must_change_password = False
    from idaas.extensions import db

    db.session.commit()
    return account


@pytest.fixture
def live_server(app: Flask) -> Iterator[LiveServer]:
    """The test app served over real HTTP on a loopback port."""
    with LiveServer(app) as server:
        yield server


def free_port() -> int:
    """An unused loopback TCP port."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


REQUIRE_ALL = os.environ.get("IDAAS_REQUIRE_ALL") == "1"
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def require(condition: bool, reason: str) -> None:
    """Skip with a reason when something is missing, but fail in CI (IDAAS_REQUIRE_ALL=1)."""
    if condition:
        return
    if REQUIRE_ALL:
        pytest.fail(f"required in CI: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def redis_url() -> str:
    """A Redis database for tests (IDAAS_TEST_REDIS_URL, default redis://127.0.0.1:6379/15)."""
    import redis

    url = os.environ.get("IDAAS_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except redis.RedisError:
        require(False, f"Redis not reachable at {url}")
    return url


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Headless system Chromium driven by Playwright (no browser download)."""
    import shutil

    path = os.environ.get("IDAAS_TEST_CHROMIUM") or shutil.which("chromium")
    require(bool(path), "Chromium not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh browser page (own cookies), Chinese by default like our users' browsers."""
    context = browser.new_context(locale="zh-CN", viewport={"width": 1100, "height": 800})
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


def screenshot(page: Any, name: str) -> Path:
    """Save a full-page screenshot under test-artifacts/screenshots/ and return its path."""
    folder = ARTIFACTS / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


@pytest.fixture
def logged_in(client: FlaskClient, account: Any) -> FlaskClient:
    """A test client signed in (password) as `account`."""
    response = client.post("/login", data={"identifier": "alice", "password": PASSWORD})
    assert response.status_code == 302 and "/login" not in response.location, response.data
    return client
