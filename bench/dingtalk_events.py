"""DingTalk events end to end: callback answer time, and how fast a burst reaches the directory.

Usage: `.venv/bin/python bench/dingtalk_events.py [people] [burst] [--db URL]` (defaults 2,000
people, a 1,000-change burst, a temporary SQLite file). idaas and the sandbox run on loopback;
the sandbox pushes every change to `/callbacks/dingtalk/<connection>` over real HTTP.
Prints the p50/p99 of the encrypted-success answer (store first, apply after) and the p95 of
the time from an event's arrival to its change being in the directory.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
from werkzeug.serving import make_server

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from idaas import create_app  # noqa: E402
from idaas.sandbox.dingtalk import create_sandbox_app  # noqa: E402
from idaas.sandbox.dingtalk.state import Sandbox  # noqa: E402


def _serve(app: object) -> tuple[str, object]:
    server = make_server("127.0.0.1", 0, app, threaded=True)  # type: ignore[arg-type]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_port}", server


def _pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[max(0, int(len(values) * p) - 1)] if values else float("nan")


def main(argv: list[str]) -> None:
    """Import, register, push, burst; print the figures."""
    db_url = None
    if "--db" in argv:
        db_url = argv[argv.index("--db") + 1]
        argv = argv[: argv.index("--db")]
    people = int(argv[0]) if argv else 2000
    burst = int(argv[1]) if len(argv) > 1 else 1000
    for name in ("werkzeug", "httpx"):
        logging.getLogger(name).setLevel(logging.WARNING)
    sandbox = Sandbox()
    sandbox.seed(departments=max(1, people // 20), users=people, seed=21)
    sandbox.dispatcher.retry_delays = [0.5, 1, 2]
    sb_url, sb_server = _serve(create_sandbox_app(sandbox))
    sandbox.base_url = sb_url
    workdir = tempfile.mkdtemp(prefix="idaas-bench-")
    os.environ.setdefault("IDAAS_INSTANCE_PATH", workdir)
    app = create_app(
        {
            "DATABASE_URL": db_url or f"sqlite:///{workdir}/bench.db",
            "DINGTALK_OAPI_BASE": sb_url,
            "DINGTALK_API_BASE": sb_url,
            "DINGTALK_LOGIN_BASE": sb_url,
        }
    )
    from sqlalchemy import select

    from idaas.dingtalk import connections
    from idaas.dingtalk.crypto import CallbackCrypto
    from idaas.dingtalk.sync import runs, settings
    from idaas.dingtalk.sync.jobs import run_here
    from idaas.dingtalk.sync.models import SyncEvent
    from idaas.extensions import db

    with app.app_context():
        db.drop_all()
        db.create_all()
        dt = sandbox.default_app
        conn = connections.save(
            "system",
            "bench",
            corp_id=sandbox.corp_id,
            app_key=dt.app_key,
            app_secret=dt.app_secret,
            agent_id=str(dt.agent_id),
        )
        run, job = runs.preview("cli:bench", conn)
        run_here(job)
        run_here(runs.apply("cli:bench", runs.get_run(run.id)))
        row = settings.get(conn)
        token, aes_key = row.callback_token or "", settings.aes_key(row)
    from idaas.events.worker import Worker

    # `idaas worker`: applies the stored events (the callback only stores them).
    worker = Worker(app, run_deliveries=False, run_scheduler=False).start()
    idaas_url, idaas_server = _serve(app)
    url = f"{idaas_url}/callbacks/dingtalk/bench"
    crypto = CallbackCrypto(token, aes_key, dt.app_key)
    answers = []
    with httpx.Client(trust_env=False, timeout=10) as http:
        for n in range(200):
            stamp, nonce = str(int(time.time() * 1000)), f"b{n}"
            encrypted = crypto.encrypt(json.dumps({"EventType": "org_change", "eventId": f"o{n}"}))
            started = time.perf_counter()
            answer = http.post(
                url,
                params={
                    "msg_signature": crypto.signature(stamp, nonce, encrypted),
                    "timestamp": stamp,
                    "nonce": nonce,
                },
                json={"encrypt": encrypted},
            )
            answers.append(time.perf_counter() - started)
            assert answer.status_code == 200, answer.text
    with httpx.Client(trust_env=False, timeout=10) as http:
        http.post(
            f"{sb_url}/_sandbox/callbacks", json={"url": url, "token": token, "aes_key": aes_key}
        ).raise_for_status()
    userids = sorted(sandbox.users)
    started = time.monotonic()
    for n in range(burst):
        sandbox.update_user({"userid": userids[n % len(userids)], "title": f"职位{n}"})
    with app.app_context():
        while True:
            db.session.rollback()
            rows = list(
                db.session.scalars(
                    select(SyncEvent).where(SyncEvent.event_type == "user_modify_org")
                )
            )
            if len(rows) >= burst and all(r.status == "applied" for r in rows):
                break
            if time.monotonic() - started > 900:
                raise SystemExit(f"timed out: {len(rows)} stored")
            time.sleep(0.2)
        delays = [(r.applied_at - r.received_at).total_seconds() for r in rows]
    total = time.monotonic() - started
    print(
        f"callback answers (200 pushes): p50 {_pct(answers, 0.5) * 1000:.1f} ms, "
        f"p99 {_pct(answers, 0.99) * 1000:.1f} ms"
    )
    print(
        f"burst of {burst} changes: all {len(rows)} stored once and applied in {total:.1f} s; "
        f"arrival -> directory p50 {_pct(delays, 0.5):.2f} s, p95 {_pct(delays, 0.95):.2f} s"
    )
    worker.stop()
    idaas_server.shutdown()  # type: ignore[attr-defined]
    sb_server.shutdown()  # type: ignore[attr-defined]
    sandbox.close()


if __name__ == "__main__":
    main(sys.argv[1:])
