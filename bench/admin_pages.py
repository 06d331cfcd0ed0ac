"""Admin console pages on a large directory: 100,000 accounts, 5,000 departments, 200,000
audit rows. Measures the server time (in-process WSGI request: routing, queries, template)
of the accounts table, an account detail, the department tree and the audit log.

Usage: .venv/bin/python bench/admin_pages.py [--database-url URL] [--repeat 40]
Default: a throwaway SQLite file. For PostgreSQL pass an EMPTY throwaway database; the
benchmark refuses to run on a database that already has idaas tables and drops its tables
afterwards. The seed is bulk-inserted (Core executemany), not created row by row.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import tempfile
import time
import uuid
from datetime import datetime, timedelta
from typing import Any

ACCOUNTS = 100_000
FANOUT = (20, 10, 24)  # 20 + 200 + 4,800 = 5,020 departments
AUDIT_ROWS = 200_000
BATCH = 5_000
PASSWORD = "Bench-Admin-Pass-1"


def seed(db: Any) -> dict[str, Any]:
    """Bulk-insert departments, accounts with one primary membership each, and audit rows."""
    from idaas.audit.models import AuditEvent
    from idaas.directory.models import Account, Department, Membership

    now = datetime(2026, 11, 1)
    departments: list[dict[str, Any]] = []
    next_id = 1
    level: list[dict[str, Any]] = [{"id": None, "path": "/", "depth": -1}]
    for fanout in FANOUT:
        new_level = []
        for parent in level:
            for i in range(fanout):
                row = {
                    "id": next_id,
                    "name": f"部门 {next_id} ({i})",
                    "parent_id": parent["id"],
                    "path": f"{parent['path']}{next_id}/",
                    "depth": parent["depth"] + 1,
                    "sort_order": i,
                    "source": "local",
                    "attributes": {},
                    "version": 1,
                    "created_at": now,
                    "updated_at": now,
                }
                next_id += 1
                new_level.append(row)
        departments.extend(new_level)
        level = new_level
    for start in range(0, len(departments), BATCH):
        db.session.execute(db.insert(Department), departments[start : start + BATCH])
    leaves = [d["id"] for d in level]
    rng = random.Random(7)
    for start in range(0, ACCOUNTS, BATCH):
        accounts, memberships = [], []
        for n in range(start, min(start + BATCH, ACCOUNTS)):
            name = f"user{n:06d}"
            accounts.append(
                {
                    "id": n + 1,
                    "uuid": str(uuid.UUID(int=rng.getrandbits(128))),
                    "username": name,
                    "username_key": name,
                    "display_name": f"员工 {n}",
                    "email": f"{name}@example.com",
                    "email_key": f"{name}@example.com",
                    "status": "disabled" if n % 17 == 0 else "active",
                    "source": "local",
                    "attributes": {},
                    "must_change_password": False,
                    "version": 1,
                    "created_at": now + timedelta(seconds=n),
                    "updated_at": now,
                }
            )
            memberships.append(
                {
                    "account_id": n + 1,
                    "department_id": leaves[n % len(leaves)],
                    "is_primary": True,
                    "sort_order": 0,
                }
            )
        db.session.execute(db.insert(Account), accounts)
        db.session.execute(db.insert(Membership), memberships)
    actions = ["account.updated", "auth.login", "department.created", "role.assigned"]
    for start in range(0, AUDIT_ROWS, BATCH):
        rows = [
            {
                "occurred_at": now + timedelta(seconds=n),
                "actor": f"admin:{n % 50}" if n % 3 else f"user:{n % ACCOUNTS}",
                "action": actions[n % 4],
                "target_type": "account",
                "target_id": str(n % ACCOUNTS + 1),
                "outcome": "failure" if n % 29 == 0 else "success",
                "ip": "10.0.0.1",
                "user_agent": "bench",
                "details": {"n": n},
            }
            for n in range(start, min(start + BATCH, AUDIT_ROWS))
        ]
        db.session.execute(db.insert(AuditEvent), rows)
    db.session.commit()
    if db.engine.dialect.name == "postgresql":
        from sqlalchemy import text

        for table in ("department", "account", "membership", "audit_event"):
            db.session.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT max(id) FROM {table}))"
                )
                if table != "membership"
                else text("SELECT 1")
            )
            db.session.execute(text(f"ANALYZE {table}"))
        db.session.commit()
    return {"top": departments[0]["id"], "middle": 21, "departments": len(departments)}


def p95(samples: list[float]) -> float:
    """The 95th percentile (nearest rank)."""
    ordered = sorted(samples)
    return ordered[max(0, int(round(0.95 * len(ordered))) - 1)]


def measure(client: Any, path: str, repeat: int) -> tuple[float, float]:
    """(median, p95) in ms of GET `path`, after two warm-up requests; every answer must be 200."""
    for _ in range(2):
        assert client.get(path).status_code == 200, path
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        response = client.get(path)
        samples.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, (path, response.status_code)
    return statistics.median(samples), p95(samples)


SEARCHES = (
    "/admin/accounts?q=user0999",
    "/admin/accounts?q=example.com",
    "/admin/search?q=员工 42",
)


def compare_search_index(db: Any, client: Any, repeat: int) -> None:
    """Time the contains-searches with the trigram indexes dropped, then created; 3 rounds."""
    from sqlalchemy import text

    from idaas.directory.models import SEARCH_COLUMNS

    def toggle(on: bool) -> None:
        for column in SEARCH_COLUMNS:
            name = f"ix_account_{column}_trgm"
            db.session.execute(
                text(f"CREATE INDEX {name} ON account USING gin ({column} gin_trgm_ops)")
                if on
                else text(f"DROP INDEX IF EXISTS {name}")
            )
        db.session.execute(text("ANALYZE account"))
        db.session.commit()

    print(f"{'search (p95, ms)':<44} {'no index':>9} {'trigram':>9} {'ratio':>6}")
    for round_ in range(3):
        for path in SEARCHES:
            toggle(False)
            without = measure(client, path, repeat)[1]
            toggle(True)
            with_index = measure(client, path, repeat)[1]
            print(
                f"round {round_ + 1} {path:<36} {without:7.1f}ms {with_index:7.1f}ms "
                f"{without / with_index:5.1f}x"
            )


def main() -> None:
    """Seed once, then time each page."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", default=os.environ.get("IDAAS_BENCH_DATABASE_URL"))
    parser.add_argument("--repeat", type=int, default=40)
    parser.add_argument(
        "--compare-search-index",
        action="store_true",
        help="PostgreSQL: also time the search pages without and with the trigram indexes, "
        "interleaved in one run (a same-round ratio on a loaded machine)",
    )
    args = parser.parse_args()
    workdir = tempfile.mkdtemp(prefix="idaas-bench-")
    os.environ["IDAAS_INSTANCE_PATH"] = workdir
    url = args.database_url or f"sqlite:///{workdir}/bench.db"

    from sqlalchemy import inspect

    from idaas import create_app
    from idaas.extensions import db

    app = create_app(
        {
            "DATABASE_URL": url,
            "ENV": "testing",
            "WTF_CSRF_ENABLED": False,
            "RATELIMIT_ENABLED": False,
            "ARGON2_MEMORY_COST": 256,
            "ARGON2_TIME_COST": 1,
            "ARGON2_PARALLELISM": 1,
        }
    )
    with app.app_context():
        if "account" in inspect(db.engine).get_table_names():
            raise SystemExit(
                "refusing to run: the database already has idaas tables; "
                "point --database-url at an empty, throwaway database"
            )
        db.create_all()
        try:
            start = time.perf_counter()
            ids = seed(db)
            print(
                f"database: {db.engine.dialect.name}; seeded {ACCOUNTS} accounts, "
                f"{ids['departments']} departments, {AUDIT_ROWS} audit rows "
                f"in {time.perf_counter() - start:.1f}s"
            )
            from idaas.directory.bootstrap import ensure_administrator

            ensure_administrator("system", "benchroot", PASSWORD)
            from idaas.directory import service

            admin = service.find_by_identifier("benchroot")
            admin.must_change_password = False
            db.session.commit()
            client = app.test_client()
            login = client.post("/login", data={"identifier": "benchroot", "password": PASSWORD})
            assert login.status_code == 302, login.data[:500]
            pages = [
                ("accounts table (first page)", "/admin/accounts"),
                ("accounts table (page after user050000)", None),
                ("accounts table, department filter", f"/admin/accounts?department={ids['top']}"),
                ("accounts table, search", "/admin/accounts?q=user0999"),
                ("account detail", "/admin/accounts/50000"),
                ("department tree (top level)", "/admin/departments"),
                ("department tree (expand a node)", f"/admin/departments/{ids['middle']}/children"),
                ("department page", f"/admin/departments/{ids['middle']}"),
                ("audit log (newest)", "/admin/audit"),
                ("audit log, actor filter", "/admin/audit?actor=admin:7"),
                ("audit log, target filter", "/admin/audit?target=account:4242"),
            ]
            from idaas.admin.table import encode_cursor

            with app.test_request_context():
                deep = encode_cursor("accounts", "username.asc", "user050000", 50001)
            print(f"{'page':<44} {'median':>9} {'p95':>9}")
            for label, path in pages:
                path = path or f"/admin/accounts?cursor={deep}"
                median, high = measure(client, path, args.repeat)
                flag = "" if high < 300 else "  <-- over 300 ms"
                print(f"{label:<44} {median:7.1f}ms {high:7.1f}ms{flag}")
            if args.compare_search_index and db.engine.dialect.name == "postgresql":
                compare_search_index(db, client, args.repeat)
        finally:
            db.session.remove()
            if db.engine.dialect.name == "postgresql":
                db.drop_all()


if __name__ == "__main__":
    main()
