"""SCIM push end to end: a change made in the DingTalk sandbox reaches a SCIM target.

Usage: .venv/bin/python bench/propagation.py [--people 500] [--changes 200] [--rate 20]
                                             [--backlog 500] [--db URL]

The DingTalk sandbox, idaas and a scim2-server (its own process) run on loopback. The sandbox
pushes each change to idaas' callback over real HTTP; idaas applies it to the directory; the
delivery engine (an in-process worker, as in `idaas serve`) pushes it to the SCIM target.
- latency: `--changes` title changes in the sandbox at `--rate`/s; from the sandbox change to
  the User carrying the new title arriving at the target (p50/p95; goal p95 < 1 s);
- throughput: `--backlog` changes of distinct accounts committed to the directory while no
  worker runs, then a worker starts; pushed changes per second to the one target, from the
  worker's start to the last arrival (goal >= 200/s).
"""

from __future__ import annotations

import argparse
import atexit
import json
import logging
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
from sqlalchemy import select
from werkzeug.serving import make_server

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from idaas import create_app  # noqa: E402
from idaas.sandbox.dingtalk import create_sandbox_app  # noqa: E402
from idaas.sandbox.dingtalk.state import Sandbox  # noqa: E402
from tests.scim_push.server import spawn_server  # noqa: E402


def _serve(app: object) -> tuple[str, object]:
    server = make_server("127.0.0.1", 0, app, threaded=True)  # type: ignore[arg-type]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_port}", server


def _pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[max(0, int(len(values) * p) - 1)] if values else float("nan")


def _arrivals(http: httpx.Client, url: str) -> dict[str, float]:
    return dict(http.get(f"{url}/_arrivals").json())


def _wait_for(http: httpx.Client, url: str, titles: list[str], timeout: float) -> dict[str, float]:
    deadline = time.monotonic() + timeout
    while True:
        seen = _arrivals(http, url)
        if all(t in seen for t in titles) or time.monotonic() > deadline:
            return seen
        time.sleep(0.1)


