"""Shared benchmark harness: `idaas serve` (gunicorn) on loopback with a throwaway instance.

    with served_idaas(workers=2, threads=4, env={"IDAAS_X": "..."}) as idaas:
        idaas.cli("accounts", "create", ...)
        httpx.get(f"{idaas.url}/healthz")

The instance folder is temporary (SQLite), the schema comes from `idaas init` (the Alembic
migrations), and inherited IDAAS_* variables are dropped so a benchmark never touches a real
database. Traffic stays on 127.0.0.1; every benchmark sends a bounded number of requests.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
IDAAS = [sys.executable, "-m", "idaas"]


def free_port() -> int:
    """An unused loopback TCP port."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def arguments(doc: str | None, **numbers: float) -> argparse.ArgumentParser:
    """A benchmark's parser, described by its docstring's first line: `--<name> N` for each of
    `numbers` (an int or a float like its default); add the other options to it."""
    parser = argparse.ArgumentParser(description=(doc or "").splitlines()[0])
    for name, default in numbers.items():
        parser.add_argument("--" + name.replace("_", "-"), type=type(default), default=default)
    return parser


def percentile(values: list[float], fraction: float) -> float:
    """The `fraction` quantile (nearest rank) of seconds `values`, in milliseconds."""
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))
    return ordered[index] * 1000


def latency_line(values: list[float]) -> str:
    """`p50 .. p90 .. p99 .. mean .. max` in milliseconds."""
    return (
        f"p50 {percentile(values, 0.50):.2f} ms  p90 {percentile(values, 0.90):.2f} ms  "
        f"p99 {percentile(values, 0.99):.2f} ms  mean {statistics.fmean(values) * 1000:.2f} ms  "
        f"max {max(values) * 1000:.2f} ms"
    )


@dataclass
class ServedIdaas:
    """A running `idaas serve` and the environment its CLI commands need."""

    url: str
    env: dict[str, str]

    def cli(self, *args: str) -> str:
        """Run an `idaas` command against this instance; return stdout or exit loudly."""
        done = subprocess.run(
            [*IDAAS, *args],
            env=self.env,
            cwd=self.env.get("PYTHONPATH", ROOT),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if done.returncode != 0:
            raise SystemExit(f"idaas {' '.join(args[:2])} failed:\n{done.stderr}")
        return done.stdout

    def api_client(self, *scopes: str, name: str = "bench") -> tuple[str, str]:
        """Create an API client with `scopes`; return (client_id, client_secret)."""
        flags = [part for scope in scopes for part in ("--scope", scope)]
        created = json.loads(
            self.cli("clients", "create", "--kind", "api", "--name", name, *flags, "--json")
        )
        return str(created["client_id"]), str(created["client_secret"])


def _wait_until_ready(url: str, server: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit("idaas serve exited during start-up")
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit("idaas serve did not become ready in time")


@contextmanager
def served_idaas(
    *,
    workers: int = 2,
    threads: int = 4,
    env: dict[str, str] | None = None,
    admin_password: str = "Quiet-Falcon-Bench-9",
    code: Path | None = None,
) -> Iterator[ServedIdaas]:
    """Initialise a throwaway instance, start `idaas serve` on it, and stop it afterwards.

    `code`: another checkout of idaas to run instead of this one (same virtual environment),
    e.g. the previous commit for a before/after comparison in one interleaved run.
    """
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory(prefix="idaas-bench-") as instance:
        full_env = {k: v for k, v in os.environ.items() if not k.startswith("IDAAS_")}
        full_env.update(
            {
                "IDAAS_INSTANCE_PATH": instance,
                "IDAAS_ISSUER": url,
                "IDAAS_ENV": "development",
                **(env or {}),
            }
        )
        if code is not None:
            full_env["PYTHONPATH"] = str(code)
        served = ServedIdaas(url=url, env=full_env)
        served.cli("init", "--password", admin_password)
        server = subprocess.Popen(
            [
                *IDAAS,
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--workers",
                str(workers),
                "--threads",
                str(threads),
            ],
            env=full_env,
            cwd=code or ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            _wait_until_ready(url, server)
            yield served
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)
