"""Issue 11 finding 18: protocol gaps (burnt codes, offline_access, RFC 9207 iss, CORS, caching)."""

from __future__ import annotations

from tests.oidc.support import (
    authorize_url,
    exchange,
    get_code,
    pkce,
    query_of,
    register,
)


def test_f18_code_is_burnt_by_a_failed_pkce_check(logged_in, leak_guard):
    client_id, secret = register(leak_guard)
    verifier, challenge = pkce()
    code = get_code(logged_in, client_id, challenge)
    wrong = exchange(logged_in, client_id, secret, code, pkce()[0])
    assert wrong.status_code == 400
    retry = exchange(logged_in, client_id, secret, code, verifier)
    assert retry.status_code == 400 and retry.get_json()["error"] == "invalid_grant"


def test_f18_code_is_burnt_by_a_wrong_redirect_uri(logged_in, leak_guard):
    client_id, secret = register(leak_guard)
    verifier, challenge = pkce()
    code = get_code(logged_in, client_id, challenge)
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": "https://rp.example.com/other",
        "client_id": client_id,
        "client_secret": secret,
        "code_verifier": verifier,
    }
    assert logged_in.post("/oauth2/token", data=data).status_code == 400
    assert exchange(logged_in, client_id, secret, code, verifier).status_code == 400


def test_f18_refresh_token_only_with_offline_access(logged_in, leak_guard):
    client_id, secret = register(leak_guard)
    verifier, challenge = pkce()
    code = get_code(logged_in, client_id, challenge, scope="openid profile")
    body = exchange(logged_in, client_id, secret, code, verifier).get_json()
    leak_guard.register(body["access_token"], body["id_token"])
    assert "refresh_token" not in body
    verifier, challenge = pkce()
    code = get_code(logged_in, client_id, challenge, scope="openid offline_access")
    body = exchange(logged_in, client_id, secret, code, verifier).get_json()
    leak_guard.register(body["access_token"], body["id_token"], body["refresh_token"])
    assert body["refresh_token"]


def test_f18_iss_in_authorization_responses_and_advertised(logged_in, leak_guard):
    client_id, _ = register(leak_guard)
    _, challenge = pkce()
    success = logged_in.get(authorize_url(client_id, challenge))
    assert query_of(success.location)["iss"] == "http://localhost"
    failure = logged_in.get(authorize_url(client_id, None))  # PKCE missing: error response
    assert query_of(failure.location)["iss"] == "http://localhost"
    document = logged_in.get("/.well-known/openid-configuration").get_json()
    assert document["authorization_response_iss_parameter_supported"] is True


def test_f18_cors_without_credentials_on_machine_endpoints(client):
    origin = {"Origin": "https://spa.example.com"}
    for path in ("/.well-known/openid-configuration", "/oauth2/jwks"):
        response = client.get(path, headers=origin)
        assert response.headers["Access-Control-Allow-Origin"] == "*"
        assert "Access-Control-Allow-Credentials" not in response.headers
    for path in ("/oauth2/token", "/oauth2/userinfo", "/oauth2/revoke", "/oauth2/introspect"):
        preflight = client.options(
            path,
            headers={
                **origin,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization",
            },
        )
        assert preflight.status_code == 200, path
        assert preflight.headers["Access-Control-Allow-Origin"] == "*"
        assert "Authorization" in preflight.headers["Access-Control-Allow-Headers"]
    assert "Access-Control-Allow-Origin" not in client.get("/login", headers=origin).headers


def test_i18_jwks_and_discovery_are_cached_with_etags(client):
    for path in ("/.well-known/openid-configuration", "/oauth2/jwks"):
        first = client.get(path)
        etag = first.headers["ETag"]
        again = client.get(path, headers={"If-None-Match": etag})
        assert again.status_code == 304 and again.headers["ETag"] == etag


def test_i18_warm_jwks_and_discovery_make_no_sql_statements(make_app):
    """The constant documents come from the per-process cache between generation checks."""
    from sqlalchemy import event

    from idaas.extensions import db

    app = make_app(KEY_CACHE_CHECK_SECONDS=60, KEY_PUBLISH_SECONDS=120)
    http = app.test_client()
    with app.app_context():
        assert http.get("/oauth2/jwks").status_code == 200  # creates the first key, warms up
        http.get("/.well-known/openid-configuration")
        statements: list[str] = []

        def count(conn, cursor, statement, *args):
            statements.append(statement)

        event.listen(db.engine, "before_cursor_execute", count)
        try:
            for _ in range(5):
                assert http.get("/oauth2/jwks").status_code == 200
                assert http.get("/.well-known/openid-configuration").status_code == 200
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
        assert statements == []
