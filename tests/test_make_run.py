"""`make run` starts idaas on embedded defaults and serves /healthz within 30 seconds."""

import os
import signal
import subprocess
import time
from pathlib import Path

import httpx

from tests.conftest import free_port

ROOT = Path(__file__).resolve().parent.parent


def test_make_run_serves_healthz_within_30_seconds(tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("IDAAS_")}
    env["IDAAS_INSTANCE_PATH"] = str(tmp_path)
    process = subprocess.Popen(
        ["make", "--no-print-directory", "run", f"RUN_ARGS=--port {port}"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    started = time.monotonic()
    try:
        status = None
        while time.monotonic() - started < 30 and process.poll() is None:
            try:
                status = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code
                if status == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.25)
        assert status == 200, "no /healthz 200 within 30 s"
        assert (tmp_path / "idaas.db").exists()
        assert httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=5).status_code == 200
    finally:
        os.killpg(process.pid, signal.SIGINT)
        output, _ = process.communicate(timeout=20)
    assert f"http://127.0.0.1:{port}" in output
    assert "admin" in output
