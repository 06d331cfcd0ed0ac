"""Benchmark the client-credentials grant (RFC 6749 §4.4) against `idaas serve` (gunicorn).

Starts `idaas serve` on a free loopback port with a temporary instance folder (SQLite),
creates an API client with `idaas clients create`, then sends a bounded number of token
requests (client_secret_basic) from a few threads with keep-alive connections and prints
tokens/s and latency percentiles. Every issued token is audited, so this measures the real
path: authenticate (SHA-256), sign an ES256 JWT, write the audit row, answer.

    .venv/bin/python bench/token_client_credentials.py [--requests 2000] [--threads 4]
"""

from __future__ import annotations

import threading
import time

import httpx
from harness import arguments, latency_line, served_idaas


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


def main() -> None:
    """Run the benchmark and print the figures."""
    parser = arguments(__doc__, requests=2000, threads=4, workers=2, server_threads=4)
    args = parser.parse_args()

    with served_idaas(workers=args.workers, threads=args.server_threads) as idaas:
        auth = idaas.api_client("directory:read")
        hammer(idaas.url, auth, 20, [], [])
        latencies: list[float] = []
        errors: list[str] = []
        per_thread = args.requests // args.threads
        threads = [
            threading.Thread(target=hammer, args=(idaas.url, auth, per_thread, latencies, errors))
            for _ in range(args.threads)
        ]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - started

    total = len(latencies) + len(errors)
    print(
        f"client credentials grant, idaas serve (gunicorn, {args.workers} workers x "
        f"{args.server_threads} threads, SQLite), {args.threads} client threads"
    )
    print(f"requests: {total}  ok: {len(latencies)}  errors: {len(errors)}")
    print(f"elapsed: {elapsed:.2f} s  throughput: {len(latencies) / elapsed:.1f} tokens/s")
    if latencies:
        print(f"latency: {latency_line(latencies)}")
    if errors:
        print("first errors:", *errors[:5], sep="\n  ")
        raise SystemExit(1)


if __name__ == "__main__":
    main()
