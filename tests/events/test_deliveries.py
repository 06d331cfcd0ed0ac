"""Change events become deliveries: fan-out, stable ids, coalescing, no echo, order, admin."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from idaas.directory import service
from idaas.events.models import Delivery
from idaas.events.worker import Worker
from tests.events.conftest import FAST_RETRIES, hook


def test_a_change_is_delivered_once_with_its_stable_id(make_app: Any, recorder: Any) -> None:
    rec, url = recorder
    app = make_app(EVENTS_WEBHOOKS=hook(url), **FAST_RETRIES)
    with app.app_context():
        department = service.create_department("admin:1", name="Sales")
        from idaas.extensions import db

        row = db.session.scalars(select(Delivery)).one()
        assert (row.status, row.target_key, row.object_id) == (
            "pending",
            "hook",
            str(department.id),
        )
        uid = row.uid
        Worker(app).drain()
        db.session.expire_all()
        assert db.session.get(Delivery, row.id).status == "delivered"
    [hit] = rec.delivered()
    assert hit.delivery == uid == hit.body["id"]
    assert hit.body["type"] == "department.created"
    assert hit.body["changes"]["name"] == "Sales" and hit.body["origin"] == "admin:1"


def test_pending_updates_of_one_object_coalesce_into_its_latest_state(
    make_app: Any, recorder: Any
) -> None:
    rec, url = recorder
    app = make_app(EVENTS_WEBHOOKS=hook(url), **FAST_RETRIES)
    with app.app_context():
        from idaas.extensions import db

        department = service.create_department("admin:1", name="Sales")
        for name in ("Sales 2", "Sales 3", "Sales 4"):
            service.update_department("admin:1", department.id, name=name)
        other = service.create_department("admin:1", name="Support")
        ids = (str(department.id), str(other.id))
        rows = db.session.scalars(select(Delivery).order_by(Delivery.id)).all()
        assert len(rows) == 2
        assert (rows[0].action, rows[0].coalesced, rows[0].payload["version"]) == ("created", 3, 4)
        Worker(app).drain()
    bodies = {h.body["object"]["id"]: h.body for h in rec.delivered()}
    assert len(rec.delivered()) == 2
    assert bodies[ids[0]]["changes"]["name"] == "Sales 4"
    assert bodies[ids[0]]["type"] == "department.created"
    assert bodies[ids[1]]["changes"]["name"] == "Support"


def test_a_change_is_never_echoed_to_the_origin_that_made_it(make_app: Any, recorder: Any) -> None:
    rec, url = recorder
    app = make_app(EVENTS_WEBHOOKS=hook(url, origin="scim:crm"), **FAST_RETRIES)
    with app.app_context():
        from idaas.extensions import db

        service.create_department("scim:crm", name="From the CRM")
        assert db.session.scalars(select(Delivery)).all() == []
        service.create_department("admin:1", name="From an admin")
        Worker(app).drain()
    assert [h.body["changes"]["name"] for h in rec.delivered()] == ["From an admin"]


def test_a_claimed_delivery_is_not_coalesced_and_order_holds(make_app: Any, recorder: Any) -> None:
    """A change arriving while the previous one is being delivered waits behind it."""
    rec, url = recorder
    app = make_app(EVENTS_WEBHOOKS=hook(url), **FAST_RETRIES)
    with app.app_context():
        from idaas.events import deliveries
        from idaas.events.clock import clock
        from idaas.extensions import db

        department = service.create_department("admin:1", name="One")
        [claimed] = deliveries.claim(10, clock().now(), 60, "test")
        service.update_department("admin:1", department.id, name="Two")
        rows = db.session.scalars(select(Delivery).order_by(Delivery.id)).all()
        assert [r.status for r in rows] == ["running", "pending"]
        # The second is blocked while the first runs: nothing more to claim.
        assert deliveries.claim(10, clock().now(), 60, "other") == []
        deliveries.settle([deliveries.run_one(claimed)], clock().now())
        Worker(app).drain()
    assert [h.body["changes"]["name"] for h in rec.delivered()] == ["One", "Two"]


def test_webhook_bodies_are_signed_with_the_webhook_secret(make_app: Any, recorder: Any) -> None:
    import hashlib
    import hmac

    rec, url = recorder
    app = make_app(EVENTS_WEBHOOKS=hook(url, secret="hook-secret-1234567"), **FAST_RETRIES)
    with app.app_context():
        service.create_department("admin:1", name="Signed")
        Worker(app).drain()
    [hit] = rec.delivered()
    expected = hmac.new(b"hook-secret-1234567", hit.raw, hashlib.sha256).hexdigest()
    assert hit.headers["X-Idaas-Signature"] == f"sha256={expected}"
    assert hit.headers["Idempotency-Key"] == hit.body["id"]


def test_a_bulk_write_fans_out_like_single_writes_with_one_target_lookup_per_kind(
    make_app: Any, recorder: Any, request: Any
) -> None:
    rec, url = recorder
    app = make_app(EVENTS_WEBHOOKS=hook(url, origin="scim:crm"), **FAST_RETRIES)
    with app.app_context():
        from idaas.directory.service import bulk
        from idaas.events import targets, webhooks
        from idaas.extensions import db

        webhook = targets.get(webhooks.NAME)
        assert webhook is not None and webhook.by_kind
        looked_up: list[str] = []

        def counted(event: Any) -> Any:
            looked_up.append(event.origin)
            return webhooks._interested(event)

        counting = targets.TargetType(
            name=webhook.name,
            events=webhook.events,
            targets=counted,
            deliver=webhook.deliver,
            by_kind=True,
        )
        targets.register(counting)
        request.addfinalizer(lambda: targets.register(webhook))
        specs = [{"username": f"bulk{n}", "display_name": f"Bulk {n}"} for n in range(5)]
        ids = bulk.create_accounts("admin:1", specs, source="local")
        echoed = bulk.create_accounts("scim:crm", [{"username": "crm1"}], source="local")
        rows = db.session.scalars(select(Delivery).order_by(Delivery.id)).all()
        assert [r.object_id for r in rows] == [str(i) for i in ids]  # none echoed to scim:crm
        assert echoed and looked_up == ["admin:1", "scim:crm"]  # once per batch and origin
