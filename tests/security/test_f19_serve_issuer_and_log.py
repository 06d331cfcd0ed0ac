"""Issue 11 finding 19 (issuer of `idaas serve --port N`), 18 (id_token_hint kept out of logs)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import httpx

from idaas.server import redact
from tests.conftest import free_port


def test_f19_serve_without_issuer_publishes_the_served_port_and_redacts_the_log(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("IDAAS_")}
    env["IDAAS_INSTANCE_PATH"] = str(tmp_path)
    init = subprocess.run(
        [sys.executable, "-m", "idaas", "init", "--password", "Serve-Boss-Pass-1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert init.returncode == 0, init.stderr
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "idaas", "serve", "--port", str(port), "--workers", "1"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    hint = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJzZWNyZXQtc3ViIn0.c2lnbmF0dXJl"
    try:
        deadline = time.monotonic() + 30
        document = None
        while time.monotonic() < deadline:
            try:
                document = httpx.get(f"http://127.0.0.1:{port}/.well-known/openid-configuration")
                break
            except httpx.TransportError:
                time.sleep(0.2)
        assert document is not None and document.status_code == 200
        assert document.json()["issuer"] == f"http://127.0.0.1:{port}"
        assert document.json()["token_endpoint"].startswith(f"http://127.0.0.1:{port}/")
        httpx.get(f"http://127.0.0.1:{port}/oauth2/logout", params={"id_token_hint": hint})
    finally:
        server.send_signal(signal.SIGTERM)
        output, _ = server.communicate(timeout=20)
    assert "GET /oauth2/logout?id_token_hint=[redacted]" in output
    assert hint not in output


def test_f18_redact_removes_every_secret_parameter():
    line = "GET /cb?code=abc&state=s1&id_token_hint=x.y.z&access_token=t HTTP/1.1"
    assert redact(line) == (
        "GET /cb?code=[redacted]&state=s1&id_token_hint=[redacted]&access_token=[redacted] HTTP/1.1"
    )
