"""Issue 11 finding 19 (issuer of `idaas serve --port N`), 18 (id_token_hint kept out of logs)."""

from __future__ import annotations

import httpx

from idaas.server import redact
from tests.support.serving import clean_env, init, serve


def test_f19_serve_without_issuer_publishes_the_served_port_and_redacts_the_log(tmp_path):
    env = clean_env(tmp_path)
    init(env, "Serve-Boss-Pass-1")
    hint = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJzZWNyZXQtc3ViIn0.c2lnbmF0dXJl"
    with serve(env, workers=1) as server:
        document = server.wait_for("/.well-known/openid-configuration")
        assert document is not None and document.status_code == 200
        assert document.json()["issuer"] == server.url
        assert document.json()["token_endpoint"].startswith(f"{server.url}/")
        httpx.get(f"{server.url}/oauth2/logout", params={"id_token_hint": hint})
    assert "GET /oauth2/logout?id_token_hint=[redacted]" in server.output
    assert hint not in server.output


def test_f18_redact_removes_every_secret_parameter():
    line = "GET /cb?code=abc&state=s1&id_token_hint=x.y.z&access_token=t HTTP/1.1"
    assert redact(line) == (
        "GET /cb?code=[redacted]&state=s1&id_token_hint=[redacted]&access_token=[redacted] HTTP/1.1"
    )
