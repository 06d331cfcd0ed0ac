"""The token endpoint: client credentials (RFC 6749 §4.4), errors (§5.2), RFC 9068 JWTs."""

from __future__ import annotations

import hashlib
import time
from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet
from sqlalchemy import select

from idaas.applications import service
from idaas.audit.models import AuditEvent
from idaas.config import ConfigError
from idaas.oidc.models import SigningKey
from tests.oidc.helpers import basic, make_client


def _token(
    client: Any,
    data: dict[str, str],
    headers: dict[str, str] | None = None,
    path: str = "/oauth2/token",
) -> Any:
    return client.post(path, data=data, headers=headers or {})


def _verify(client: Any, token: str) -> Any:
    jwks = KeySet.import_key_set(client.get("/oauth2/jwks").get_json())
    return jwt.decode(token, jwks, algorithms=["ES256"])


def test_basic_auth_issues_an_rfc9068_jwt(app, client, leak_guard):
    client_id, secret = make_client("directory:read", "directory:write", leak_guard=leak_guard)
    before = int(time.time())
    response = _token(client, {"grant_type": "client_credentials"}, basic(client_id, secret))
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    body = response.get_json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    assert body["scope"] == "directory:read directory:write"
    assert "refresh_token" not in body
    token = _verify(client, body["access_token"])
    assert token.header["typ"] == "at+jwt"
    assert token.header["alg"] == "ES256"
    assert token.header["kid"]
    claims = token.claims
    assert claims["iss"] == "http://localhost"
    assert claims["aud"] == "http://localhost"
    assert claims["sub"] == claims["client_id"] == client_id
    assert claims["scope"] == "directory:read directory:write"
    assert claims["exp"] - claims["iat"] == 3600
    assert before <= claims["iat"] <= int(time.time())
    assert len(claims["jti"]) >= 16


def test_client_secret_post_and_the_alias_path(app, client, leak_guard):
    client_id, secret = make_client("directory:read", leak_guard=leak_guard)
    response = _token(
        client,
        {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret},
        path="/oauth/token",
    )
    assert response.status_code == 200
    assert response.get_json()["scope"] == "directory:read"


def test_scopes_are_narrowed_on_request_and_never_widened(app, client, leak_guard):
    client_id, secret = make_client("directory:read", "audit:read", leak_guard=leak_guard)
    auth = basic(client_id, secret)
    narrowed = _token(client, {"grant_type": "client_credentials", "scope": "audit:read"}, auth)
    assert narrowed.status_code == 200
    assert narrowed.get_json()["scope"] == "audit:read"
    assert _verify(client, narrowed.get_json()["access_token"]).claims["scope"] == "audit:read"
    for scope in ("directory:write", "directory:read directory:write", "nonsense", " "):
        refused = _token(client, {"grant_type": "client_credentials", "scope": scope}, auth)
        assert refused.status_code == 400, scope
        assert refused.get_json()["error"] == "invalid_scope"


@pytest.mark.parametrize(
    ("data", "auth", "status", "error"),
    [
        ({"grant_type": "client_credentials"}, "wrong", 401, "invalid_client"),
        ({"grant_type": "client_credentials"}, "unknown", 401, "invalid_client"),
        ({"grant_type": "client_credentials"}, None, 401, "invalid_client"),
        (
            {"grant_type": "password", "username": "a", "password": "b"},
            "good",
            400,
            "unsupported_grant_type",
        ),
        ({}, "good", 400, "invalid_request"),
        (
            {"grant_type": "client_credentials", "client_secret": "x"},
            "good",
            400,
            "invalid_request",
        ),
    ],
)
def test_errors_follow_rfc6749_section_5_2(app, client, leak_guard, data, auth, status, error):
    client_id, secret = make_client("directory:read", leak_guard=leak_guard)
    headers = {
        "good": basic(client_id, secret),
        "wrong": basic(client_id, secret[::-1]),
        "unknown": basic("ak_unknown", secret),
        None: {},
    }[auth]
    response = _token(client, data, headers)
    assert response.status_code == status
    assert response.mimetype == "application/json"
    assert response.headers["Cache-Control"] == "no-store"
    body = response.get_json()
    assert body["error"] == error
    assert set(body) <= {"error", "error_description", "error_uri"}
    if status == 401 and auth is not None:
        assert response.headers["WWW-Authenticate"].startswith("Basic ")


def test_repeated_parameters_and_credentials_in_the_url_are_refused(app, client, leak_guard):
    client_id, secret = make_client("directory:read", leak_guard=leak_guard)
    repeated = client.post(
        "/oauth2/token",
        headers=basic(client_id, secret),
        data="grant_type=client_credentials&grant_type=client_credentials",
        content_type="application/x-www-form-urlencoded",
    )
    assert repeated.get_json()["error"] == "invalid_request"
    in_url = client.post(
        f"/oauth2/token?client_id={client_id}&client_secret={secret}",
        data={"grant_type": "client_credentials"},
    )
    assert in_url.status_code == 400
    assert in_url.get_json()["error"] == "invalid_request"
    assert client.get("/oauth2/token").status_code == 405


def test_disabled_or_deleted_clients_get_no_tokens(app, client, leak_guard):
    client_id, secret = make_client("directory:read", leak_guard=leak_guard)
    service.set_enabled("system", client_id, False)
    response = _token(client, {"grant_type": "client_credentials"}, basic(client_id, secret))
    assert response.status_code == 401
    assert response.get_json()["error"] == "invalid_client"
    service.set_enabled("system", client_id, True)
    assert (
        _token(client, {"grant_type": "client_credentials"}, basic(client_id, secret)).status_code
        == 200
    )
    service.delete_client("system", client_id)
    assert (
        _token(client, {"grant_type": "client_credentials"}, basic(client_id, secret)).status_code
        == 401
    )


