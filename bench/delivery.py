"""Delivery engine: commit-to-delivery latency and deliveries per second to a no-op target.

Usage: .venv/bin/python bench/delivery.py [--rate 100] [--seconds 10] [--backlog 5000]
                                          [--postgres postgresql://postgres@127.0.0.1/idaas_x]

A no-op loopback receiver (its own process, HTTP/1.1 keep-alive) records when each delivery
arrives. Scenarios:
- SQLite embedded: a throwaway SQLite instance, the worker as a thread of the writing process
  (as inside `idaas serve` / `idaas demo`), woken in-process at commit;
- PostgreSQL with 1 and 2 `idaas worker` processes, woken by LISTEN/NOTIFY (needs --postgres;
  the database's public schema is dropped and rebuilt from the migrations).
Latency: one change per transaction at `--rate` changes/s for `--seconds`; the clock starts
when `commit()` returns and stops when the receiver has the request. Throughput: a backlog of
`--backlog` changes is committed first, then the workers start; deliveries/s between the first
and the last arrival (and, for reference, including the workers' start-up).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
from harness import ROOT, percentile

ARRIVED: dict[str, float] = {}
COUNT = [0]
LOCK = threading.Lock()


class Receiver(BaseHTTPRequestHandler):
    """Answers 204 to every POST and remembers the first arrival of each object."""

    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:  # noqa: N802
        """Record the arrival."""
        now = time.time()
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        with LOCK:
            COUNT[0] += 1
            ARRIVED.setdefault(body["object"]["id"], now)
        self.send_response(204)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_GET(self) -> None:  # noqa: N802
        """The arrivals so far (and reset with ?reset)."""
        with LOCK:
            data = json.dumps({"count": COUNT[0], "arrived": ARRIVED}).encode()
            if "reset" in self.path:
                ARRIVED.clear()
                COUNT[0] = 0
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        """Quiet."""


def run_receiver() -> None:
    """The receiver process: print the port, serve until killed."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    server.daemon_threads = True
    print(server.server_address[1], flush=True)
    server.serve_forever()


def start_receiver() -> tuple[subprocess.Popen[bytes], str]:
    """The receiver in its own process (own GIL) and its URL."""
    process = subprocess.Popen(
        [sys.executable, __file__, "--receiver"], stdout=subprocess.PIPE, cwd=ROOT
    )
    assert process.stdout is not None
    return process, f"http://127.0.0.1:{int(process.stdout.readline())}/"


def stats(url: str, reset: bool = False) -> dict[str, Any]:
    """What the receiver got."""
    return dict(httpx.get(url + ("?reset=1" if reset else ""), timeout=30).json())


def make_app(database_url: str, webhooks: list[dict[str, Any]]) -> Any:
    """An idaas app on `database_url` with the webhook target."""
    from idaas import create_app

    return create_app({"DATABASE_URL": database_url, "EVENTS_WEBHOOKS": webhooks})


def commit_changes(app: Any, prefix: str, count: int, rate: float | None) -> dict[str, float]:
    """Commit `count` changes (one per transaction, paced at `rate`/s); object id -> commit time."""
    from idaas.directory.service.unit import unit_of_work
    from idaas.events.service import append_change

    committed: dict[str, float] = {}
    started = time.perf_counter()
    with app.app_context():
        for number in range(count):
            if rate:
                pause = started + number / rate - time.perf_counter()
                if pause > 0:
                    time.sleep(pause)
            object_id = f"{prefix}{number}"
            with unit_of_work():
                append_change("department", object_id, "updated", "system", 1, {"n": number})
            committed[object_id] = time.time()
    return committed


def backlog(app: Any, prefix: str, count: int) -> None:
    """Commit `count` changes in batches of 500 (no worker running)."""
    from idaas.directory.service.unit import unit_of_work
    from idaas.events.service import append_change

    with app.app_context():
        for start in range(0, count, 500):
            with unit_of_work():
                for number in range(start, min(count, start + 500)):
                    append_change("department", f"{prefix}{number}", "updated", "system", 1, {})


