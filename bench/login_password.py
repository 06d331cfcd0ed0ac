"""Complete password sign-ins per second against `idaas serve`, and the argon2 ceiling.

Usage: .venv/bin/python bench/login_password.py [--requests 120] [--threads 4] [--workers 2]

Starts `idaas serve` (gunicorn) as a subprocess on a free loopback port with a throwaway
IDAAS_INSTANCE_PATH and the production argon2id parameters (m=19456 KiB, t=2, p=1), creates an
account through the CLI, then runs a bounded number of complete sign-ins from a few threads:
GET /login (form + CSRF token), POST the credentials, follow the redirect to /portal/. It also
measures argon2id verifications per second in this process (one process and one per CPU), the
CPU-bound ceiling of password sign-in on this machine. Prints the figures.
"""

from __future__ import annotations

import os
import re
import statistics
import threading
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

import httpx
from argon2 import PasswordHasher
from harness import arguments, served_idaas

PASSWORD = "Correct-Horse-Battery-42"
CSRF = re.compile(
    r'name="csrf_token" type="hidden" value="([^"]+)"|'
    r'name="csrf_token" value="([^"]+)"'
)


_local = threading.local()


def _client(url: str) -> httpx.Client:
    """One HTTP client per benchmark thread (creating one costs more than a sign-in request)."""
    client = getattr(_local, "client", None)
    if client is None:
        client = _local.client = httpx.Client(base_url=url, timeout=30)
    return client


def one_sign_in(url: str) -> float:
    """GET the form, POST the credentials, follow the redirect; return the seconds taken."""
    client = _client(url)
    client.cookies.clear()  # every sign-in starts as a new visitor
    start = time.perf_counter()
    form = client.get("/login")
    match = CSRF.search(form.text)
    token = (match.group(1) or match.group(2)) if match else ""
    response = client.post(
        "/login", data={"identifier": "bench", "password": PASSWORD, "csrf_token": token}
    )
    if response.status_code != 302 or "/portal" not in response.headers["location"]:
        raise RuntimeError(f"sign-in failed: {response.status_code}")
    portal = client.get(response.headers["location"])
    if portal.status_code != 200:
        raise RuntimeError(f"portal answered {portal.status_code}")
    return time.perf_counter() - start


def bench_sign_ins(url: str, requests: int, threads: int) -> tuple[float, list[float]]:
    """Run `requests` complete sign-ins from `threads` threads; return (per second, latencies)."""
    one_sign_in(url)  # warm up each path once
    start = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        latencies = list(pool.map(lambda _: one_sign_in(url), range(requests)))
    elapsed = time.perf_counter() - start
    return requests / elapsed, latencies


def _verify_for(seconds: float) -> int:
    """Verify one argon2id hash repeatedly for `seconds`; return how many were done."""
    hasher = PasswordHasher(memory_cost=19456, time_cost=2, parallelism=1)
    stored = hasher.hash(PASSWORD)
    deadline = time.perf_counter() + seconds
    done = 0
    while time.perf_counter() < deadline:
        hasher.verify(stored, PASSWORD)
        done += 1
    return done


def bench_argon2(seconds: float = 4.0) -> tuple[float, float]:
    """argon2id verifications per second: one process, and one process per CPU."""
    single = _verify_for(seconds) / seconds
    cpus = os.cpu_count() or 1
    with ProcessPoolExecutor(cpus) as pool:
        parallel = sum(pool.map(_verify_for, [seconds] * cpus)) / seconds
    return single, parallel


def main() -> None:
    """Parse arguments, run both measurements and print them."""
    parser = arguments(__doc__, requests=120, threads=4, workers=2)
    args = parser.parse_args()

    env = {
        # Production hashing parameters (the committed defaults, stated explicitly).
        "IDAAS_ARGON2_MEMORY_COST": "19456",
        "IDAAS_ARGON2_TIME_COST": "2",
        "IDAAS_ARGON2_PARALLELISM": "1",
        # One client IP and one account sign in many times: keep the throttles counting, but
        # high enough not to refuse the benchmark.
        "IDAAS_LOGIN_RATE_LIMIT_IP": "1000000/minute",
        "IDAAS_LOGIN_RATE_LIMIT_ACCOUNT": "1000000/minute",
    }
    with served_idaas(workers=args.workers, threads=args.threads, env=env) as idaas:
        idaas.cli(
            "accounts",
            "create",
            "--username",
            "bench",
            "--email",
            "bench@example.com",
            "--password",
            PASSWORD,
            "--no-must-change-password",
        )
        rate, latencies = bench_sign_ins(idaas.url, args.requests, args.threads)
    single, parallel = bench_argon2()
    cpus = os.cpu_count() or 1
    latencies.sort()
    p95 = latencies[int(0.95 * (len(latencies) - 1))]
    print(
        f"complete password sign-ins (GET form, POST, follow redirect): {rate:.1f}/s "
        f"({args.requests} sign-ins, {args.threads} client threads, idaas serve with "
        f"{args.workers} workers x {args.threads} threads, SQLite)"
    )
    print(f"  latency median {statistics.median(latencies) * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms")
    print(
        f"argon2id verifications (m=19456 KiB, t=2, p=1): {single:.1f}/s in one process, "
        f"{parallel:.1f}/s in {cpus} processes (CPU-bound ceiling on this machine)"
    )


if __name__ == "__main__":
    main()
