"""Fixtures for the digital-factory API: an enabled app, a granted API client, signed calls."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
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
class HttpResponse:
    """An httpx response with the Flask test-client accessors the tests use."""

    response: httpx.Response

    @property
    def status_code(self) -> int:
        """The HTTP status."""
        return self.response.status_code

    @property
    def headers(self) -> httpx.Headers:
        """The response headers."""
        return self.response.headers

    def get_data(self, as_text: bool = False) -> Any:
        """The body."""
        return self.response.text if as_text else self.response.content

    def get_json(self, force: bool = False) -> Any:
        """The body as JSON."""
        return self.response.json()


@dataclass
class HttpClient:
    """POSTs over real HTTP to a live server (what a factory application does)."""

    url: str

    def post(self, path: str, data: bytes, headers: dict[str, str]) -> HttpResponse:
        """POST `data` to `path`."""
        return HttpResponse(httpx.post(self.url + path, content=data, headers=headers, timeout=30))


@dataclass
class Gateway:
    """Signed calls from one API client, over real HTTP or through the Flask test client."""

    client: FlaskClient | HttpClient
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
def gateway(app: Flask, live_server: Any, leak_guard: Any) -> Gateway:
    """A fully granted API client (`industry`, `industry:write`, `industry:roles`), calling the
    app over real HTTP."""
    key, secret = make_gateway_client()
    leak_guard.register(secret)
    return Gateway(HttpClient(live_server.url), key, secret)
