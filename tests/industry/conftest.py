"""Fixtures for the digital-factory API: an enabled app, a granted API client, signed calls."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.industry.signing import envelope, signed_headers

# The contract's endpoint index (§1): path -> apiVer.
API_VERSIONS = {
    "/industry/user/account/add": "1.0.1",
    "/industry/user/account/query": "1.0.7",
    "/industry/user/account/get": "1.0.4",
    "/industry/user/account/modify": "1.0.1",
    "/industry/user/account/delete": "1.0.0",
    "/industry/user/organization/tree/get": "1.0.2",
    "/industry/user/organization/add": "1.0.0",
    "/industry/user/organization/modify": "1.0.0",
    "/industry/user/organization/delete": "1.0.0",
    "/industry/user/role/add": "1.0.0",
    "/industry/user/role/modify": "1.0.0",
    "/industry/user/role/delete": "1.0.0",
    "/industry/user/role/all/list": "1.0.1",
    "/industry/user/role/getroleperm": "1.0.0",
    "/industry/user/role/setroleperm": "1.0.0",
    "/industry/app/resource/batch/authenticate": "1.0.0",
    "/industry/app/res/permission/authenticate": "1.0.2",
    "/industry/app/administrator/query": "1.0.2",
    "/industry/account/alieco/get": "1.0.0",
}
ALL_SCOPES = ("industry", "industry:write", "industry:roles")


@pytest.fixture
def app(make_app: Any) -> Iterator[Flask]:
    """The app under test with the digital-factory API enabled."""
    application = make_app(INDUSTRY_API_ENABLED=True)
    with application.app_context():
        yield application


def make_gateway_client(
    scopes: tuple[str, ...] = ALL_SCOPES, name: str = "factory-app"
) -> tuple[str, str]:
    """An API client with `scopes` and a gateway secret: (AppKey, AppSecret)."""
    from idaas.applications import service as clients
    from idaas.industry import keys

    client, _ = clients.create_client("system", name=name, scopes=list(scopes))
    return client.client_id, keys.issue_secret("system", client.client_id)


@dataclass
class Gateway:
    """Signed calls from one API client through the Flask test client."""

    client: FlaskClient
    app_key: str
    app_secret: str

    def post(
        self, path: str, params: dict[str, Any], api_ver: str | None = None, **sign: Any
    ) -> Any:
        """Sign and POST the envelope; return the response."""
        body = envelope(params, api_ver or API_VERSIONS[path])
        headers = signed_headers(self.app_key, self.app_secret, path, body, **sign)
        return self.client.post(path, data=body, headers=headers)

    def call(self, path: str, params: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        """POST and return the JSON envelope of a business answer (HTTP 200)."""
        response = self.post(path, params, **kwargs)
        assert response.status_code == 200, response.get_data(as_text=True)
        document = response.get_json(force=True)
        assert set(document) == {"id", "code", "message", "localizedMsg", "data"}
        return document  # type: ignore[no-any-return]

    def data(self, path: str, params: dict[str, Any], **kwargs: Any) -> Any:
        """POST, require code 200, return `data`."""
        document = self.call(path, params, **kwargs)
        assert document["code"] == 200, document
        assert document["localizedMsg"] is None
        return document["data"]


@pytest.fixture
def gateway(app: Flask, client: FlaskClient, leak_guard: Any) -> Gateway:
    """A fully granted API client (`industry`, `industry:write`, `industry:roles`)."""
    key, secret = make_gateway_client()
    leak_guard.register(secret)
    return Gateway(client, key, secret)
