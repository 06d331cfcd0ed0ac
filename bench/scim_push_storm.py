"""The 10,000-change SCIM push storm: kill -9 the worker mid-way; the target converges exactly.

Usage: .venv/bin/python bench/scim_push_storm.py --db postgresql+psycopg://postgres@127.0.0.1/x
                                                 [--accounts 3300] [--error 0.1] [--stall 0.03]

The scale version of `tests/scim_push/test_storm.py` (same changes, same checks): a scim2-server
on loopback answers a fraction of requests with 500 or too late; an `idaas worker` process is
killed with SIGKILL a third of the way through, a new one finishes. Prints the change count, the
time to converge, requests sent and duplicates absorbed. The database's schema is rebuilt.
"""

from __future__ import annotations

import argparse
import atexit
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    """Run the storm and check convergence."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", required=True)
    parser.add_argument("--accounts", type=int, default=3300)
    parser.add_argument("--error", type=float, default=0.1)
    parser.add_argument("--stall", type=float, default=0.03)
    args = parser.parse_args()
    os.environ.setdefault("IDAAS_INSTANCE_PATH", tempfile.mkdtemp(prefix="idaas-storm-"))

    from sqlalchemy import func, select

    from idaas import create_app
    from idaas.directory import service
    from idaas.events.models import Delivery
    from idaas.extensions import db
    from idaas.schema import drop_everything, upgrade_database
    from idaas.scim.push.models import ProvisioningLog
    from tests.events import procs
    from tests.scim_push.conftest import make_application, push_to
    from tests.scim_push.server import spawn_server
    from tests.scim_push.test_storm import STORM, apply_storm, assert_converged, settled, storm

    app = create_app({"DATABASE_URL": args.db, "EVENTS_EMBEDDED_WORKER": "false", **STORM})
    env = procs.env_for(args.db, **STORM)
    target, server = spawn_server()
    atexit.register(server.terminate)  # also when a check fails
    with app.app_context():
        drop_everything()
        upgrade_database()
        push_to(make_application(), target.url)
        team = service.create_group("admin:1", name="Team")
        target.remote(error=args.error, stall=args.stall, stall_for=0.8)
        changes = storm(args.accounts)
        worker = procs.spawn(env)
        procs.wait_started(worker)
        started = time.monotonic()
        ids: dict[int, int] = {}
        gone: set[int] = set()
        third = len(changes) // 3
        apply_storm(changes[:third], team.id, ids, gone)
        procs.kill9(worker)
        print(f"killed the worker after {target.request_count()} requests", flush=True)
        apply_storm(changes[third:], team.id, ids, gone)
        committed = time.monotonic() - started
        with procs.workers(env) as (restarted,):
            procs.wait_started(restarted)
            while not settled():
                time.sleep(0.5)
        converged = time.monotonic() - started
        dead = db.session.scalar(
            select(func.count()).select_from(Delivery).where(Delivery.status == "dead")
        )
        assert dead == 0, f"{dead} dead letters"
        requests = target.request_count()
        target.remote()  # reads without faults
        assert_converged(target, len(gone))
        absorbed = db.session.scalar(
            select(func.count())
            .select_from(ProvisioningLog)
            .where(ProvisioningLog.operation == "reconciled")
        )
        print(
            f"{len(changes)} changes ({len(ids)} accounts, {len(gone)} deleted) committed in "
            f"{committed:.0f} s, target converged exactly after {converged:.0f} s; "
            f"{requests} requests, {absorbed} duplicates absorbed, 0 lost"
        )
        print(f"load average: {os.getloadavg()}")
    server.terminate()


if __name__ == "__main__":
    main()