def wait_for(url: str, count: int, timeout: float = 300) -> dict[str, Any]:
    """Poll the receiver until it has `count` distinct objects."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        got = stats(url)
        if len(got["arrived"]) >= count:
            return got
        time.sleep(0.05)
    raise SystemExit(f"only {len(stats(url)['arrived'])}/{count} deliveries arrived in time")


def latency_report(committed: dict[str, float], arrived: dict[str, float]) -> str:
    """p50/p95/max of commit-to-delivery latency."""
    values = [arrived[k] - committed[k] for k in committed]
    return (
        f"p50 {percentile(values, 0.5):.1f} ms  p95 {percentile(values, 0.95):.1f} ms  "
        f"max {max(values) * 1000:.1f} ms  (n={len(values)})"
    )


def worker_processes(database_url: str, webhooks: Any, count: int, instance: str) -> list[Any]:
    """Start `count` `idaas worker` processes."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("IDAAS_")}
    env.update(
        IDAAS_DATABASE_URL=database_url,
        IDAAS_EVENTS_WEBHOOKS=json.dumps(webhooks),
        IDAAS_INSTANCE_PATH=instance,
    )
    return [
        subprocess.Popen(
            [sys.executable, "-m", "idaas", "worker", "--no-scheduler", "--no-jobs"],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(count)
    ]


def stop(processes: list[Any]) -> None:
    """SIGTERM and wait."""
    for process in processes:
        process.terminate()
    for process in processes:
        process.wait(timeout=30)


def scenario(name: str, app: Any, url: str, args: Any, start: Any, stop_workers: Any) -> None:
    """Latency at --rate, then throughput of a --backlog, for one deployment."""
    stats(url, reset=True)
    workers = start()
    commit_changes(app, f"{name}-warmup-", 1, None)  # the workers are up and LISTENing
    wait_for(url, 1, timeout=120)
    time.sleep(1.0)
    stats(url, reset=True)
    committed = commit_changes(app, f"{name}-lat-", int(args.rate * args.seconds), args.rate)
    got = wait_for(url, len(committed))
    print(
        f"{name}: latency at {args.rate:g} changes/s: {latency_report(committed, got['arrived'])}"
    )
    stop_workers(workers)
    stats(url, reset=True)
    backlog(app, f"{name}-tp-", args.backlog)
    began = time.time()
    workers = start()
    got = wait_for(url, args.backlog)
    times = sorted(got["arrived"].values())
    elapsed = times[-1] - began
    steady = times[-1] - times[0]
    print(
        f"{name}: throughput {(len(times) - 1) / steady:.0f} deliveries/s from first to last "
        f"arrival ({args.backlog} in {elapsed:.2f} s including worker start-up: "
        f"{args.backlog / elapsed:.0f}/s)"
    )
    stop_workers(workers)


def main() -> None:
    """Run the scenarios and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--receiver", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--backlog", type=int, default=5000)
    parser.add_argument("--postgres", help="a PostgreSQL URL whose public schema may be dropped")
    args = parser.parse_args()
    if args.receiver:
        run_receiver()
        return
    receiver, url = start_receiver()
    hooks = [{"name": "noop", "url": url, "events": ["*"]}]
    try:
        with tempfile.TemporaryDirectory(prefix="idaas-bench-") as instance:
            os.environ["IDAAS_INSTANCE_PATH"] = instance
            from idaas.events.worker import Worker
            from idaas.extensions import db

            app = make_app(f"sqlite:///{Path(instance) / 'bench.db'}", hooks)
            with app.app_context():
                db.create_all()

            def embedded() -> Worker:
                return Worker(app, run_jobs=False, run_scheduler=False).start()

            scenario("sqlite-embedded", app, url, args, embedded, lambda w: w.stop())

            if args.postgres:
                from sqlalchemy import create_engine, text

                pg = "postgresql+psycopg://" + args.postgres.split("://", 1)[1]
                engine = create_engine(pg)
                with engine.begin() as connection:
                    connection.execute(text("DROP SCHEMA public CASCADE"))
                    connection.execute(text("CREATE SCHEMA public"))
                engine.dispose()
                app = make_app(pg, hooks)
                with app.app_context():
                    from flask_migrate import upgrade

                    upgrade(directory=str(ROOT / "migrations"))
                for count in (1, 2):
                    scenario(
                        f"postgresql-{count}-worker{'s' if count > 1 else ''}",
                        app,
                        url,
                        args,
                        lambda count=count: worker_processes(pg, hooks, count, instance),
                        stop,
                    )
    finally:
        receiver.kill()
        receiver.wait(timeout=10)
        if receiver.stdout is not None:
            receiver.stdout.close()


if __name__ == "__main__":
    main()
