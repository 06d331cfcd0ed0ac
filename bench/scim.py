"""Benchmark the SCIM server (/scim/v2) with 100,000 accounts, on SQLite and PostgreSQL.

Starts `idaas serve` (gunicorn) on a free loopback port with a throwaway instance, seeds the
accounts with one bulk INSERT per 5,000 rows (not 100,000 service calls: the point is the
read and write paths, not the seeding), gets a client-credentials token, then measures:

- `filter=userName eq "x"` lookups (target p99 < 10 ms),
- 100-item pages at random offsets, with totalResults (target p99 < 50 ms),
- PATCH replace of one attribute (target p99 < 20 ms; audited, evented, committed),
- one Bulk request of 1,000 POST operations (target < 5 s),
- lookup requests/s from 16 concurrent clients (Entra requires at least 25 requests/s).

    .venv/bin/python bench/scim.py [--accounts 100000] [--database sqlite|postgresql|both]
        [--postgres-url postgresql+psycopg://postgres@127.0.0.1:5432/idaas_scim_bench]

The PostgreSQL database is emptied (DROP SCHEMA public) first: give it a throwaway one.
"""

from __future__ import annotations

import argparse
import json
import random
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx
from harness import arguments, latency_line, percentile, served_idaas
from sqlalchemy import MetaData, create_engine, insert, text

SCIM_TYPE = "application/scim+json"
SCIM = {"Content-Type": SCIM_TYPE}
USER = "urn:ietf:params:scim:schemas:core:2.0:User"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
BULK = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
CHUNK = 5000


def seed(url: str, count: int) -> float:
    """Insert `count` accounts in bulk; return the seconds it took."""
    engine = create_engine(url)
    table = MetaData()
    table.reflect(engine, only=["account"])
    account = table.tables["account"]
    now = datetime.now(UTC).replace(tzinfo=None)
    started = time.perf_counter()
    with engine.begin() as connection:
        for offset in range(0, count, CHUNK):
            rows = [
                {
                    "uuid": str(uuid.uuid4()),
                    "username": f"user{i:06d}",
                    "username_key": f"user{i:06d}",
                    "display_name": f"User {i:06d}",
                    "email": f"user{i:06d}@example.com",
                    "email_key": f"user{i:06d}@example.com",
                    "status": "active",
                    "must_change_password": False,
                    "source": "local",
                    "attributes": {},
                    "version": 1,
                    "created_at": now,
                    "updated_at": now,
                }
                for i in range(offset, min(offset + CHUNK, count))
            ]
            connection.execute(insert(account), rows)
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:
            connection.execute(text("ANALYZE account"))
    engine.dispose()
    return time.perf_counter() - started


def token(base: str, client_id: str, secret: str) -> str:
    """A client-credentials access token with the SCIM scopes."""
    response = httpx.post(
        base + "/oauth2/token",
        data={"grant_type": "client_credentials"},
        auth=(client_id, secret),
        timeout=30,
    )
    response.raise_for_status()
    return str(response.json()["access_token"])


def timed(http: httpx.Client, method: str, path: str, expect: int, **kwargs: object) -> float:
    """One request; its seconds, or SystemExit on an unexpected status."""
    started = time.perf_counter()
    response = http.request(method, path, **kwargs)  # type: ignore[arg-type]
    elapsed = time.perf_counter() - started
    if response.status_code != expect:
        raise SystemExit(f"{method} {path}: {response.status_code} {response.text[:300]}")
    return elapsed


def lookups(http: httpx.Client, count: int, accounts: int) -> list[float]:
    """`filter=userName eq` for random existing users."""
    out = []
    for _ in range(count):
        name = f"user{random.randrange(accounts):06d}"
        out.append(timed(http, "GET", "/Users", 200, params={"filter": f'userName eq "{name}"'}))
    return out


def pages(http: httpx.Client, count: int, accounts: int) -> list[float]:
    """100-item pages at random offsets (with totalResults)."""
    return [
        timed(
            http,
            "GET",
            "/Users",
            200,
            params={"startIndex": random.randrange(1, accounts - 100), "count": 100},
        )
        for _ in range(count)
    ]


def patches(http: httpx.Client, ids: list[str], count: int) -> list[float]:
    """PATCH replace of `title` on random users."""
    out = []
    for n in range(count):
        body = {
            "schemas": [PATCH],
            "Operations": [{"op": "replace", "path": "title", "value": f"Title {n}"}],
        }
        out.append(
            timed(http, "PATCH", f"/Users/{random.choice(ids)}", 200, json=body, headers=SCIM)
        )
    return out


