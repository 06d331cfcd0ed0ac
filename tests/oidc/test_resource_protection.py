"""Bearer-token protection of /api/v1 (RFC 6750 §3, RFC 9068 §4)."""

from __future__ import annotations

import time

import pytest
from joserfc import jwt
from joserfc.jwk import ECKey

from idaas.applications import service
from idaas.oidc import keys
from tests.oidc.helpers import bearer, fetch_token, make_client


@pytest.fixture
def reader(app, client, leak_guard):
    """(client_id, token) of a client with only directory:read."""
    client_id, secret = make_client("directory:read", leak_guard=leak_guard)
    return client_id, fetch_token(client, client_id, secret)


def _challenge(response) -> str:
    assert response.mimetype == "application/problem+json"
    return response.headers["WWW-Authenticate"]


def test_read_scope_lists_but_cannot_write(client, reader):
    _, token = reader
    assert client.get("/api/v1/accounts", headers=bearer(token)).status_code == 200
    refused = client.post("/api/v1/accounts", json={"username": "bob"}, headers=bearer(token))
    assert refused.status_code == 403
    assert refused.get_json()["error"] == "insufficient_scope"
    challenge = _challenge(refused)
    assert challenge.startswith('Bearer realm="idaas"')
    assert 'error="insufficient_scope"' in challenge and 'scope="directory:write"' in challenge


def test_no_token_gets_a_bare_bearer_challenge(client, app):
    response = client.get("/api/v1/accounts")
    assert response.status_code == 401
    assert _challenge(response) == 'Bearer realm="idaas"'
    basic = client.get("/api/v1/accounts", headers={"Authorization": "Basic YTpi"})
    assert basic.status_code == 401 and _challenge(basic).startswith("Bearer ")


def _mint(claims_override: dict, header_override: dict | None = None, key=None) -> str:
    now = int(time.time())
    claims = {
        "iss": "http://localhost",
        "aud": "http://localhost",
        "sub": "x",
        "client_id": "x",
        "iat": now,
        "exp": now + 600,
        "jti": "j" * 16,
        "scope": "directory:read",
        "client_gen": 1,
        **claims_override,
    }
    signing = key or keys.signing_key()
    header = {"alg": "ES256", "typ": "at+jwt", "kid": signing.kid, **(header_override or {})}
    return jwt.encode(header, claims, signing)


@pytest.mark.parametrize(
    "case",
    [
        "expired",
        "tampered",
        "foreign-key",
        "wrong-typ",
        "wrong-aud",
        "wrong-iss",
        "alg-none",
        "garbage",
    ],
)
def test_bad_tokens_get_invalid_token(client, reader, case):
    client_id, token = reader
    ids = {"sub": client_id, "client_id": client_id}
    if case == "expired":
        past = int(time.time()) - 7200
        bad = _mint({**ids, "iat": past, "exp": past + 3600})
    elif case == "tampered":
        head, payload, signature = token.split(".")
        bad = ".".join(
            [head, payload[:-3] + ("AAA" if payload[-3:] != "AAA" else "BBB"), signature]
        )
    elif case == "foreign-key":
        stranger = ECKey.generate_key("P-256", {"kid": keys.signing_key().kid}, private=True)
        bad = _mint(ids, key=stranger)
    elif case == "wrong-typ":
        bad = _mint(ids, {"typ": "JWT"})
    elif case == "wrong-aud":
        bad = _mint({**ids, "aud": "https://elsewhere"})
    elif case == "wrong-iss":
        bad = _mint({**ids, "iss": "https://elsewhere"})
    elif case == "alg-none":
        head, payload, _ = token.split(".")
        bad = "eyJhbGciOiJub25lIiwidHlwIjoiYXQrand0In0." + payload + "."
    else:
        bad = "not.a.token"
    response = client.get("/api/v1/accounts", headers=bearer(bad))
    assert response.status_code == 401, case
    assert 'error="invalid_token"' in _challenge(response)
    assert response.get_json()["error"] == "invalid_token"


def test_disabled_client_tokens_stop_working_at_once(client, reader):
    client_id, token = reader
    service.set_enabled("system", client_id, False)
    refused = client.get("/api/v1/accounts", headers=bearer(token))
    assert refused.status_code == 401
    assert 'error="invalid_token"' in _challenge(refused)
    service.set_enabled("system", client_id, True)
    # Re-enabling does not revive tokens issued before the client was disabled.
    assert client.get("/api/v1/accounts", headers=bearer(token)).status_code == 401


def test_rotation_and_deletion_invalidate_older_tokens(client, app, leak_guard):
    client_id, secret = make_client("directory:read", leak_guard=leak_guard)
    old = fetch_token(client, client_id, secret)
    _, new_secret = service.rotate_secret("system", client_id)
    leak_guard.register(new_secret)
    assert client.get("/api/v1/accounts", headers=bearer(old)).status_code == 401
    fresh = fetch_token(client, client_id, new_secret)
    assert client.get("/api/v1/accounts", headers=bearer(fresh)).status_code == 200
    service.delete_client("system", client_id)
    assert client.get("/api/v1/accounts", headers=bearer(fresh)).status_code == 401


def test_public_endpoints_need_no_token(client, app):
    assert client.get("/api/v1/openapi.json").status_code == 200
    assert client.get("/oauth2/jwks").status_code == 200


def test_a_well_formed_token_minted_with_our_key_is_accepted(client, reader):
    """Control for the cases above: only the one property under test makes them fail."""
    client_id, _ = reader
    good = _mint({"sub": client_id, "client_id": client_id})
    assert client.get("/api/v1/accounts", headers=bearer(good)).status_code == 200
