"""Fixtures for the admin console: a signed-in client per admin role."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.conftest import ADMIN_PASSWORD, PASSWORD

ROLE_PASSWORD = "Role-Keeper-2026"


def sign_in(client: FlaskClient, username: str, password: str) -> FlaskClient:
    """Sign `client` in with a password; assert it worked."""
    response = client.post("/login", data={"identifier": username, "password": password})
    assert response.status_code == 302 and "/login" not in response.location, response.data
    return client


@pytest.fixture
def admin_client(app: Any, admin: Any) -> FlaskClient:
    """A client signed in as the super admin `root` (made by `ensure_administrator`)."""
    return sign_in(app.test_client(), "root", ADMIN_PASSWORD)


@pytest.fixture
def role_client(app: Any, admin: Any) -> Callable[[str], tuple[FlaskClient, Any]]:
    """Make an account holding one admin role (granted by root) and sign it in."""
    from idaas.admin import roles
    from idaas.directory import service

    def make(role: str | None) -> tuple[FlaskClient, Any]:
        username = f"{role or 'nobody'}-user".replace("_", "-")
        account = service.create_account(
            "system",
            username=username,
            display_name=f"{role} person",
            password=ROLE_PASSWORD,
            must_change_password=False,
        )
        if role:
            roles.grant(f"admin:{admin.id}", account.id, role)
        return sign_in(app.test_client(), username, ROLE_PASSWORD), account

    return make


__all__ = ["PASSWORD", "sign_in"]


@pytest.fixture
def api_as(app: Any, leak_guard: Any) -> Any:
    """Factory: a bearer-token API caller for a fresh client with the given scopes."""
    from tests.api.conftest import Api
    from tests.oidc.helpers import fetch_token, make_client

    http = app.test_client()

    def factory(*scopes: str) -> Any:
        client_id, secret = make_client(*scopes, leak_guard=leak_guard)
        return Api(http, client_id, fetch_token(http, client_id, secret))

    return factory
