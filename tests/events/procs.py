"""Real `idaas worker` processes for the engine tests (killed with SIGKILL where asked)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent.parent
# Every worker spawned by the running test; `stop_leftovers` ends them whatever the test did.
_spawned: list[subprocess.Popen[bytes]] = []


def env_for(database_url: str, **config: Any) -> dict[str, str]:
    """The environment of a worker process on the test database with IDAAS_<KEY> settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("IDAAS_")}
    env["IDAAS_INSTANCE_PATH"] = os.environ["IDAAS_INSTANCE_PATH"]
    env["IDAAS_ENV"] = "testing"
    env["IDAAS_DATABASE_URL"] = database_url
    env["PYTHONPATH"] = str(ROOT)
    for key, value in config.items():
        env[f"IDAAS_{key}"] = json.dumps(value)
    return env


def spawn(env: dict[str, str], *args: str, preload: str | None = None) -> subprocess.Popen[bytes]:
    """Start `idaas worker ARGS` (after importing `preload`, e.g. a module of test job kinds)."""
    code = (f"import {preload}; " if preload else "") + (
        "from idaas.cli import main; import sys; main(sys.argv[1:])"
    )
    log = tempfile.NamedTemporaryFile(prefix="idaas-worker-", suffix=".log", delete=False)
    process = subprocess.Popen(
        [sys.executable, "-c", code, "worker", *args],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=log,
    )
    log.close()
    process.log_path = log.name  # type: ignore[attr-defined]
    _spawned.append(process)
    return process


def stop_leftovers() -> None:
    """Kill the workers a test left running (a failed assertion skips its own clean-up), so they
    cannot take jobs or deliveries from the next test's database."""
    while _spawned:
        process = _spawned.pop()
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)


def output(process: subprocess.Popen[bytes]) -> str:
    """What the worker wrote on stderr so far."""
    return Path(process.log_path).read_text(errors="replace")  # type: ignore[attr-defined]


def wait_started(*processes: subprocess.Popen[bytes], timeout: float = 90) -> None:
    """Wait until every worker says it started (imports take a while on a busy machine)."""
    deadline = time.monotonic() + timeout
    for process in processes:
        while "started" not in output(process):
            assert process.poll() is None, output(process)
            assert time.monotonic() < deadline, "the worker did not start"
            time.sleep(0.1)


def kill9(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL: no clean-up, no lease release, like a crash or an OOM kill."""
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=10)


def stop(process: subprocess.Popen[bytes]) -> str:
    """SIGTERM and wait; return what it wrote on stderr."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
    return output(process)


@contextmanager
def workers(env: dict[str, str], count: int = 1, *args: str) -> Iterator[list[Any]]:
    """`count` worker processes, stopped at the end."""
    started = [spawn(env, *args) for _ in range(count)]
    try:
        yield started
    finally:
        for process in started:
            if process.returncode is None:
                stop(process)
