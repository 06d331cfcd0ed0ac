"""Issue 11 finding 17 / issue 18: a rotated key is served by every gunicorn worker before use.

`idaas serve --workers 2` (sync workers, SQLite), both workers warmed so each holds the old
JWKS and signing key in its cache; `idaas keys rotate --overlap 0`; then at once every
worker's JWKS carries the new key and every token is signed with it and verifies against the
JWKS a relying party just fetched. The access log (pid per line, secrets redacted) shows that
both workers answered after the rotation.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
from joserfc import jwt
from joserfc.jwk import KeySet

from tests.conftest import free_port

PASSWORD = "Serve-Boss-Pass-1"


def _idaas(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", "idaas", *args], env=env, capture_output=True, text=True, timeout=90
    )
    assert result.returncode == 0, result.stderr + result.stdout
    return result


def _burst(count: int, call) -> list[httpx.Response]:
    """`count` requests at the same moment, each on its own connection (spread over workers)."""
    barrier = threading.Barrier(count)
    results: list[httpx.Response] = []
    lock = threading.Lock()

    def run() -> None:
        barrier.wait()
        response = call()
        with lock:
            results.append(response)

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def _pids(log: str, path: str) -> list[str]:
    return re.findall(rf'"(?:GET|POST) {re.escape(path)}[^"]*" \d+ .* pid=<?(\d+)', log)


def test_f17_rotated_key_is_in_every_workers_jwks_before_it_signs(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("IDAAS_")}
    env["IDAAS_INSTANCE_PATH"] = str(tmp_path)
    env.update(IDAAS_ARGON2_MEMORY_COST="256", IDAAS_ARGON2_TIME_COST="1")
    _idaas(env, "init", "--password", PASSWORD)
    created = json.loads(
        _idaas(
            env, "clients", "create", "--name", "rp", "--scope", "directory:read", "--json"
        ).stdout
    )
    client_id, secret = created["client_id"], created["client_secret"]
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "idaas",
            "serve",
            "--port",
            str(port),
            "--workers",
            "2",
            "--threads",
            "1",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )

    def jwks() -> httpx.Response:
        return httpx.get(f"{base}/oauth2/jwks", timeout=10)

    def token() -> httpx.Response:
        return httpx.post(
            f"{base}/oauth2/token",
            data={"grant_type": "client_credentials"},
            auth=(client_id, secret),
            timeout=10,
        )

    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        for _ in range(3):  # warm both workers' caches with the first key
            assert {r.status_code for r in _burst(8, jwks) + _burst(8, token)} == {200}
        old_kids = {k["kid"] for k in jwks().json()["keys"]}
        rotated = json.loads(
            _idaas(env, "keys", "rotate", "--overlap", "0", "--json", "--alg", "ES256").stdout
        )
        new_kid = rotated["kid"]
        assert rotated["status"] == "active" and new_kid not in old_kids
        # At once: every worker publishes the key and signs with it.
        documents = _burst(12, jwks)
        assert all(new_kid in {k["kid"] for k in r.json()["keys"]} for r in documents)
        tokens = [r.json()["access_token"] for r in _burst(12, token)]
        relying_party_keys = KeySet.import_key_set(jwks().json())
        for value in tokens:
            decoded = jwt.decode(value, relying_party_keys)
            assert decoded.header["kid"] == new_kid
    finally:
        server.send_signal(signal.SIGTERM)
        output, _ = server.communicate(timeout=20)
    jwks_pids = _pids(output, "/oauth2/jwks")
    token_pids = _pids(output, "/oauth2/token")
    assert len(set(jwks_pids[-13:-1])) == 2, "both workers must serve the JWKS after rotation"
    assert len(set(token_pids[-12:])) == 2, "both workers must sign after rotation"
    assert secret not in output
