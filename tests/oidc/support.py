"""Helpers for the OIDC tests: register apps, drive the code flow with PKCE, read tokens."""

from __future__ import annotations

import base64
import hashlib
import secrets
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from flask.testing import FlaskClient

from idaas.applications import apps

REDIRECT = "https://rp.example.com/callback"


def register(leak_guard: Any = None, **fields: Any) -> tuple[str, str | None]:
    """Create an application through the service; return (client_id, secret)."""
    fields.setdefault("name", "RP")
    fields.setdefault("redirect_uris", [REDIRECT])
    fields.setdefault("consent_required", False)
    app, secret = apps.create_application("system", **fields)
    if secret and leak_guard is not None:
        leak_guard.register(secret)
    return app.client_id, secret


def pkce() -> tuple[str, str]:
    """A PKCE verifier and its S256 challenge (RFC 7636 §4.1-4.2)."""
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).decode().rstrip("=")


def authorize_url(client_id: str, challenge: str | None, **extra: str) -> str:
    """An authorization request URL (OIDC Core §3.1.2.1)."""
    params = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": REDIRECT,
        "scope": "openid profile email offline_access",
        "state": "st-1",
        "nonce": secrets.token_urlsafe(8),
    }
    if challenge:
        params.update(code_challenge=challenge, code_challenge_method="S256")
    params.update(extra)
    return "/oauth2/authorize?" + urlencode({k: v for k, v in params.items() if v is not None})


def query_of(location: str) -> dict[str, str]:
    """The query parameters of a redirect."""
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def get_code(http: FlaskClient, client_id: str, challenge: str | None, **extra: str) -> str:
    """Run the authorization request with a signed-in client; return the code."""
    response = http.get(authorize_url(client_id, challenge, **extra))
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    assert response.location.startswith(REDIRECT), response.location
    params = query_of(response.location)
    assert "code" in params, params
    return params["code"]


def exchange(
    http: FlaskClient, client_id: str, secret: str | None, code: str, verifier: str | None
) -> Any:
    """The token request (RFC 6749 §4.1.3), client_secret_post or public."""
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT}
    data["client_id"] = client_id
    if secret:
        data["client_secret"] = secret
    if verifier:
        data["code_verifier"] = verifier
    return http.post("/oauth2/token", data=data)


def refresh(http: FlaskClient, client_id: str, secret: str | None, token: str) -> Any:
    """A refresh request (RFC 6749 §6)."""
    data = {"grant_type": "refresh_token", "refresh_token": token, "client_id": client_id}
    if secret:
        data["client_secret"] = secret
    return http.post("/oauth2/token", data=data)
