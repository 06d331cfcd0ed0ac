"""Fixtures for the SCIM server tests: a bearer-token HTTP helper and a live server."""

from __future__ import annotations

import json as jsonlib
from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.oidc.helpers import bearer, fetch_token, make_client

SCIM = "application/scim+json"
USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
IDAAS = "urn:idaas:params:scim:schemas:extension:idaas:2.0:User"
DEPARTMENT = "urn:idaas:params:scim:schemas:core:2.0:Department"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


class Scim:
    """A test client speaking SCIM with a bearer token."""

    def __init__(self, http: FlaskClient, client_id: str, token: str) -> None:
        self.http = http
        self.client_id = client_id
        self.token = token

    def __call__(
        self,
        method: str,
        path: str,
        json: Any = None,
        headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> Any:
        """Send a request to /scim/v2 with the bearer token (and a SCIM JSON body)."""
        extra: dict[str, Any] = {}
        if json is not None:
            extra["data"] = jsonlib.dumps(json)
            extra["content_type"] = SCIM
        return self.http.open(
            "/scim/v2" + path,
            method=method,
            headers={**bearer(self.token), **(headers or {})},
            **extra,
            **kwargs,
        )


@pytest.fixture
def scim_as(app: Any, client: FlaskClient, leak_guard: Any) -> Any:
    """Factory: a `Scim` helper for a fresh API client with the given scopes."""

    def factory(*scopes: str, name: str = "HR system") -> Scim:
        client_id, secret = make_client(*scopes, name=name, leak_guard=leak_guard)
        token = fetch_token(client, client_id, secret)
        return Scim(client, client_id, token)

    return factory


@pytest.fixture
def scim(scim_as: Any) -> Scim:
    """A `Scim` helper with scim:read and scim:write."""
    return scim_as("scim:read", "scim:write")


def new_user(user_name: str = "bjensen", **extra: Any) -> dict[str, Any]:
    """A minimal SCIM User payload."""
    return {"schemas": [USER], "userName": user_name, **extra}
