"""Helpers shared by the OAuth2 and API tests: make clients, get tokens over HTTP."""

from __future__ import annotations

import base64
from typing import Any

from flask.testing import FlaskClient

from idaas.applications import service


def make_client(*scopes: str, name: str = "Integration", leak_guard: Any = None) -> tuple[str, str]:
    """Create an API client through the service; return (client_id, secret)."""
    client, secret = service.create_client("system", name=name, scopes=list(scopes))
    if leak_guard is not None:
        leak_guard.register(secret)
    return client.client_id, secret


def basic(client_id: str, secret: str) -> dict[str, str]:
    """An `Authorization: Basic` header (RFC 6749 §2.3.1)."""
    raw = f"{client_id}:{secret}".encode()
    return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


def fetch_token(http: FlaskClient, client_id: str, secret: str, scope: str | None = None) -> str:
    """Get an access token with client_secret_basic through the test client."""
    data = {"grant_type": "client_credentials"}
    if scope is not None:
        data["scope"] = scope
    response = http.post("/oauth2/token", data=data, headers=basic(client_id, secret))
    assert response.status_code == 200, response.get_data(as_text=True)
    return str(response.get_json()["access_token"])


def bearer(token: str) -> dict[str, str]:
    """An `Authorization: Bearer` header (RFC 6750 §2.1)."""
    return {"Authorization": f"Bearer {token}"}
