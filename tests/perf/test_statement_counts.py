"""SQL statements per request on the hot OAuth2/OIDC paths (issue 18): a regression fails here.

Timings are measured by `bench/`; statement counts are deterministic, so they are pinned here.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import Flask
from sqlalchemy import event

from idaas.extensions import db
from tests.oidc.helpers import basic, fetch_token, make_client
from tests.oidc.support import exchange, get_code, pkce, register


@contextmanager
def statements(app: Flask) -> Iterator[list[str]]:
    """Collect the SQL statements the engine executes inside the block (BEGIN/COMMIT excluded)."""
    seen: list[str] = []

    def _record(conn: Any, cursor: Any, sql: str, *args: Any) -> None:
        seen.append(" ".join(sql.split())[:150])

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", _record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", _record)


def test_discovery_and_jwks_make_no_statement(app, client):
    client.get("/oauth2/jwks")
    client.get("/.well-known/openid-configuration")
    with statements(app) as seen:
        assert client.get("/.well-known/openid-configuration").status_code == 200
        assert client.get("/oauth2/jwks").status_code == 200
    assert seen == []


def test_client_credentials_token(app, client):
    client_id, secret = make_client("directory:read")
    fetch_token(client, client_id, secret)
    with statements(app) as seen:
        fetch_token(client, client_id, secret)
    print(seen)
    assert len(seen) == 0


def test_introspection(app, client):
    client_id, secret = make_client("tokens:introspect")
    token = fetch_token(client, client_id, secret)
    with statements(app) as seen:
        response = client.post(
            "/oauth2/introspect", data={"token": token}, headers=basic(client_id, secret)
        )
    assert response.get_json()["active"] is True
    print(seen)
    assert len(seen) == 0


def test_code_flow_and_userinfo(app, logged_in):
    client_id, secret = register()
    verifier, challenge = pkce()
    warm = get_code(logged_in, client_id, challenge)
    exchange(logged_in, client_id, secret, warm, verifier)
    with statements(app) as authorize:
        code = get_code(logged_in, client_id, challenge)
    with statements(app) as token:
        body = exchange(logged_in, client_id, secret, code, verifier).get_json()
    with statements(app) as userinfo:
        response = logged_in.get(
            "/oauth2/userinfo", headers={"Authorization": "Bearer " + body["access_token"]}
        )
    assert response.status_code == 200
    for name, seen in (("authorize", authorize), ("token", token), ("userinfo", userinfo)):
        print("\n==", name, len(seen)); print("\n".join(seen))
    assert 0
