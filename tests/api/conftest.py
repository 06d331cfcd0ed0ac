"""Fixtures for the /api/v1 tests: an HTTP helper holding a token with the scopes asked for."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.oidc.helpers import bearer, fetch_token, make_client


class Api:
    """A test client that sends a bearer token and JSON."""

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
        """Send a request to /api/v1 with the bearer token."""
        return self.http.open(
            "/api/v1" + path,
            method=method,
            json=json,
            headers={**bearer(self.token), **(headers or {})},
            **kwargs,
        )


@pytest.fixture
def api_as(app: Any, client: FlaskClient, leak_guard: Any) -> Any:
    """Factory: an `Api` for a fresh client with the given scopes."""

    def factory(*scopes: str) -> Api:
        client_id, secret = make_client(*scopes, leak_guard=leak_guard)
        return Api(client, client_id, fetch_token(client, client_id, secret))

    return factory


@pytest.fixture
def api(api_as: Any) -> Api:
    """An `Api` with directory:read and directory:write."""
    return api_as("directory:read", "directory:write")
