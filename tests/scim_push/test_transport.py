"""A SCIM target's transport: https unless loopback or allowed, and no redirect followed."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from sqlalchemy import select

from idaas.applications.errors import InvalidInput
from idaas.directory import service
from idaas.events.models import Delivery
from idaas.extensions import db
from tests.scim_push.conftest import FAST, drain, make_application


def _save(client_id: str, **data: Any) -> Any:
    from idaas.scim.push import settings

    return settings.save("admin:1", client_id, data)


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:9/scim", "http://127.8.9.10/scim", "http://[::1]:8080/scim",
     "http://localhost/scim", "https://scim.example.com/v2"],
)  # fmt: skip
def test_https_or_loopback_is_accepted(app: Any, url: str) -> None:
    assert _save(make_application().client_id, base_url=url).base_url == url


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"base_url": "http://scim.example.com/v2"}, "base_url"),
        ({"base_url": "http://10.0.0.8/scim"}, "base_url"),
        ({"base_url": "http://127.0.0.1.example.com/scim"}, "base_url"),
        (
            {
                "base_url": "https://scim.example.com",
                "auth_type": "oauth2",
                "auth": {"client_id": "c", "token_url": "http://login.example.com/token"},
                "secret": "s",
            },
            "auth",
        ),
    ],
)
def test_plain_http_elsewhere_is_refused_and_nothing_saved(
    app: Any, data: dict[str, Any], field: str
) -> None:
    from idaas.scim.push import settings

    application = make_application()
    with pytest.raises(InvalidInput) as refused:
        _save(application.client_id, **data)
    assert "PROVISIONING_ALLOW_HTTP" in refused.value.fields[field]
    assert settings.find(application) is None


def test_the_setting_allows_plain_http(make_app: Any) -> None:
    with make_app(PROVISIONING_ALLOW_HTTP=True).app_context():
        saved = _save(make_application().client_id, base_url="http://scim.example.com/v2")
        assert saved.base_url == "http://scim.example.com/v2"


def test_api_and_cli_refuse_plain_http(app: Any, api_as: Any, runner: Any) -> None:
    application = make_application()
    api = api_as("provisioning:admin")
    base = f"/applications/{application.client_id}/provisioning"
    answer = api("PUT", base, json={"base_url": "http://scim.example.com"})
    assert answer.status_code == 422
    assert "PROVISIONING_ALLOW_HTTP" in answer.get_json()["fields"]["base_url"]
    result = runner.invoke(
        args=["provisioning", "set", application.client_id, "--set", "base_url=http://x.example"]
    )
    assert result.exit_code != 0 and "PROVISIONING_ALLOW_HTTP" in result.output
    assert api("GET", base).status_code == 404


class _Recorder(BaseHTTPRequestHandler):
    """Answers every request with a redirect (`redirect` set) or 200, and counts requests."""

    redirect: str | None = None
    seen: list[str]

    def _answer(self) -> None:
        type(self).seen.append(f"{self.command} {self.path}")
        if self.redirect:
            self.send_response(307)
            self.send_header("Location", self.redirect + self.path)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/scim+json")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _answer

    def log_message(self, *args: Any) -> None:
        pass


def _serve(handler: type[_Recorder]) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def redirecting() -> Iterator[tuple[str, list[str]]]:
    """A loopback target that redirects every request to a second (plain http) server."""

    class Sink(_Recorder):
        seen: list[str] = []

    class Redirector(_Recorder):
        seen: list[str] = []

    for sink_url in _serve(Sink):
        Redirector.redirect = sink_url
        for url in _serve(Redirector):
            yield url, Sink.seen


def test_no_redirect_is_followed(make_app: Any, redirecting: tuple[str, list[str]]) -> None:
    from idaas.scim.push import settings

    url, sink = redirecting
    app = make_app(**FAST)
    with app.app_context():
        application = make_application()
        _save(application.client_id, base_url=url)
        report = settings.test_connection("admin:1", application.client_id)
        assert report["ok"] is False and "follows no redirect" in report["message"]
        service.create_account("admin:1", username="ada")
        drain(app)
        delivery = db.session.scalars(select(Delivery)).one()
        assert delivery.status == "dead" and "307" in (delivery.last_error or "")
    assert sink == []  # nothing reached the server the redirects pointed to
