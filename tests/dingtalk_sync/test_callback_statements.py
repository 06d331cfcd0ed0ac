"""The HTTP callback stores first and processes after: its answer costs one read and one insert."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event, func, select

from idaas.dingtalk.crypto import CallbackCrypto
from idaas.dingtalk.sync import settings
from idaas.dingtalk.sync.events import APPLY_JOB, WAITING
from idaas.dingtalk.sync.models import SyncEvent
from idaas.events.models import Job
from idaas.extensions import db


@contextmanager
def statements() -> Iterator[list[str]]:
    """The SQL statements this thread executes inside the block (the worker's are not counted)."""
    seen: list[str] = []
    me = threading.get_ident()

    def _record(conn: Any, cursor: Any, sql: str, *args: Any) -> None:
        if threading.get_ident() == me:
            seen.append(" ".join(sql.split()[:3]))

    db.session.expunge_all()
    event.listen(db.engine, "before_cursor_execute", _record)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", _record)


def _signed(crypto: CallbackCrypto, payload: dict[str, Any], nonce: str) -> dict[str, Any]:
    stamp = str(int(time.time() * 1000))
    encrypted = crypto.encrypt(json.dumps(payload))
    return {
        "query_string": {
            "msg_signature": crypto.signature(stamp, nonce, encrypted),
            "timestamp": stamp,
            "nonce": nonce,
        },
        "json": {"encrypt": encrypted},
    }


def test_a_push_is_answered_after_one_select_and_one_insert(sync_app: Any, conn: Any) -> None:
    sync_app.extensions["test_worker"].stop()  # only this request's statements run
    row = settings.get(conn)
    crypto = CallbackCrypto(row.callback_token or "", settings.aes_key(row), conn.app_key)
    client = sync_app.test_client()
    url = f"/callbacks/dingtalk/{conn.name}"
    push = {"EventType": "user_modify_org", "UserId": ["u1"], "eventId": "e1"}
    signed = _signed(crypto, push, "n1")
    with statements() as seen:
        answer = client.post(url, **signed)
        answered = list(seen)
        answer.close()  # the WSGI server closes the response once it is sent
    assert answer.status_code == 200
    # The connection with its settings, then the event (the unique replay key is the check).
    assert answered == [
        "SELECT dingtalk_connection.id, dingtalk_connection.name,",
        "INSERT INTO dingtalk_sync_event",
    ]
    # After the answer: the job that applies it is queued.
    db.session.rollback()
    assert db.session.scalar(select(func.count()).where(Job.kind == APPLY_JOB)) == 1

    with statements() as seen:
        replayed = client.post(url, **signed)
    assert replayed.status_code == 403
    assert "INSERT INTO audit_event" in seen
    db.session.rollback()
    assert db.session.scalar(select(func.count(SyncEvent.id))) == 1


def test_an_event_whose_apply_job_was_never_queued_is_applied_by_the_scheduled_sweep(
    sync_app: Any, conn: Any
) -> None:
    from idaas.events import jobs, scheduler
    from idaas.events.worker import Worker

    sync_app.extensions["test_worker"].stop()
    row = settings.get(conn)
    crypto = CallbackCrypto(row.callback_token or "", settings.aes_key(row), conn.app_key)
    push = {"EventType": "user_modify_org", "UserId": ["u1"], "eventId": "e2"}
    # The answer is never closed: like a process killed after answering, before queueing.
    answer = sync_app.test_client().post(
        f"/callbacks/dingtalk/{conn.name}", **_signed(crypto, push, "n2")
    )
    assert answer.status_code == 200
    db.session.rollback()
    assert db.session.scalar(select(func.count()).where(Job.kind == APPLY_JOB)) == 0
    assert APPLY_JOB in scheduler.schedules()  # the leader queues it with no parameters
    job_id = jobs.start(APPLY_JOB).id
    db.session.commit()
    Worker(sync_app, run_deliveries=False, run_scheduler=False).drain()
    db.session.expire_all()
    assert jobs.get(job_id).result == {conn.name: {"unchanged": 1}}  # u1 is nobody we know
    assert db.session.scalar(select(func.count()).where(SyncEvent.status.in_(WAITING))) == 0
