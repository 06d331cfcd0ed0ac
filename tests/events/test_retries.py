"""Retries over real HTTP: backoff with jitter, Retry-After, timeouts, dead letters, replay."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import select

from idaas.directory import service
from idaas.events.models import Delivery
from idaas.events.worker import Worker
from tests.events.conftest import FAST_RETRIES, hook


def _delivery(app: Any) -> Delivery:
    from idaas.extensions import db

    with app.app_context():
        row = db.session.scalars(select(Delivery)).one()
        db.session.expunge(row)
        return row


def test_500_timeout_and_429_retry_with_backoff_then_dead_letter_and_replay(
    make_app: Any, recorder: Any, caplog: pytest.LogCaptureFixture
) -> None:
    rec, url = recorder
    script = {0: (500, {}, 0.0), 1: (200, {}, 1.5), 2: (429, {"Retry-After": "2"}, 0.0)}
    healthy = {"on": False}

    def answer(request: Any, number: int) -> tuple[int, dict[str, str], float]:
        if healthy["on"]:
            return 200, {}, 0.0
        return script.get(number, (500, {}, 0.0))

    rec.answer = answer
    app = make_app(EVENTS_WEBHOOKS=hook(url), **FAST_RETRIES)
    worker = Worker(app).start()
    try:
        with app.app_context():
            service.create_department("admin:1", name="Flaky")
        rec.wait_for(lambda r: len(r.hits) >= 4, timeout=20)
        hits = sorted(rec.hits, key=lambda h: h.at)[:4]
        first, second, third = (hits[i + 1].at - hits[i].at for i in range(3))
        # 500 -> backoff within [base/2, base] (base 0.4 s, equal jitter).
        assert 0.2 <= first <= 0.4 + 0.35, first
        # Timed out after 1 s (the receiver still sleeps) -> backoff within [0.4, 0.8].
        assert 1.0 + 0.4 <= second <= 1.0 + 0.8 + 0.35, second
        # 429 with Retry-After: 2 -> exactly the header's delay, not the backoff.
        assert 2.0 <= third <= 2.0 + 0.35, third
        assert len({h.delivery for h in hits}) == 1  # one stable id across retries

        pending = _delivery(app)
        assert pending.status in ("pending", "running") and pending.attempts >= 4
        # 24 hours pass (controlled clock): the next failed attempt makes it a dead letter.
        app.extensions["idaas_clock"].advance(86400)
        worker.wake()

        def dead(_: Any) -> bool:
            return _delivery(app).status == "dead"

        rec.wait_for(dead, timeout=15)
        row = _delivery(app)
        assert row.last_status == 500 and "answer 500" in (row.last_error or "")

        runner = app.test_cli_runner()
        listed = runner.invoke(args=["deliveries", "list", "--status", "dead", "--json"])
        assert [d["uid"] for d in json.loads(listed.output)] == [row.uid]
        shown = json.loads(runner.invoke(args=["deliveries", "show", row.uid, "--json"]).output)
        assert shown["status"] == "dead" and shown["last_status"] == 500

        healthy["on"] = True
        replayed = runner.invoke(args=["deliveries", "replay", row.uid])
        assert replayed.exit_code == 0, replayed.output
        rec.wait_for(lambda r: len(r.delivered()) == 1, timeout=10)
        assert rec.delivered()[0].delivery == row.uid
        rec.wait_for(lambda r: _delivery(app).status == "delivered", timeout=5)
        again = runner.invoke(args=["deliveries", "replay", row.uid])
        assert again.exit_code != 0 and "not a dead letter" in again.output
    finally:
        worker.stop()
    failures = [
        json.loads(r.getMessage())
        for r in caplog.records
        if r.name == "idaas.events" and "delivery_attempt_failed" in r.getMessage()
    ]
    assert [f["status"] for f in failures[:3]] == [500, None, 429]
    assert failures[0]["answer"] == "answer 500" and failures[0]["attempt"] == 1
    assert failures[-1]["dead_letter"] is True
    assert any(f["error"].startswith("TemporaryFailure: timed out") for f in failures)


def test_a_4xx_refusal_is_a_dead_letter_at_once(make_app: Any, recorder: Any) -> None:
    rec, url = recorder
    rec.answer = lambda request, n: (400, {}, 0.0)
    app = make_app(EVENTS_WEBHOOKS=hook(url), **FAST_RETRIES)
    with app.app_context():
        service.create_department("admin:1", name="Refused")
        Worker(app).drain()
    row = _delivery(app)
    assert (row.status, row.attempts, row.last_status) == ("dead", 1, 400)
    assert len(rec.hits) == 1


@pytest.mark.parametrize(
    ("header", "expected"),
    [("7", 7.0), ("Wed, 02 Dec 2026 00:00:30 GMT", 30.0), ("soon", None), (None, None)],
)
def test_retry_after_accepts_seconds_and_http_dates(header: Any, expected: Any) -> None:
    from datetime import datetime

    from idaas.events.targets import retry_after_seconds

    assert retry_after_seconds(header, datetime(2026, 12, 2, 0, 0, 0)) == expected
