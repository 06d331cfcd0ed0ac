"""Run the `idaas` command in a child process the way a deployer does: `init`, then `serve`."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.conftest import free_port


def clean_env(instance: Path, **settings: str) -> dict[str, str]:
    """This process's environment without any `IDAAS_*`, on the instance folder `instance`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("IDAAS_")}
    return {**env, "IDAAS_INSTANCE_PATH": str(instance), **settings}


def idaas(env: dict[str, str], *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """`python -m idaas ARGS` to its end; output captured as text."""
    return subprocess.run(
        [sys.executable, "-m", "idaas", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def init(env: dict[str, str], password: str) -> None:
    """`idaas init` with the first administrator's password; fails the test if it fails."""
    done = idaas(env, "init", "--password", password)
    assert done.returncode == 0, done.stderr


@dataclass
class Served:
    """A running `idaas serve`: its port, and its output once it stopped."""

    port: int
    output: str = field(default="")

    @property
    def url(self) -> str:
        """The server's base URL."""
        return f"http://127.0.0.1:{self.port}"

    def wait_for(self, path: str, timeout: float = 30) -> httpx.Response | None:
        """GET `path` until it answers 200 while the server boots: the last answer (None if
        none came in time)."""
        deadline = time.monotonic() + timeout
        answer = None
        while time.monotonic() < deadline:
            try:
                answer = httpx.get(self.url + path, timeout=2)
            except httpx.TransportError:
                pass
            if answer is not None and answer.status_code == 200:
                break
            time.sleep(0.2)
        return answer


@contextmanager
def serve(env: dict[str, str], workers: int) -> Iterator[Served]:
    """`idaas serve` on a free port with `workers` workers; stopped with SIGTERM on exit."""
    served = Served(free_port())
    server = subprocess.Popen(
        [sys.executable, "-m", "idaas", "serve", "--port", str(served.port)]
        + ["--workers", str(workers)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        yield served
    finally:
        server.send_signal(signal.SIGTERM)
        served.output, _ = server.communicate(timeout=30)
