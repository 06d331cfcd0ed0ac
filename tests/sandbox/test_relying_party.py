"""The demo relying party verifies back-channel logout tokens like a strict RP would."""

import time
import uuid

import httpx
import pytest
from flask import Flask, jsonify
from joserfc import jwt
from joserfc.jwk import ECKey

from idaas.sandbox.relying_party import BACKCHANNEL_EVENT, create_relying_party
from tests.support.live import LiveServer


@pytest.fixture
def fake_op():
    """A stand-in OP publishing discovery and a JWKS (the RP's only view of the issuer)."""
    key = ECKey.generate_key("P-256", parameters={"kid": "k1", "use": "sig", "alg": "ES256"})
    op = Flask("fake_op")
    server = LiveServer(op)
    issuer = server.url

    @op.get("/.well-known/openid-configuration")
    def discovery():
        return jsonify(
            issuer=issuer,
            jwks_uri=f"{issuer}/jwks",
            authorization_endpoint=f"{issuer}/authorize",
            token_endpoint=f"{issuer}/token",
            end_session_endpoint=f"{issuer}/logout",
        )

    @op.get("/jwks")
    def jwks():
        return jsonify(keys=[key.as_dict(private=False)])

    with server:
        yield issuer, key


def logout_token(issuer, key, **overrides):
    claims = {
        "iss": issuer,
        "aud": "demo",
        "iat": int(time.time()),
        "jti": str(uuid.uuid4()),
        "sid": "session-1",
        "events": {BACKCHANNEL_EVENT: {}},
    }
    claims.update(overrides)
    claims = {k: v for k, v in claims.items() if v is not None}
    return jwt.encode({"alg": "ES256", "kid": "k1"}, claims, key)


@pytest.mark.parametrize(
    ("overrides", "accepted"),
    [
        ({}, True),
        ({"nonce": "n"}, False),
        ({"aud": "someone-else"}, False),
        ({"events": {"other": {}}}, False),
        ({"sid": None}, False),
    ],
)
def test_backchannel_logout_token_checks(fake_op, overrides, accepted):
    issuer, key = fake_op
    rp = create_relying_party(issuer, "demo", "secret", public_base="http://rp.invalid")
    with LiveServer(rp) as server:
        response = httpx.post(
            f"{server.url}/backchannel-logout",
            data={"logout_token": logout_token(issuer, key, **overrides)},
        )
        assert response.status_code == (200 if accepted else 400)
        received = httpx.get(f"{server.url}/_rp/state").json()["logouts"]
        assert len(received) == (1 if accepted else 0)


def test_a_token_signed_by_another_key_is_refused(fake_op):
    issuer, _ = fake_op
    stranger = ECKey.generate_key("P-256", parameters={"kid": "k1"})
    rp = create_relying_party(issuer, "demo", "secret", public_base="http://rp.invalid")
    with LiveServer(rp) as server:
        response = httpx.post(
            f"{server.url}/backchannel-logout",
            data={"logout_token": logout_token(issuer, stranger)},
        )
        assert response.status_code == 400


def test_initiate_login_only_for_our_issuer(fake_op):
    issuer, _ = fake_op
    rp = create_relying_party(issuer, "demo", "secret", public_base="http://rp.invalid")
    client = rp.test_client()
    assert client.get("/initiate", query_string={"iss": "https://evil.example"}).status_code == 400
    response = client.get("/initiate", query_string={"iss": issuer, "login_hint": "alice"})
    location = response.headers["Location"]
    assert location.startswith(f"{issuer}/authorize?")
    assert "code_challenge_method=S256" in location and "login_hint=alice" in location
    assert "nonce=" in location and "state=" in location