def test_issued_and_refused_tokens_are_audited(app, client, db, leak_guard):
    client_id, secret = make_client("directory:read", leak_guard=leak_guard)
    _token(client, {"grant_type": "client_credentials"}, basic(client_id, secret))
    _token(client, {"grant_type": "client_credentials"}, basic(client_id, "nope-" + secret))
    _token(client, {"grant_type": "client_credentials"}, basic("api:admin", secret))
    rows = list(
        db.session.scalars(
            select(AuditEvent)
            .where(AuditEvent.action.in_(["oauth2.token_issued", "oauth2.token_refused"]))
            .order_by(AuditEvent.id)
        )
    )
    assert [(r.action, r.outcome, r.actor) for r in rows] == [
        ("oauth2.token_issued", "success", f"api:{client_id}"),
        ("oauth2.token_refused", "failure", f"api:{client_id}"),
        ("oauth2.token_refused", "failure", "anonymous"),  # unknown ids never become actors
    ]
    assert rows[0].details["scope"] == "directory:read"
    assert rows[1].details["error"] == "invalid_client"
    assert rows[2].details["unknown_client_id"] == "api"
    assert service.get_client(client_id).last_used_at is not None


def test_lifetime_is_configurable_and_validated(make_app, leak_guard):
    app = make_app(ACCESS_TOKEN_LIFETIME=120)
    with app.app_context():
        client_id, secret = make_client("directory:read", leak_guard=leak_guard)
        response = app.test_client().post(
            "/oauth2/token",
            headers=basic(client_id, secret),
            data={"grant_type": "client_credentials"},
        )
        assert response.get_json()["expires_in"] == 120
    for bad in (0, 10, 10**6, "soon"):
        with pytest.raises(ConfigError):
            make_app(ACCESS_TOKEN_LIFETIME=bad)


def test_failed_attempts_are_rate_limited_but_successes_are_not(make_app, leak_guard):
    app = make_app(TOKEN_FAILURE_RATE_LIMIT="3 per minute")
    with app.app_context():
        client_id, secret = make_client("directory:read", leak_guard=leak_guard)
        http = app.test_client()
        good = {"headers": basic(client_id, secret), "data": {"grant_type": "client_credentials"}}
        for _ in range(5):
            assert http.post("/oauth2/token", **good).status_code == 200
        bad = {
            "headers": basic(client_id, "x" + secret),
            "data": {"grant_type": "client_credentials"},
        }
        codes = [http.post("/oauth2/token", **bad).status_code for _ in range(4)]
        assert codes == [401, 401, 401, 429]


def test_signing_key_is_generated_once_and_encrypted_at_rest(app, client, db, leak_guard):
    client_id, secret = make_client("directory:read", leak_guard=leak_guard)
    for _ in range(3):
        _token(client, {"grant_type": "client_credentials"}, basic(client_id, secret))
    keys = list(db.session.scalars(select(SigningKey)))
    assert len(keys) == 1
    key = keys[0]
    assert key.alg == "ES256" and key.status == "active"
    assert "d" not in key.public_jwk
    assert '"d"' not in key.private_jwk_encrypted and key.private_jwk_encrypted.startswith("gAAAA")
    jwks = client.get("/oauth2/jwks").get_json()
    assert [k["kid"] for k in jwks["keys"]] == [key.kid]
    assert all("d" not in k for k in jwks["keys"])
    stored = service.get_client(client_id).secret_hash
    assert stored == hashlib.sha256(secret.encode()).hexdigest()


def test_a_second_process_reuses_the_stored_key(make_app, leak_guard):
    first, second = make_app(), make_app()
    with first.app_context():
        from idaas.oidc import keys

        kid_one = keys.ensure_active_key().kid
    with second.app_context():
        from idaas.oidc import keys

        assert keys.ensure_active_key().kid == kid_one
        assert keys.signing_key().kid == kid_one


def test_plain_http_from_a_non_loopback_host_is_refused_not_a_crash(app, client, leak_guard):
    client_id, secret = make_client("directory:read", leak_guard=leak_guard)
    response = client.post(
        "/oauth2/token",
        base_url="http://idaas.example.com",
        headers=basic(client_id, secret),
        data={"grant_type": "client_credentials"},
    )
    assert response.status_code == 400
    assert response.get_json()["error"] == "insecure_transport"
    over_tls = client.post(
        "/oauth2/token",
        base_url="https://idaas.example.com",
        headers=basic(client_id, secret),
        data={"grant_type": "client_credentials"},
    )
    assert over_tls.status_code == 200


def test_concurrent_first_starts_store_one_key(make_app):
    """Two processes generating the first key at once: the partial unique index keeps one."""
    import threading

    apps = [make_app(), make_app()]
    barrier = threading.Barrier(2)
    kids: list[str] = []

    def start(app) -> None:
        with app.app_context():
            from idaas.oidc import keys

            barrier.wait()
            kids.append(keys.ensure_active_key().kid)

    threads = [threading.Thread(target=start, args=(app,)) for app in apps]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(kids) == 2 and kids[0] == kids[1]
    with apps[0].app_context():
        from idaas.extensions import db

        assert db.session.scalar(select(db.func.count()).select_from(SigningKey)) == 1
