"""Single permission checks (`/industry/app/res/permission/authenticate`) per second and p99.

Usage: .venv/bin/python bench/industry_permission.py [--clients 16] [--seconds 20]
           [--accounts 100000] [--roles 1000] [--active 5000] [--workers 2] [--threads 8]
           [--redis-url URL|""] [--database-url URL]

Serves idaas with gunicorn (bench/harness.py; a throwaway SQLite instance unless
--database-url names an empty PostgreSQL database), bulk-inserts the seed (accounts, roles,
two roles per account, ten resource codes per role), issues a gateway AppSecret, then runs
`--clients` concurrent clients (processes x threads) that sign every request the way the
Alibaba SDK does (HMAC-SHA256, fresh nonce, Content-MD5) for `--seconds`. Every answer is
checked against the seed. `--active` is the number of employees the clients draw from (a
factory's working set; `--warmup` seconds of unmeasured load fill the caches first);
`--active 0` draws from all accounts (mostly cache misses).

The default server shape, 2 workers x 8 threads (one process per core, threads to overlap the
store round trip), served about twice the checks/s of 4 x 4 and 8 x 2 in one round on 2 CPUs.
Besides checks/s and latency it prints the server's CPU time per check (all gunicorn processes,
user + system, over the measured seconds): on a machine shared with other work that figure
moves much less than checks/s. Redis: `--redis-url` or IDAAS_BENCH_REDIS_URL; "" = none
(nonces and the cache generation in the database).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import sys
import threading
import time
import uuid
from contextlib import closing
from http.client import HTTPConnection
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import latency_line, percentile, served_idaas  # noqa: E402

PATH = "/industry/app/res/permission/authenticate"
RESOURCES_PER_ROLE = 10


def roles_of(index: int, roles: int) -> tuple[int, int]:
    """The two roles (0-based) seeded for account `index`."""
    return index % roles, (index * 7 + 3) % roles


def seed(env: dict[str, str], app_id: str, accounts: int, roles: int) -> list[str]:
    """Bulk-insert the directory; return the auid of every account, in index order."""
    os.environ.update(env)
    from sqlalchemy import insert

    from idaas import create_app
    from idaas.directory.models import Account, ApplicationPermission, Role, RoleAssignment
    from idaas.extensions import db, utcnow
    from idaas.industry.mapping import auid_of

    app = create_app()
    auids: list[str] = []
    with app.app_context():
        now = utcnow()
        role_ids = list(
            db.session.scalars(
                insert(Role).returning(Role.id),
                [
                    {
                        "code": f"bench.r{r}",
                        "name": f"角色{r}",
                        "version": 1,
                        "created_at": now,
                        "updated_at": now,
                    }
                    for r in range(roles)
                ],
            )
        )
        db.session.execute(
            insert(ApplicationPermission),
            [
                {
                    "role_id": role_ids[r],
                    "application": app_id,
                    "resource": f"res_{r}_{k}",
                    "action": "access",
                }
                for r in range(roles)
                for k in range(RESOURCES_PER_ROLE)
            ],
        )
        chunk = 5000
        for start in range(0, accounts, chunk):
            rows = []
            for i in range(start, min(accounts, start + chunk)):
                rows.append(
                    {
                        "uuid": str(uuid.uuid4()),
                        "username": f"w{i}",
                        "username_key": f"w{i}",
                        "display_name": f"工人{i}",
                        "mobile": f"+86139{i:08d}",
                        "status": "active",
                        "source": "local",
                        "attributes": {},
                        "must_change_password": False,
                        "version": 1,
                        "created_at": now,
                        "updated_at": now,
                    }
                )
            ids = list(
                db.session.scalars(
                    insert(Account).returning(Account.id, sort_by_parameter_order=True), rows
                )
            )
            db.session.execute(
                insert(RoleAssignment),
                [
                    {"account_id": account_id, "role_id": role_ids[r]}
                    for offset, account_id in enumerate(ids)
                    for r in set(roles_of(start + offset, roles))
                ],
            )
            auids.extend(auid_of(Account(uuid=row["uuid"])) for row in rows)
        db.session.commit()
        db.engine.dispose()
    return auids


def _signed(key: str, secret: str, body: bytes) -> dict[str, str]:
    from idaas.industry import signature

    headers = {
        "Accept": "application/json",
        "Content-Type": "application/octet-stream",
        "Content-MD5": signature.content_md5(body),
        "Date": time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime()),
        "x-ca-key": key,
        "x-ca-nonce": str(uuid.uuid4()),
        "x-ca-signature-method": "HmacSHA256",
        "x-ca-timestamp": str(int(time.time() * 1000)),
    }
    names = sorted(k for k in headers if k.startswith("x-ca-"))
    headers["X-Ca-Signature-Headers"] = ",".join(names)
    text = signature.string_to_sign("POST", headers, names, PATH)
    headers["X-Ca-Signature"] = signature.sign(secret, text)
    return headers


def _check_once(http: HTTPConnection, job: dict, index: int, rng: random.Random) -> float:
    roles = job["roles"]
    granted = rng.random() < 0.5
    role = roles_of(index, roles)[rng.randrange(2)] if granted else rng.randrange(roles)
    code = f"res_{role}_{rng.randrange(RESOURCES_PER_ROLE)}"
    expected = granted or role in roles_of(index, roles)
    body = json.dumps(
        {
            "id": uuid.uuid4().hex,
            "version": "1.0",
            "request": {"apiVer": "1.0.2"},
            "params": {"appId": job["key"], "employeeId": job["auids"][index], "resCode": code},
        }
    ).encode()
    headers = _signed(job["key"], job["secret"], body)
    started = time.perf_counter()
    http.request("POST", PATH, body=body, headers=headers)
    response = http.getresponse()
    payload = response.read()
    elapsed = time.perf_counter() - started
    document = json.loads(payload)
    if response.status != 200 or document["code"] != 200 or document["data"] is not expected:
        raise SystemExit(f"wrong answer for {code}: {response.status} {document}")
    return elapsed


def _server_cpu_seconds() -> float:
    """User + system CPU seconds of the `idaas serve` processes started below this process."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    total, pending = 0.0, list(children.get(os.getpid(), []))
    while pending:
        pid = pending.pop()
        pending.extend(children.get(pid, []))
        try:
            if b"serve" not in Path(f"/proc/{pid}/cmdline").read_bytes():
                continue
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def _client_process(job: dict, barrier: Any, results: Any) -> None:
    barrier.wait()  # every client process is up: start the clock together
    job["start_at"] = time.time() + job["warmup"]
    results.put(_client_threads(job))


