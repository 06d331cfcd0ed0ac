"""`make run` starts idaas on embedded defaults and serves /healthz within 30 seconds.

Every server binds a port the OS picks (`--port 0`); the test reads the URL the demo prints.
"""

import os
import signal
import subprocess
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent


def test_make_run_serves_healthz_within_30_seconds(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("IDAAS_")}
    env["IDAAS_INSTANCE_PATH"] = str(tmp_path)
    process = subprocess.Popen(
        [
            "make",
            "--no-print-directory",
            "run",
            "RUN_ARGS=--port 0 --sandbox-port 0 --rp-port 0",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    started = time.monotonic()
    lines: list[str] = []
    try:
        base = _printed_base(process, lines, started)
        status = None
        while time.monotonic() - started < 30 and process.poll() is None:
            try:
                status = httpx.get(f"{base}/healthz", timeout=1).status_code
                if status == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.25)
        assert status == 200, "no /healthz 200 within 30 s"
        assert (tmp_path / "idaas.db").exists()
        assert httpx.get(f"{base}/readyz", timeout=5).status_code == 200
    finally:
        os.killpg(process.pid, signal.SIGINT)
        assert process.stdout is not None
        with process.stdout:
            output = process.stdout.read()  # through the buffer `readline` filled
        process.wait(timeout=20)
    output = "".join(lines) + output
    assert "admin" in output
    assert "\x1b[" not in output  # no colour-coded request log lines


def _printed_base(process: subprocess.Popen[str], lines: list[str], started: float) -> str:
    """The URL in the demo's "idaas is running at ..." line (make's own lines come first)."""
    assert process.stdout is not None
    while time.monotonic() - started < 30:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line)
        if line.startswith("idaas is running at "):
            return line.split("idaas is running at ", 1)[1].strip()
    raise AssertionError("the demo printed no URL:\n" + "".join(lines))
