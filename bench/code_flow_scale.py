"""Authorization-code flows as stored codes grow: the nonce replay check must stay flat.

Starts `idaas serve` on a throwaway SQLite instance, runs code flows (authorize + token with
PKCE + userinfo, signed-in session) with few codes on record, then stores old used codes of the
same application (direct bulk INSERTs into the instance database, each with its own nonce) up to
each `--stored` level and runs the flows again. Prints flows/s and latency per level and the
time of the nonce lookup itself (the query authorize makes, twice before issue 18) with its plan.

    .venv/bin/python bench/code_flow_scale.py [--stored 100000 1000000] [--flows 400] [--code DIR]
"""

from __future__ import annotations

import argparse
import secrets
import sqlite3
import time
from pathlib import Path

from harness import served_idaas
from oidc_flows import code_flows, prepare, run

NONCE_QUERY = "SELECT id FROM oidc_authorization_code WHERE client_id = ? AND nonce = ?"


def store_codes(database: Path, client_id: str, account_id: int, upto: int) -> int:
    """Add used, expired codes of `client_id` until `upto` are on record; return the count."""
    with sqlite3.connect(database, timeout=60) as conn:
        have = conn.execute("SELECT count(*) FROM oidc_authorization_code").fetchone()[0]
        batch = 20_000
        while have < upto:
            rows = [
                (
                    secrets.token_hex(32),
                    client_id,
                    account_id,
                    "https://rp.bench.invalid/callback",
                    "openid",
                    secrets.token_urlsafe(12),
                    int(time.time()),
                )
                for _ in range(min(batch, upto - have))
            ]
            conn.executemany(
                "INSERT INTO oidc_authorization_code (code_hash, client_id, account_id,"
                " redirect_uri, scope, nonce, auth_time, amr, created_at, expires_at, used_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, '[]', datetime('now', '-1 day'),"
                " datetime('now', '-1 day'), datetime('now', '-1 day'))",
                rows,
            )
            conn.commit()
            have += len(rows)
        return int(have)


def nonce_lookup(database: Path, client_id: str) -> str:
    """The plan and mean time of the nonce replay query for an unused nonce."""
    with sqlite3.connect(database) as conn:
        plan = conn.execute("EXPLAIN QUERY PLAN " + NONCE_QUERY, (client_id, "x")).fetchall()
        started = time.perf_counter()
        for _ in range(200):
            conn.execute(NONCE_QUERY, (client_id, secrets.token_urlsafe(8))).fetchall()
        mean_ms = (time.perf_counter() - started) / 200 * 1000
    return f"nonce lookup {mean_ms:.3f} ms ({'; '.join(str(row[-1]) for row in plan)})"


def main() -> None:
    """Run the flows at each stored-code level and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stored", type=int, nargs="+", default=[100_000])
    parser.add_argument("--flows", type=int, default=400)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--server-threads", type=int, default=4)
    parser.add_argument("--code", type=Path, help="another idaas checkout to run (e.g. before)")
    args = parser.parse_args()
    with served_idaas(workers=args.workers, threads=args.server_threads, code=args.code) as idaas:
        rp, _ = prepare(idaas)
        database = Path(idaas.env["IDAAS_INSTANCE_PATH"]) / "idaas.db"
        with sqlite3.connect(database) as conn:
            account_id = conn.execute("SELECT id FROM account WHERE username = 'alice'").fetchone()
        print(f"idaas serve ({args.workers}x{args.server_threads}, SQLite), loopback")
        ok = True
        for level in [1_000, *args.stored]:
            stored = store_codes(database, rp[0], int(account_id[0]), level)
            print(f"-- {stored:,} codes on record; {nonce_lookup(database, rp[0])}")
            ok = run("code flows", code_flows, idaas.url, rp, args.flows, args.threads) and ok
    if not ok:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