def _client_threads(job: dict) -> list[float]:
    latencies: list[float] = []
    failures: list[str] = []
    lock = threading.Lock()
    pool = job["pool"]

    def run(seed_value: int) -> None:
        try:
            _run(seed_value)
        except BaseException as exc:  # a thread's failure must fail the benchmark
            failures.append(repr(exc))

    def _run(seed_value: int) -> None:
        rng = random.Random(seed_value)
        mine: list[float] = []
        # http.client (keep-alive) rather than httpx: the load generator shares the CPU.
        address = urlsplit(job["url"])
        with closing(HTTPConnection(address.hostname, address.port, timeout=10)) as http:
            job_start = job["start_at"]
            while time.time() < job_start:  # warm-up: fill the caches, not measured
                _check_once(http, job, rng.choice(pool), rng)
            while time.time() < job_start + job["seconds"]:
                mine.append(_check_once(http, job, rng.choice(pool), rng))
        with lock:
            latencies.extend(mine)

    threads = [
        threading.Thread(target=run, args=(job["seed"] * 100 + t,)) for t in range(job["threads"])
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise SystemExit(f"client failed: {failures[0]}")
    return latencies


def main() -> None:
    """Seed, serve, load, print."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--roles", type=int, default=1000)
    parser.add_argument("--active", type=int, default=5000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--processes", type=int, default=4, help="client processes")
    parser.add_argument("--warmup", type=float, default=10, help="seconds of unmeasured load")
    parser.add_argument("--redis-url", default=os.environ.get("IDAAS_BENCH_REDIS_URL", ""))
    parser.add_argument("--database-url", default=os.environ.get("IDAAS_BENCH_DATABASE_URL"))
    args = parser.parse_args()
    env = {"IDAAS_INDUSTRY_API_ENABLED": "true"}
    if args.redis_url:
        env["IDAAS_REDIS_URL"] = args.redis_url
    if args.database_url:
        env["IDAAS_DATABASE_URL"] = args.database_url
    with served_idaas(workers=args.workers, threads=args.threads, env=env) as idaas:
        key, _ = idaas.api_client("industry", name="factory")
        secret = json.loads(idaas.cli("industry", "secret", key, "--json"))["app_secret"]
        started = time.perf_counter()
        auids = seed(idaas.env, key, args.accounts, args.roles)
        print(
            f"seeded {args.accounts} accounts, {args.roles} roles, "
            f"{args.roles * RESOURCES_PER_ROLE} resource grants in "
            f"{time.perf_counter() - started:.1f} s"
        )
        rng = random.Random(7)
        pool = (
            rng.sample(range(args.accounts), args.active)
            if args.active
            else list(range(args.accounts))
        )
        per_process = max(1, args.clients // args.processes)
        jobs = [
            {
                "url": idaas.url,
                "key": key,
                "secret": secret,
                "auids": auids,
                "roles": args.roles,
                "pool": pool,
                "threads": per_process,
                "seconds": args.seconds,
                "seed": p,
                "warmup": args.warmup,
            }
            for p in range(args.processes)
        ]
        context = multiprocessing.get_context("spawn")
        barrier, queue = context.Barrier(args.processes + 1), context.Queue()
        processes = [
            context.Process(target=_client_process, args=(job, barrier, queue)) for job in jobs
        ]
        for process in processes:
            process.start()
        barrier.wait()
        time.sleep(args.warmup)
        cpu_before = _server_cpu_seconds()
        time.sleep(args.seconds)
        server_cpu = _server_cpu_seconds() - cpu_before
        latencies = [value for _ in processes for value in queue.get(timeout=600)]
        for process in processes:
            process.join()
        rate = len(latencies) / args.seconds
        print(
            f"{len(latencies)} checks by {per_process * args.processes} clients in "
            f"{args.seconds:.0f} s against {args.workers} workers x {args.threads} threads "
            f"({'PostgreSQL' if args.database_url else 'SQLite'}, nonces in "
            f"{'Redis' if args.redis_url else 'the database'}; working set "
            f"{args.active or args.accounts} employees)"
        )
        print(f"{rate:.0f} checks/s  {latency_line(latencies)}")
        print(
            f"server CPU {server_cpu / max(1, len(latencies)) * 1000:.2f} ms per check; "
            f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
        )
        print(
            f"goal >= 2000 checks/s with p99 < 20 ms: "
            f"{'met' if rate >= 2000 and percentile(latencies, 0.99) < 20 else 'NOT met'}"
        )


if __name__ == "__main__":
    main()
