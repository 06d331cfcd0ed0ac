"""A pending integration request expires after INTEGRATION_REQUEST_EXPIRY_DAYS (clock
controlled), and a request is decided once even when two administrators decide at once."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import time_machine
from sqlalchemy import func, select

from tests.api.test_integration_requests import REQUEST


def _submit(client: Any) -> str:
    submitted = client.post("/api/v1/integration-requests", json=REQUEST)
    assert submitted.status_code == 201
    return str(submitted.get_json()["reference"])


def test_a_pending_request_expires_after_its_lifetime(client, api_as):
    with time_machine.travel(datetime.now(UTC), tick=False) as clock:
        stale = _submit(client)
        clock.shift(timedelta(days=30) - timedelta(minutes=1))
        fresh = _submit(client)
        assert client.get(f"/api/v1/integration-requests/{stale}").get_json()["status"] == "pending"

        clock.shift(timedelta(minutes=2))
        admin = api_as("clients:admin")
        public = client.get(f"/api/v1/integration-requests/{stale}").get_json()
        assert public["status"] == "expired"
        pending = admin("GET", "/integration-requests?status=pending").get_json()["items"]
        expired = admin("GET", "/integration-requests?status=expired").get_json()["items"]
        assert [r["reference"] for r in pending] == [fresh]
        assert [r["reference"] for r in expired] == [stale]
        late = admin(
            "POST", f"/integration-requests/{stale}/approve", {}, {"Accept-Language": "en"}
        )
        assert late.status_code == 409
        assert "expired" in late.get_json()["detail"]
        refused = admin("POST", f"/integration-requests/{stale}/reject", {"reason": "x"})
        assert refused.status_code == 409
        assert admin("POST", f"/integration-requests/{fresh}/approve", {}).status_code == 200


def test_the_lifetime_follows_the_setting(make_app):
    from idaas.applications import service

    app = make_app(INTEGRATION_REQUEST_EXPIRY_DAYS=1)
    with app.app_context(), time_machine.travel(datetime.now(UTC), tick=False) as clock:
        made = service.submit_request(
            name="n", contact="c@example.com", scopes=["directory:read"], reason="r"
        )
        clock.shift(timedelta(hours=23, minutes=59))
        assert service.get_request(made.reference).current_status == "pending"
        clock.shift(timedelta(minutes=2))
        assert service.get_request(made.reference).current_status == "expired"
        assert service.count_pending() == 0


def test_two_admins_approving_at_once_create_one_client(app, db, monkeypatch):
    from idaas.applications import service
    from idaas.applications.errors import AlreadyDecided
    from idaas.applications.models import ApiClient

    reference = service.submit_request(
        name="n", contact="c@example.com", scopes=["directory:read"], reason="r"
    ).reference
    both_read = threading.Barrier(2, timeout=10)
    read_pending = service._pending

    def pending_then_wait(ref: str) -> Any:
        found = read_pending(ref)
        both_read.wait()  # both admins saw "pending" before either decides
        return found

    monkeypatch.setattr(service, "_pending", pending_then_wait)
    outcomes: list[str] = []

    def approve(admin: str) -> None:
        with app.app_context():
            try:
                service.approve_request(admin, reference)
                outcomes.append("approved")
            except AlreadyDecided:
                outcomes.append("refused")
            finally:
                db.session.remove()

    threads = [threading.Thread(target=approve, args=(f"admin:{n}",)) for n in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(outcomes) == ["approved", "refused"]
    assert db.session.scalar(select(func.count()).select_from(ApiClient)) == 1
