"""`idaas serve` runs the production server (gunicorn) on the configured database."""

import os
import signal
import subprocess
import sys
import time

import httpx

from tests.conftest import free_port


def test_serve_runs_gunicorn_workers(tmp_path):
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
        [sys.executable, "-m", "idaas", "serve", "--port", str(port), "--workers", "2"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        ready = None
        while time.monotonic() < deadline:
            try:
                ready = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2)
                break
            except httpx.TransportError:
                time.sleep(0.2)
        assert ready is not None and ready.status_code == 200, "gunicorn did not answer"
        statuses = {httpx.get(f"http://127.0.0.1:{port}/healthz").status_code for _ in range(12)}
        assert statuses == {200}
        metrics = httpx.get(f"http://127.0.0.1:{port}/metrics").text
        # Both workers' counts add up (Prometheus multiprocess mode).
        assert 'endpoint="ops.healthz",method="GET",status="200"} 12.0' in metrics
    finally:
        server.send_signal(signal.SIGTERM)
        output, _ = server.communicate(timeout=20)
    assert "Booting worker" in output
    assert "Serve-Boss-Pass-1" not in output
