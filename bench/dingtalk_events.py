"""DingTalk events end to end: callback answer time, and how fast a burst reaches the directory.

Usage: `.venv/bin/python bench/dingtalk_events.py [people] [burst] [--db URL]` (defaults 2,000
people, a 1,000-change burst, a temporary SQLite file). idaas and the sandbox run on loopback;
the sandbox pushes every change to `/callbacks/dingtalk/<connection>` over real HTTP.
Prints the p50/p99 of the encrypted-success answer (store first, apply after) and the p95 of
the time from an event's arrival to its change being in the directory.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.dingtalk_setup import (  # noqa: E402
    fresh_connection,
    idaas_app,
    seeded_sandbox,
    serve_in_thread,
)


def _pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[max(0, int(len(values) * p) - 1)] if values else float("nan")


def main(argv: list[str]) -> None:
    """Import, register, push, burst; print the figures."""
    diff_info = "--diff-info" in argv
    argv = [a for a in argv if a != "--diff-info"]
    db_url = None
    if "--db" in argv:
        db_url = argv[argv.index("--db") + 1]
        argv = argv[: argv.index("--db")]
    people = int(argv[0]) if argv else 2000
    burst = int(argv[1]) if len(argv) > 1 else 1000
    sandbox, sb_url, sb_server = seeded_sandbox(people, max(1, people // 20), seed=21)
    sandbox.dispatcher.retry_delays = [0.5, 1, 2]
    sandbox.variants["modify_diff_info"] = diff_info
    app = idaas_app(sb_url, db_url)
    from sqlalchemy import select

    from idaas.dingtalk.crypto import CallbackCrypto
    from idaas.dingtalk.sync import runs, settings
    from idaas.dingtalk.sync.jobs import run_here
    from idaas.dingtalk.sync.models import SyncEvent
    from idaas.extensions import db

    with app.app_context():
        conn = fresh_connection(sandbox)
        dt = sandbox.default_app
        run, job = runs.preview("cli:bench", conn)
        run_here(job)
        run_here(runs.apply("cli:bench", runs.get_run(run.id)))
        row = settings.get(conn)
        token, aes_key = row.callback_token or "", settings.aes_key(row)
    from idaas.events.worker import Worker

    # `idaas worker`: applies the stored events (the callback only stores them).
    worker = Worker(app, run_deliveries=False, run_scheduler=False).start()
    idaas_url, idaas_server = serve_in_thread(app)
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
    idaas_server.shutdown()
    sb_server.shutdown()
    sandbox.close()


if __name__ == "__main__":
    main(sys.argv[1:])
