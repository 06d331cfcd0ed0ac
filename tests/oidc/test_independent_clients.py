"""The token endpoint driven by independent OAuth2 client libraries over real HTTP."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
import requests
from authlib.integrations.requests_client import OAuth2Session
from oauthlib.oauth2 import BackendApplicationClient
from requests_oauthlib import OAuth2Session as OAuthlibSession

from tests.oidc.helpers import make_client


def test_authlib_client_with_basic_and_post_auth(live_server, leak_guard):
    client_id, secret = make_client("directory:read", leak_guard=leak_guard)
    token_url = f"{live_server.url}/oauth2/token"
    for method in ("client_secret_basic", "client_secret_post"):
        with OAuth2Session(
            client_id, secret, token_endpoint_auth_method=method, scope="directory:read"
        ) as session:
            token = session.fetch_token(token_url, grant_type="client_credentials")
            assert token["token_type"] == "Bearer"
            assert token["scope"] == "directory:read"
            listed = session.get(f"{live_server.url}/api/v1/accounts", timeout=10)
            assert listed.status_code == 200
            assert listed.json() == {"items": [], "next_cursor": None}


@pytest.fixture
def quiet_oauthlib() -> Iterator[None]:
    """requests-oauthlib logs the token request body (with the secret) at DEBUG: it is the
    client side, another process in real life, so keep it out of our server's log capture."""
    logger = logging.getLogger("requests_oauthlib")
    previous = logger.level
    logger.setLevel(logging.INFO)
    yield
    logger.setLevel(previous)


def test_requests_oauthlib_backend_application_flow(
    live_server, leak_guard, monkeypatch, quiet_oauthlib
):
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")  # oauthlib insists on https; loopback
    client_id, secret = make_client("directory:read", "directory:write", leak_guard=leak_guard)
    session = OAuthlibSession(client=BackendApplicationClient(client_id=client_id))
    token = session.fetch_token(
        f"{live_server.url}/oauth/token",
        client_id=client_id,
        client_secret=secret,
        include_client_id=True,
    )
    assert set(token["scope"]) == {"directory:read", "directory:write"}
    created = session.post(
        f"{live_server.url}/api/v1/departments", json={"name": "Sales"}, timeout=10
    )
    assert created.status_code == 201
    assert created.headers["Location"].endswith(f"/api/v1/departments/{created.json()['id']}")


def test_authlib_client_sees_rfc6749_errors(live_server, leak_guard):
    client_id, secret = make_client("directory:read", leak_guard=leak_guard)
    with OAuth2Session(client_id, secret + "x") as session:
        try:
            session.fetch_token(f"{live_server.url}/oauth2/token", grant_type="client_credentials")
        except Exception as error:  # authlib raises OAuthError with the RFC error code
            assert getattr(error, "error", None) == "invalid_client"
        else:  # pragma: no cover
            raise AssertionError("a wrong secret was accepted")
    plain = requests.post(
        f"{live_server.url}/oauth2/token",
        timeout=10,
        data={
            "grant_type": "client_credentials",
            "client_id": client_id,
            "client_secret": secret,
            "scope": "directory:write",
        },
    )
    assert plain.status_code == 400 and plain.json()["error"] == "invalid_scope"
