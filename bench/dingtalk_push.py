"""Push to DingTalk through the delivery engine against the sandbox over real HTTP.

Usage: `.venv/bin/python bench/dingtalk_push.py [people] [--qps N|--no-limit] [--db URL]`
(defaults: 500 people in 10 departments, 20 QPS, a temporary SQLite file). Creates the
people in a pushed subtree, lets the engine deliver them (a `Worker` in this process), then
changes every title; prints people/s for both rounds, the DingTalk calls per API, and the
rate DingTalk's per-API QPS allows. The sandbox is checked against the directory afterwards.
"""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.dingtalk_setup import fresh_connection, idaas_app, seeded_sandbox  # noqa: E402


def _args(argv: list[str]) -> tuple[int, float, str | None]:
    people, qps, db = 500, 20.0, None
    index = 0
    while index < len(argv):
        arg = argv[index]
        if arg == "--no-limit":
            qps = 0
        elif arg in ("--qps", "--db"):
            index += 1
            qps, db = (float(argv[index]), db) if arg == "--qps" else (qps, argv[index])
        else:
            people = int(arg)
        index += 1
    return people, qps, db


def main(argv: list[str]) -> None:
    """Seed, push, change, check and print the figures."""
    people, qps, db_url = _args(argv)
    logging.getLogger("idaas.events").setLevel(logging.ERROR)
    sandbox, url, server = seeded_sandbox(users=5, departments=2, seed=21)
    app = idaas_app(url, db_url, DINGTALK_SYNC_QPS=qps or None)
    from idaas.dingtalk.push import settings
    from idaas.directory import service
    from idaas.events.worker import Worker

    with app.app_context():
        conn = fresh_connection(sandbox)
        root = sandbox.create_department({"name": "Pushed", "parent_id": 1})
        hq = service.create_department("cli:bench", name="HQ")
        settings.save(
            "cli:bench",
            conn,
            {"enabled": True, "source_department_id": hq.id, "root_dept_id": root.dept_id},
        )
        teams = [
            service.create_department("cli:bench", name=f"Team {n}", parent_id=hq.id).id
            for n in range(10)
        ]
        ids = [
            service.create_account(
                "cli:bench",
                username=f"p{n}",
                display_name=f"Person {n}",
                mobile=f"+86139{n:08d}",
                memberships=[{"department_id": teams[n % 10], "is_primary": True}],
            ).id
            for n in range(people)
        ]
        started = time.perf_counter()
        Worker(app).drain(timeout=3600)
        created = time.perf_counter() - started
        for account_id in ids:
            service.update_account("cli:bench", account_id, title="Engineer")
        started = time.perf_counter()
        Worker(app).drain(timeout=3600)
        updated = time.perf_counter() - started
        pushed = [u for u in sandbox.users.values() if u.title == "Engineer"]
        calls = {k: v for k, v in sandbox.calls.items() if k != "gettoken"}
        print(f"people: {people} in 10 departments; QPS limit: {qps or 'none'}")
        print(f"create round: {created:.1f} s = {people / created:.0f} people/s")
        print(f"update round: {updated:.1f} s = {people / updated:.0f} people/s")
        if qps:
            print(f"DingTalk allows at most {qps:.0f} calls/s per API (user/create, user/update)")
        print(f"calls: {calls}")
        print(f"in DingTalk with the new title: {len(pushed)} of {people}")
    server.shutdown()
    sandbox.close()


if __name__ == "__main__":
    main(sys.argv[1:])
