"""Workers as real processes: kill -9 loses nothing; two workers keep order and never overlap."""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from typing import Any

import pytest
from sqlalchemy import func, select

from idaas.directory.service.unit import unit_of_work
from idaas.events.models import Delivery
from idaas.events.service import append_change
from tests.conftest import require
from tests.events import procs
from tests.events.conftest import hook


def _queue(app: Any, objects: range, version: int) -> None:
    with app.app_context(), unit_of_work():
        for number in objects:
            append_change("department", number, "updated", "admin:1", version, {"n": version})


def _status_counts(app: Any) -> dict[str, int]:
    from idaas.extensions import db

    with app.app_context():
        rows = db.session.execute(select(Delivery.status, func.count()).group_by(Delivery.status))
        return dict(rows.all())


@pytest.mark.slow
def test_kill_9_mid_way_through_1000_deliveries_loses_none(
    make_app: Any, recorder: Any, database_url: str
) -> None:
    rec, url = recorder
    rec.answer = lambda request, n: (200, {}, 0.002)
    settings = {
        "EVENTS_WEBHOOKS": hook(url),
        "EVENTS_LEASE_SECONDS": 2,
        "EVENTS_CONCURRENCY": 4,
        "EVENTS_BATCH_SIZE": 32,
        "EVENTS_LANES": 2,
    }
    app = make_app(**settings)
    _queue(app, range(1, 1001), 1)
    env = procs.env_for(database_url, **settings)

    first = procs.spawn(env)
    rec.wait_for(lambda r: len(r.delivered()) >= 250, timeout=60)
    procs.kill9(first)
    at_kill = len({h.delivery for h in rec.delivered()})
    assert at_kill < 1000, "the worker finished before it could be killed"
    assert _status_counts(app).get("pending", 0) + _status_counts(app).get("running", 0) > 0

    with procs.workers(env):
        rec.wait_for(lambda r: len({h.delivery for h in r.delivered()}) >= 1000, timeout=90)
        deadline = time.time() + 10
        while _status_counts(app) != {"delivered": 1000} and time.time() < deadline:
            time.sleep(0.1)

    from idaas.extensions import db

    with app.app_context():
        uids = set(db.session.scalars(select(Delivery.uid)))
    received = Counter(h.delivery for h in rec.delivered())
    duplicates = sum(received.values()) - len(received)
    print(f"\n1000 deliveries, killed after {at_kill}, duplicates absorbed by id: {duplicates}")
    assert set(received) == uids and len(uids) == 1000  # none lost, none invented
    assert _status_counts(app) == {"delivered": 1000}
    assert duplicates <= 2 * 32  # at most the batches in flight (2 lanes) when it died


def _intervals_overlap(spans: list[tuple[float, float]]) -> bool:
    spans = sorted(spans)
    return any(later[0] < earlier[1] for earlier, later in zip(spans, spans[1:], strict=False))


@pytest.mark.postgresql_only
@pytest.mark.slow
def test_two_postgresql_workers_never_share_a_delivery_and_keep_per_object_order(
    make_app: Any, recorder: Any, database_url: str
) -> None:
    require(database_url.startswith("postgresql"), "needs IDAAS_TEST_DATABASE_URL (PostgreSQL)")
    rec, url = recorder
    rec.answer = lambda request, n: (200, {}, 0.03)  # injected delay: a slow target
    settings = {"EVENTS_WEBHOOKS": hook(url), "EVENTS_CONCURRENCY": 4, "EVENTS_BATCH_SIZE": 8}
    app = make_app(**settings)
    objects = range(1, 21)
    rounds = 8
    env = procs.env_for(database_url, **settings)
    with procs.workers(env, 2) as both:
        procs.wait_started(*both)
        time.sleep(1.0)  # and LISTENing
        for version in range(1, rounds + 1):
            _queue(app, objects, version)
            time.sleep(0.05)

        def finished(r: Any) -> bool:
            last: dict[str, int] = {}
            for hit in sorted(r.delivered(), key=lambda h: h.at):
                last[hit.body["object"]["id"]] = hit.body["version"]
            return len(last) == 20 and set(last.values()) == {rounds}

        rec.wait_for(finished, timeout=60)
    by_object: dict[str, list[Any]] = defaultdict(list)
    by_delivery: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for hit in rec.hits:
        by_object[hit.body["object"]["id"]].append(hit)
        by_delivery[hit.delivery].append((hit.at, hit.ended))
    assert not rec.overlaps
    assert not any(_intervals_overlap(spans) for spans in by_delivery.values())
    for hits in by_object.values():
        assert not _intervals_overlap([(h.at, h.ended) for h in hits])
        versions = [h.body["version"] for h in sorted(hits, key=lambda h: h.at)]
        assert versions == sorted(versions), versions  # per-object order
    from idaas.extensions import db

    with app.app_context():
        claimers = {
            str(c).split("/")[0] for c in db.session.scalars(select(Delivery.claimed_by).distinct())
        }
    assert len(claimers) == 2, claimers  # both workers took part