def bulk_body(size: int) -> dict[str, object]:
    """A BulkRequest creating `size` new users."""
    tag = uuid.uuid4().hex[:8]
    return {
        "schemas": [BULK],
        "Operations": [
            {
                "method": "POST",
                "path": "/Users",
                "bulkId": f"b{i}",
                "data": {"schemas": [USER], "userName": f"bulk-{tag}-{i}", "active": True},
            }
            for i in range(size)
        ],
    }


def bulk(http: httpx.Client, size: int) -> float:
    """One Bulk request creating `size` users; its seconds."""
    body = bulk_body(size)
    started = time.perf_counter()
    response = http.post("/Bulk", json=body, headers=SCIM, timeout=120)
    elapsed = time.perf_counter() - started
    statuses = {op["status"] for op in response.json()["Operations"]}
    if response.status_code != 200 or statuses != {"201"}:
        raise SystemExit(f"Bulk failed: {response.status_code} {statuses}")
    return elapsed


def throughput(base: str, auth: str, clients: int, seconds: float, accounts: int) -> float:
    """Lookup requests/s from `clients` concurrent keep-alive clients."""
    done = [0] * clients
    errors: list[str] = []
    stop = time.monotonic() + seconds

    def run(slot: int) -> None:
        with httpx.Client(base_url=base, headers={"Authorization": auth}, timeout=30) as http:
            while time.monotonic() < stop:
                name = f"user{random.randrange(accounts):06d}"
                response = http.get("/Users", params={"filter": f'userName eq "{name}"'})
                if response.status_code == 200:
                    done[slot] += 1
                else:
                    errors.append(str(response.status_code))

    threads = [threading.Thread(target=run, args=(i,)) for i in range(clients)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise SystemExit(f"throughput errors: {errors[:5]}")
    return sum(done) / (time.monotonic() - started)


def cpu_costs(url: str, instance: str, accounts: int, samples: int) -> dict[str, float]:
    """CPU milliseconds (thread time, p50) one request costs, measured in-process.

    The machine these figures come from is shared: wall-clock latencies include time spent
    waiting for a core. Thread CPU time is what one request costs this process, whatever the
    load, so it shows what the latencies would be on an idle core (plus database I/O).
    """
    import base64
    import os
    import statistics

    os.environ["IDAAS_INSTANCE_PATH"] = instance
    from idaas import create_app
    from idaas.applications import service as clients

    app = create_app({"DATABASE_URL": url, "RATELIMIT_ENABLED": False})
    costs: dict[str, list[float]] = {"lookup": [], "page": [], "patch": []}
    bulk_cpu = 0.0
    with app.app_context():
        client, secret = clients.create_client("system", name="cpu", scopes=["scim:write"])
        http = app.test_client()
        basic = base64.b64encode(f"{client.client_id}:{secret}".encode()).decode()
        issued = http.post(
            "/oauth2/token",
            data={"grant_type": "client_credentials"},
            headers={"Authorization": "Basic " + basic},
        )
        headers = {"Authorization": "Bearer " + issued.get_json()["access_token"]}
        ids = [
            r["id"]
            for r in http.get("/scim/v2/Users?count=50&startIndex=500", headers=headers).get_json()[
                "Resources"
            ]
        ]
        for n in range(samples):
            name = f"user{random.randrange(accounts):06d}"
            calls = {
                "lookup": ("GET", f'/scim/v2/Users?filter=userName eq "{name}"', None),
                "page": (
                    "GET",
                    f"/scim/v2/Users?count=100&startIndex={random.randrange(1, accounts - 100)}",
                    None,
                ),
                "patch": (
                    "PATCH",
                    f"/scim/v2/Users/{random.choice(ids)}",
                    {
                        "schemas": [PATCH],
                        "Operations": [{"op": "replace", "path": "title", "value": f"cpu {n}"}],
                    },
                ),
            }
            for key, (method, path, body) in calls.items():
                started = time.thread_time()
                response = http.open(
                    path,
                    method=method,
                    headers=headers,
                    data=json.dumps(body) if body else None,
                    content_type=SCIM_TYPE if body else None,
                )
                costs[key].append(time.thread_time() - started)
                assert response.status_code == 200, response.get_data(as_text=True)
        body = bulk_body(1000)
        started = time.thread_time()
        response = http.post(
            "/scim/v2/Bulk", headers=headers, data=json.dumps(body), content_type=SCIM_TYPE
        )
        bulk_cpu = time.thread_time() - started
        assert {op["status"] for op in response.get_json()["Operations"]} == {"201"}
    figures = {key: statistics.median(values) * 1000 for key, values in costs.items()}
    return {**figures, "bulk_1000": bulk_cpu * 1000}


def run(database: str, args: argparse.Namespace) -> dict[str, object]:
    """Seed, serve and measure one database; print and return the figures."""
    env = {}
    if database == "postgresql":
        engine = create_engine(args.postgres_url)
        with engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
        engine.dispose()
        env["IDAAS_DATABASE_URL"] = args.postgres_url
    with served_idaas(workers=args.workers, threads=args.server_threads, env=env) as idaas:
        url = env.get("IDAAS_DATABASE_URL") or (
            "sqlite:///" + str(Path(idaas.env["IDAAS_INSTANCE_PATH"]) / "idaas.db")
        )
        seconds = seed(url, args.accounts)
        print(f"[{database}] seeded {args.accounts} accounts in {seconds:.1f} s")
        client_id, secret = idaas.api_client("scim:read", "scim:write", name="bench-scim")
        auth = "Bearer " + token(idaas.url, client_id, secret)
        with httpx.Client(
            base_url=idaas.url + "/scim/v2", headers={"Authorization": auth}, timeout=60
        ) as http:
            lookups(http, 30, args.accounts)  # warm-up
            found = lookups(http, args.samples, args.accounts)
            pages(http, 5, args.accounts)
            paged = pages(http, args.page_samples, args.accounts)
            sample = http.get("/Users", params={"startIndex": 1000, "count": 200}).json()
            ids = [r["id"] for r in sample["Resources"]]
            patches(http, ids, 10)
            patched = patches(http, ids, args.samples // 2)
            bulk_seconds = bulk(http, 1000)
        rate = throughput(idaas.url + "/scim/v2", auth, 16, args.seconds, args.accounts)
        cpu = cpu_costs(url, idaas.env["IDAAS_INSTANCE_PATH"], args.accounts, args.cpu_samples)
    figures = {
        "database": database,
        "accounts": args.accounts,
        "lookup_ms": {"p50": percentile(found, 0.5), "p99": percentile(found, 0.99)},
        "page_ms": {"p50": percentile(paged, 0.5), "p99": percentile(paged, 0.99)},
        "patch_ms": {"p50": percentile(patched, 0.5), "p99": percentile(patched, 0.99)},
        "bulk_1000_s": bulk_seconds,
        "lookup_rps_16_clients": rate,
        "entra_margin": rate / 25,
        "cpu_ms_p50": cpu,
    }
    print(f"[{database}] userName eq lookup: {latency_line(found)}  (target p99 < 10 ms)")
    print(f"[{database}] 100-item page:      {latency_line(paged)}  (target p99 < 50 ms)")
    print(f"[{database}] PATCH:              {latency_line(patched)}  (target p99 < 20 ms)")
    print(f"[{database}] Bulk 1,000 POSTs:   {bulk_seconds:.2f} s  (target < 5 s)")
    print(
        f"[{database}] lookups at 16 clients: {rate:.0f} req/s "
        f"= {rate / 25:.1f}x Entra's 25 req/s minimum"
    )
    print(
        f"[{database}] CPU per request (thread time, p50): lookup {cpu['lookup']:.1f} ms, "
        f"100-item page {cpu['page']:.1f} ms, PATCH {cpu['patch']:.1f} ms, "
        f"Bulk of 1,000 POSTs {cpu['bulk_1000'] / 1000:.2f} s"
    )
    return figures


def main() -> None:
    """Run the benchmark and print the figures."""
    parser = arguments(
        __doc__, accounts=100_000, samples=1000, page_samples=300, seconds=10.0,
        cpu_samples=100, workers=2, server_threads=4,
    )  # fmt: skip
    parser.add_argument("--database", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument(
        "--postgres-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/idaas_scim_bench"
    )
    parser.add_argument("--json", action="store_true", help="Print the figures as JSON too.")
    args = parser.parse_args()
    databases = ["sqlite", "postgresql"] if args.database == "both" else [args.database]
    results = [run(database, args) for database in databases]
    if args.json:
        print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
