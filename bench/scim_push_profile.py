"""Where one SCIM push delivery spends its time: SQL statements per delivery and a cProfile.

Usage: .venv/bin/python bench/scim_push_profile.py [--accounts 300] [--db URL] [--top 25]

A scim2-server in its own process; `--accounts` accounts are created and pushed once, then
each gets a title change (a backlog), and one in-process worker drains it under cProfile.
Prints deliveries/s (this run only: compare runs on the same machine, same load), SQL
statements and HTTP requests per delivery, and the functions with the most cumulative time.
"""

from __future__ import annotations

import argparse
import atexit
import cProfile
import os
import pstats
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    """Build the backlog, drain it under the profiler, print the figures."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--accounts", type=int, default=300)
    parser.add_argument("--db")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--plain", action="store_true", help="No profiler: throughput only.")
    parser.add_argument("--sql", action="store_true", help="Print the statements by kind.")
    args = parser.parse_args()
    os.environ.setdefault("IDAAS_INSTANCE_PATH", tempfile.mkdtemp(prefix="idaas-profile-"))
    database = args.db or f"sqlite:///{tempfile.mkdtemp(prefix='idaas-profile-')}/idaas.db"

    from sqlalchemy import event

    from idaas import create_app
    from idaas.directory import service
    from idaas.events.worker import Worker
    from idaas.extensions import db
    from idaas.schema import drop_everything, upgrade_database
    from tests.scim_push.conftest import make_application, push_to
    from tests.scim_push.server import spawn_server

    app = create_app({"DATABASE_URL": database, "EVENTS_EMBEDDED_WORKER": "false"})
    target, server = spawn_server()
    atexit.register(server.terminate)
    with app.app_context():
        drop_everything()
        upgrade_database()
        push_to(make_application(), target.url)
        ids = [service.create_account("admin:1", username=f"p{n}").id for n in range(args.accounts)]
    Worker(app).drain(timeout=600)  # the creates: not measured
    with app.app_context():
        for account_id in ids:
            service.update_account("admin:1", account_id, title="profiled")
        engine = db.engine
    statements = [0]
    kinds: dict[str, int] = {}

    def count(_conn: object, _cursor: object, sql: str, *_: object) -> None:
        statements[0] += 1
        kind = " ".join(sql.split()[:4])
        kinds[kind] = kinds.get(kind, 0) + 1

    profiles: list[cProfile.Profile] = []
    deliver_one = Worker._run_in_context

    def profiled(worker: Worker, row: Any) -> Any:
        if args.plain:
            return deliver_one(worker, row)
        profiler = cProfile.Profile()  # one per delivery: they run in the worker's threads
        profiler.enable()
        try:
            return deliver_one(worker, row)
        finally:
            profiler.disable()
            profiles.append(profiler)

    Worker._run_in_context = profiled  # type: ignore[method-assign]
    event.listen(engine, "before_cursor_execute", count)
    requests_before = target.request_count()
    main_thread = cProfile.Profile()
    started = time.perf_counter()
    if not args.plain:
        main_thread.enable()
    Worker(app).drain(timeout=600)
    main_thread.disable()
    elapsed = time.perf_counter() - started
    event.remove(engine, "before_cursor_execute", count)
    requests = target.request_count() - requests_before
    print(
        f"{len(ids)} deliveries in {elapsed:.2f} s = {len(ids) / elapsed:.0f}/s "
        f"({'plain' if args.plain else 'profiled'}); "
        f"{statements[0] / len(ids):.1f} SQL statements and {requests / len(ids):.2f} HTTP "
        f"requests per delivery; load average {os.getloadavg()[0]:.1f}"
    )
    if args.sql:
        for kind, n in sorted(kinds.items(), key=lambda item: -item[1]):
            print(f"{n / len(ids):6.2f} per delivery  {kind}")
    if args.plain:
        server.terminate()
        return
    print("== the worker's own thread (claims, settles, other work) ==")
    pstats.Stats(main_thread).sort_stats("tottime").print_stats(args.top)
    print("== the deliveries (all threads) ==")
    stats = pstats.Stats(profiles[0])
    for more in profiles[1:]:
        stats.add(more)
    stats.sort_stats("tottime").print_stats(args.top)
    server.terminate()


if __name__ == "__main__":
    main()
