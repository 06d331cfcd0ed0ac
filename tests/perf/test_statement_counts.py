"""SQL statements per request on the hot OAuth2/OIDC paths (issue 18): a regression fails here.

Timings are measured by `bench/`; statement counts are deterministic, so they are pinned here
(each after a warm-up request, as in steady state: keys and documents cached).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import Flask
from sqlalchemy import event

from idaas.extensions import db
from tests.oidc.helpers import basic, bearer, fetch_token, make_client
from tests.oidc.support import exchange, get_code, pkce, register


@contextmanager
def statements(app: Flask) -> Iterator[list[str]]:
    """The SQL statements the engine executes inside the block (first words, for messages).

    The tests run inside one app context (one SQLAlchemy session): it is emptied first.
    """
    seen: list[str] = []

    def _record(conn: Any, cursor: Any, sql: str, *args: Any) -> None:
        seen.append(" ".join(sql.split()[:4]))

    engine = db.engine
    db.session.expunge_all()  # as in production, where each request starts with a new session
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


def test_client_credentials_token_reads_the_client_and_writes_its_audit_row(app, client):
    client_id, secret = make_client("directory:read")
    fetch_token(client, client_id, secret)
    with statements(app) as seen:
        fetch_token(client, client_id, secret)
    assert len(seen) == 2, seen  # the client; the audit row (token issued, with its jti)
    assert seen[1].startswith("INSERT INTO audit_event"), seen


def test_introspection_of_a_client_credentials_token(app, client):
    client_id, secret = make_client("tokens:introspect")
    token = fetch_token(client, client_id, secret)
    auth = basic(client_id, secret)
    client.post("/oauth2/introspect", data={"token": token}, headers=auth)
    with statements(app) as seen:
        response = client.post("/oauth2/introspect", data={"token": token}, headers=auth)
    assert response.get_json()["active"] is True
    # the introspecting client, the token's client (one query when they are the same)
    assert len(seen) == 1, seen


def test_code_flow_authorize_token_userinfo_introspection(app, logged_in):
    client_id, secret = register()
    verifier, challenge = pkce()
    first = get_code(logged_in, client_id, challenge)
    warm = exchange(logged_in, client_id, secret, first, verifier)
    logged_in.get("/oauth2/userinfo", headers=bearer(warm.get_json()["access_token"]))
    with statements(app) as authorize:
        code = get_code(logged_in, client_id, challenge)
    with statements(app) as token:
        body = exchange(logged_in, client_id, secret, code, verifier).get_json()
    with statements(app) as userinfo:
        response = logged_in.get("/oauth2/userinfo", headers=bearer(body["access_token"]))
    assert response.status_code == 200
    with statements(app) as introspection:
        active = logged_in.post(
            "/oauth2/introspect",
            data={"token": body["access_token"], "client_id": client_id, "client_secret": secret},
        ).get_json()["active"]
    assert active is True
    # session, account (+ memberships), app, nonce (replay store, codes), audit, code,
    # nonce mark, RP session
    assert len(authorize) == 10, authorize
    # app, code, claim, account, audit, token row
    assert len(token) == 6, token
    # token + account + app in one query
    assert len(userinfo) == 1, userinfo
    # the introspecting app, the token's row, the row with its account and app
    assert len(introspection) == 3, introspection


def test_portal_home_counts_sessions_without_loading_them(app, logged_in):
    from tests.conftest import PASSWORD

    home = "/portal/"
    logged_in.get(home)
    with statements(app) as one_session:
        assert logged_in.get(home).status_code == 200
    for _ in range(5):  # five more sign-ins of the same account elsewhere
        other = app.test_client()
        other.post("/login", data={"identifier": "alice", "password": PASSWORD})
    with statements(app) as six_sessions:
        response = logged_in.get(home)
    assert response.status_code == 200
    assert len(six_sessions) == len(one_session), (one_session, six_sessions)
    assert any(s.upper().startswith("SELECT COUNT(") for s in six_sessions), six_sessions
