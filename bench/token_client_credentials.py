"""Benchmark the client-credentials grant (RFC 6749 §4.4) against `idaas serve` (gunicorn).

Starts `idaas serve` on a free loopback port with a temporary instance folder (SQLite),
creates an API client with `idaas clients create`, then sends a bounded number of token
requests (client_secret_basic) from a few threads with keep-alive connections and prints
tokens/s and latency percentiles. Every issued token is audited, so this measures the real
path: authenticate (SHA-256), sign an ES256 JWT, write the audit row, answer.

    .venv/bin/python bench/token_client_credentials.py [--requests 2000] [--threads 4]
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
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
IDAAS = [sys.executable, "-m", "idaas"]


def free_port() -> int:
    """An unused loopback TCP port."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run_cli(env: dict[str, str], *args: str) -> str:
    """Run an `idaas` command and return its stdout (fail loudly)."""
    done = subprocess.run(
        [*IDAAS, *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"idaas {' '.join(args[:2])} failed:\n{done.stderr}")
    return done.stdout


def prepare_schema(env: dict[str, str]) -> None:
    """Alembic upgrade (`idaas init`), then create tables whose migration is not generated yet."""
    run_cli(env, "init", "--json")
    code = (
        "from idaas import create_app\nfrom idaas.extensions import db\n"
        "app = create_app()\nwith app.app_context():\n    db.create_all()\n"
    )
    subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, check=True, timeout=120)


def wait_until_up(url: str, server: subprocess.Popen[bytes], timeout: float = 30) -> None:
    """Poll /healthz until the server answers."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit("idaas serve exited during start-up")
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit("idaas serve did not come up in time")


def hammer(
    url: str, auth: tuple[str, str], count: int, latencies: list[float], errors: list[str]
) -> None:
    """Send `count` token requests on one keep-alive connection."""
    with httpx.Client(base_url=url, auth=auth, timeout=30) as client:
        for _ in range(count):
            started = time.perf_counter()
            response = client.post("/oauth2/token", data={"grant_type": "client_credentials"})
            elapsed = time.perf_counter() - started
            if response.status_code == 200 and response.json().get("access_token"):
                latencies.append(elapsed)
            else:
                errors.append(f"{response.status_code} {response.text[:120]}")


def percentile(values: list[float], fraction: float) -> float:
    """The `fraction` quantile (nearest rank) of `values`, in milliseconds."""
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))
    return ordered[index] * 1000


def main() -> None:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--server-threads", type=int, default=4)
    args = parser.parse_args()

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory(prefix="idaas-bench-") as instance:
        env = {
            **os.environ,
            "IDAAS_INSTANCE_PATH": instance,
            "IDAAS_ISSUER": url,
            "IDAAS_ENV": "development",
        }
        env.pop("IDAAS_DATABASE_URL", None)
        prepare_schema(env)
        created = json.loads(
            run_cli(
                env,
                "clients",
                "create",
                "--kind",
                "api",
                "--name",
                "bench",
                "--scope",
                "directory:read",
                "--json",
            )
        )
        auth = (created["client_id"], created["client_secret"])
        server = subprocess.Popen(
            [
                *IDAAS,
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--workers",
                str(args.workers),
                "--threads",
                str(args.server_threads),
            ],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            wait_until_up(url, server)
            warm: list[float] = []
            hammer(url, auth, 20, warm, [])
            latencies: list[float] = []
            errors: list[str] = []
            per_thread = args.requests // args.threads
            threads = [
                threading.Thread(target=hammer, args=(url, auth, per_thread, latencies, errors))
                for _ in range(args.threads)
            ]
            started = time.perf_counter()
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            elapsed = time.perf_counter() - started
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)

    total = len(latencies) + len(errors)
    print(
        f"client credentials grant, idaas serve (gunicorn, {args.workers} workers x "
        f"{args.server_threads} threads, SQLite), {args.threads} client threads"
    )
    print(f"requests: {total}  ok: {len(latencies)}  errors: {len(errors)}")
    print(f"elapsed: {elapsed:.2f} s  throughput: {len(latencies) / elapsed:.1f} tokens/s")
    if latencies:
        print(
            f"latency ms: p50 {percentile(latencies, 0.50):.2f}  "
            f"p90 {percentile(latencies, 0.90):.2f}  p99 {percentile(latencies, 0.99):.2f}  "
            f"mean {statistics.fmean(latencies) * 1000:.2f}  max {max(latencies) * 1000:.2f}"
        )
    if errors:
        print("first errors:", *errors[:5], sep="\n  ")
        raise SystemExit(1)


if __name__ == "__main__":
    main()
