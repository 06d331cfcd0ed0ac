"""`idaas serve` on SQLite runs the worker as a thread of its gunicorn workers (the default)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from typing import Any

import httpx
import pytest

from tests.conftest import free_port
from tests.events.recorder import Recorder, serve


@pytest.mark.slow
def test_idaas_serve_on_sqlite_delivers_with_its_embedded_worker(tmp_path: Any) -> None:
    rec = Recorder()
    with serve(rec) as receiver:
        env = {k: v for k, v in os.environ.items() if not k.startswith("IDAAS_")}
        env["IDAAS_INSTANCE_PATH"] = str(tmp_path)
        env["IDAAS_EVENTS_WEBHOOKS"] = json.dumps(
            [{"name": "hook", "url": receiver.url, "events": ["department.*"]}]
        )
        run = {"env": env, "capture_output": True, "text": True, "timeout": 60}
        init = subprocess.run(
            [sys.executable, "-m", "idaas", "init", "--password", "Embedded-Pass-1"], **run
        )  # type: ignore[call-overload]
        assert init.returncode == 0, init.stderr
        port = free_port()
        server = subprocess.Popen(
            [sys.executable, "-m", "idaas", "serve", "--port", str(port), "--workers", "2"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                try:
                    if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.2)
            # A change committed by another process (the CLI): the embedded workers poll for it.
            made = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "idaas",
                    "departments",
                    "create",
                    "--name",
                    "Embedded",
                    "--json",
                ],
                **run,  # type: ignore[arg-type]
            )
            assert made.returncode == 0, made.stderr
            rec.wait_for(lambda r: len(r.delivered()) == 1, timeout=20)
            time.sleep(1.5)  # both gunicorn workers had a chance: still exactly one delivery
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=30)
    [hit] = rec.hits
    assert hit.body["type"] == "department.created" and hit.body["changes"]["name"] == "Embedded"
