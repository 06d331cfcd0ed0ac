"""Full DingTalk import into idaas against the sandbox over real HTTP: calls, time, people/s.

Usage: `.venv/bin/python bench/dingtalk_import.py [users] [departments] [--qps N|--no-limit]
[--db URL]` (defaults: 20,000 people, 1,000 departments, 20 QPS, a temporary SQLite file).
Prints the calls per API from the sandbox's call log next to what the paging rules imply,
the read time next to the time DingTalk's QPS makes necessary, and the local processing rate
(plan + apply) in people per second, and the CPU time the apply took per person. The
directory is checked against the sandbox afterwards.
"""

from __future__ import annotations

import math
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.dingtalk_setup import fresh_connection, idaas_app, seeded_sandbox  # noqa: E402


def _args(argv: list[str]) -> tuple[int, int, float, str | None]:
    users, departments, qps, db = 20_000, 1_000, 20.0, None
    positional = []
    index = 0
    while index < len(argv):
        arg = argv[index]
        if arg == "--no-limit":
            qps = 0
        elif arg == "--qps":
            index += 1
            qps = float(argv[index])
        elif arg == "--db":
            index += 1
            db = argv[index]
        else:
            positional.append(int(arg))
        index += 1
    if positional:
        users = positional[0]
    if len(positional) > 1:
        departments = positional[1]
    return users, departments, qps, db


def main(argv: list[str]) -> None:
    """Seed, import, check and print the figures."""
    users, departments, qps, db_url = _args(argv)
    sandbox, url, server = seeded_sandbox(users, departments, seed=20)
    app = idaas_app(url, db_url, DINGTALK_SYNC_QPS=qps or None)
    from idaas.dingtalk.sync import runs, settings
    from idaas.dingtalk.sync.jobs import run_here
    from idaas.directory.models import Account
    from idaas.extensions import db

    with app.app_context():
        conn = fresh_connection(sandbox)
        settings.save("cli:bench", conn, {"delete_minimum": users})
        started = time.perf_counter()
        run, job = runs.preview("cli:bench", conn)
        run_here(job)
        read_and_plan = time.perf_counter() - started
        run = runs.get_run(run.id)
        job = runs.apply("cli:bench", run)
        started, cpu_started = time.perf_counter(), time.process_time()
        if os.environ.get("BENCH_PROFILE"):
            import cProfile
            import pstats

            profile = cProfile.Profile()
            profile.runcall(run_here, job)
            stats = pstats.Stats(profile).sort_stats(os.environ.get("BENCH_SORT", "tottime"))
            stats.print_stats(int(os.environ.get("BENCH_LINES", "25")))
        else:
            run_here(job)
        apply_time = time.perf_counter() - started
        apply_cpu = time.process_time() - cpu_started
        imported = db.session.query(Account).count()
        expected = {
            "topapi/v2/department/listsub": len(sandbox.departments),
            "topapi/v2/user/list": sum(
                max(1, math.ceil(len(m) / 100)) for m in sandbox.members.values()
            ),
        }
        calls = {k: v for k, v in sandbox.calls.items() if k != "gettoken"}
        necessary = sum(n / qps for n in expected.values()) if qps else 0.0
        print(f"corp: {users} people, {departments} departments; QPS limit: {qps or 'none'}")
        print(f"calls: {calls}")
        print(f"paging rules imply: {expected}; exact: {calls == expected}")
        print(f"read + plan: {read_and_plan:.1f} s (QPS makes {necessary:.1f} s necessary)")
        print(f"apply: {apply_time:.1f} s = {imported / apply_time:.0f} people/s")
        # The wall time depends on the machine's load; the process CPU time much less.
        print(f"apply CPU: {apply_cpu:.1f} s = {apply_cpu / imported * 1000:.2f} ms/person")
        print(f"imported accounts: {imported} of {len(sandbox.users)}")
    server.shutdown()
    sandbox.close()


if __name__ == "__main__":
    main(sys.argv[1:])