def main() -> None:
    """Import, provision, then measure latency and throughput; print the figures."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--people", type=int, default=500)
    parser.add_argument("--changes", type=int, default=200)
    parser.add_argument("--rate", type=float, default=20.0)
    parser.add_argument("--backlog", type=int, default=500)
    parser.add_argument("--db")
    args = parser.parse_args()
    for name in ("werkzeug", "httpx", "idaas.events"):
        logging.getLogger(name).setLevel(logging.ERROR)
    sandbox = Sandbox()
    sandbox.seed(departments=max(1, args.people // 20), users=args.people, seed=21)
    sb_url, sb_server = _serve(create_sandbox_app(sandbox))
    sandbox.base_url = sb_url
    scim_target, scim_process = spawn_server()
    atexit.register(scim_process.terminate)  # also when the bench fails half-way
    scim_url = scim_target.url
    workdir = tempfile.mkdtemp(prefix="idaas-bench-")
    os.environ.setdefault("IDAAS_INSTANCE_PATH", workdir)
    app = create_app(
        {
            "DATABASE_URL": args.db or f"sqlite:///{workdir}/bench.db",
            "DINGTALK_OAPI_BASE": sb_url,
            "DINGTALK_API_BASE": sb_url,
            "DINGTALK_LOGIN_BASE": sb_url,
            "EVENTS_EMBEDDED_WORKER": "false",
        }
    )
    from idaas.applications import apps
    from idaas.dingtalk import connections
    from idaas.dingtalk.sync import runs, settings
    from idaas.dingtalk.sync.jobs import run_local
    from idaas.dingtalk.sync.models import SyncEvent
    from idaas.directory import service
    from idaas.events.models import Delivery
    from idaas.events.worker import Worker
    from idaas.extensions import db
    from idaas.schema import drop_everything, upgrade_database
    from idaas.scim.push import settings as push_settings
    from idaas.scim.push import sync
    from idaas.scim.push.client import Session

    with app.app_context():
        drop_everything()
        upgrade_database()
        dt = sandbox.default_app
        conn = connections.save(
            "system",
            "bench",
            corp_id=sandbox.corp_id,
            app_key=dt.app_key,
            app_secret=dt.app_secret,
            agent_id=str(dt.agent_id),
        )
        run = runs.start("cli:bench", conn)
        run_local("dingtalk.preview", run.id)
        runs.confirm("cli:bench", runs.get_run(run.id))
        run_local("dingtalk.apply", run.id)
        row = settings.get(conn)
        token, aes_key = row.callback_token or "", settings.aes_key(row)
        application = apps.create_application(
            "system", name="Bench", redirect_uris=["https://bench.example/cb"]
        )[0]
        push_settings.save(
            "cli:bench", application.client_id, {"base_url": scim_url, "groups": False}
        )
        push_settings.test_connection("cli:bench", application.client_id)
        _, target = push_settings.get(application.client_id)
        started = time.monotonic()
        counts = sync.apply(target, sync.plan(target, Session(target)), Session(target))
        took = time.monotonic() - started
        print(f"full sync of {args.people} people: {dict(counts)} in {took:.1f} s")
        account_ids = [a.id for a in service.list_accounts(limit=args.backlog)]
    worker = Worker(app).start()
    idaas_url, idaas_server = _serve(app)
    callback = f"{idaas_url}/callbacks/dingtalk/bench"
    http = httpx.Client(trust_env=False, timeout=30)
    http.post(
        f"{sb_url}/_sandbox/callbacks", json={"url": callback, "token": token, "aes_key": aes_key}
    ).raise_for_status()

    userids = sorted(sandbox.users)
    sent: dict[str, float] = {}
    for n in range(args.changes):
        title = f"prop-{n}"
        sent[title] = time.time()
        sandbox.update_user({"userid": userids[n % len(userids)], "title": title})
        time.sleep(1 / args.rate)
    seen = _wait_for(http, scim_url, list(sent), 120)
    delays = [seen[t] - sent[t] for t in sent if t in seen]
    print(
        f"sandbox change -> SCIM target ({len(delays)}/{len(sent)} arrived, {args.rate:g}/s): "
        f"p50 {_pct(delays, 0.5) * 1000:.0f} ms, p95 {_pct(delays, 0.95) * 1000:.0f} ms, "
        f"max {max(delays) * 1000:.0f} ms"
    )

    with app.app_context():
        stored = [
            (e.applied_at - e.received_at).total_seconds()
            for e in db.session.scalars(select(SyncEvent).where(SyncEvent.applied_at.is_not(None)))
        ]
        queued = [
            (d.delivered_at - d.created_at).total_seconds()
            for d in db.session.scalars(select(Delivery).where(Delivery.delivered_at.is_not(None)))
        ]
    print(
        f"  of which callback -> directory p95 {_pct(stored, 0.95) * 1000:.0f} ms, "
        f"directory -> SCIM target p95 {_pct(queued, 0.95) * 1000:.0f} ms"
    )

    worker.stop()  # a backlog first, then a fresh worker drains it: push capacity alone
    titles = [f"tp-{n}" for n in range(len(account_ids))]
    with app.app_context():
        for account_id, title in zip(account_ids, titles, strict=True):
            service.update_account("dingtalk:bench", account_id, title=title)
    first = time.time()
    worker = Worker(app).start()
    seen = _wait_for(http, scim_url, titles, 300)
    arrived = sorted(seen[t] for t in titles if t in seen)
    span = arrived[-1] - first
    steady = arrived[-1] - arrived[0]
    print(
        f"backlog of {len(titles)} directory changes: {len(arrived)} pushed in {span:.1f} s "
        f"= {len(arrived) / span:.0f} pushed changes/s "
        f"({(len(arrived) - 1) / steady:.0f}/s from the first arrival to the last)"
    )
    worker.stop()
    users = http.get(f"{scim_url}/Users", params={"count": len(titles)}).json()["Resources"]

    def raw_put(user: dict[str, object]) -> None:
        body = {k: v for k, v in user.items() if k != "meta"}
        http.put(f"{scim_url}/Users/{user['id']}", json={**body, "title": f"raw-{user['id']}"})

    from concurrent.futures import ThreadPoolExecutor

    started_raw = time.time()
    with ThreadPoolExecutor(int(app.config["EVENTS_CONCURRENCY"])) as pool:
        list(pool.map(raw_put, users))
    raw = len(users) / (time.time() - started_raw)
    print(
        f"same round, the target alone (bare PUTs of the same Users, same concurrency): "
        f"{raw:.0f}/s; idaas reaches {len(arrived) / span / raw:.0%} of it"
    )
    http.close()
    idaas_server.shutdown()  # type: ignore[attr-defined]
    sb_server.shutdown()  # type: ignore[attr-defined]
    sandbox.close()
    scim_process.terminate()
    with app.app_context():
        db.session.remove()
    print(json.dumps({"load": os.getloadavg()}))


if __name__ == "__main__":
    main()
