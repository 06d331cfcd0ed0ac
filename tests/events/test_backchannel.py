"""Back-channel logout on the engine: retried until a down RP is back; fired from the CLI."""

from __future__ import annotations

import time
from typing import Any

import requests
from sqlalchemy import select

from idaas.applications import apps
from idaas.events.models import Delivery
from idaas.events.worker import Worker
from idaas.sandbox.relying_party import create_relying_party
from tests.conftest import PASSWORD, free_port
from tests.e2e.test_oidc_relying_party import settled, sign_in
from tests.events.conftest import FAST_RETRIES
from tests.support.live import LiveServer


def _setup(make_app: Any, leak_guard: Any) -> tuple[Any, Any, str, str, int]:
    port, rp_port = free_port(), free_port()
    issuer, rp_url = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{rp_port}"
    app = make_app(ISSUER=issuer, **FAST_RETRIES)
    with app.app_context():
        from idaas.directory import service

        service.create_account(
            "system",
            username="alice",
            display_name="Alice Wang",
            password=PASSWORD,
            must_change_password=False,
        )
        registered, secret = apps.create_application(
            "system",
            name="Demo RP",
            redirect_uris=[f"{rp_url}/callback"],
            consent_required=False,
            backchannel_logout_uri=f"{rp_url}/backchannel-logout",
        )
        client_id = registered.client_id
    leak_guard.register(secret)
    rp = create_relying_party(issuer, client_id, secret, public_base=rp_url)
    return app, rp, issuer, rp_url, port


def _logout_delivery(app: Any) -> Delivery:
    from idaas.extensions import db

    with app.app_context():
        row = db.session.scalars(
            select(Delivery).where(Delivery.target_type == "oidc.backchannel")
        ).one()
        db.session.expunge(row)
        return row


def test_an_rp_down_for_a_minute_gets_its_logout_token_when_it_is_back(
    make_app: Any, leak_guard: Any
) -> None:
    app, rp, issuer, rp_url, port = _setup(make_app, leak_guard)
    rp_port = int(rp_url.rsplit(":", 1)[1])
    clock = app.extensions["idaas_clock"]
    worker = Worker(app).start()
    try:
        with LiveServer(app, port):
            browser = requests.Session()
            with LiveServer(rp, rp_port):
                sign_in(browser, rp_url)
                sid = browser.get(f"{rp_url}/_rp/state", timeout=10).json()["id_claims"]["sid"]
            # The RP is down now. Sign out at idaas: the logout token cannot be delivered.
            browser.post(f"{issuer}/logout", timeout=10)
            for _ in range(6):  # a minute goes by, ten seconds at a time
                attempts = _logout_delivery(app).attempts
                clock.advance(10)
                worker.wake()
                deadline = time.monotonic() + 15
                while time.monotonic() < deadline:
                    row = _logout_delivery(app)
                    if row.attempts > attempts and row.status == "pending":
                        break
                    time.sleep(0.02)
            down = _logout_delivery(app)
            assert down.status == "pending" and down.attempts >= 6
            assert "network error" in (down.last_error or "")
            with LiveServer(rp, rp_port):  # the RP is back, on the same address
                clock.advance(30)  # at most the longest backoff (EVENTS_RETRY_MAX_SECONDS)
                worker.wake()
                state = settled(requests, rp_url, lambda s: s["logouts"])
            row = _logout_delivery(app)
            assert [t["sid"] for t in state["logouts"]] == [sid], (
                row.status,
                row.attempts,
                row.next_attempt_at,
                clock.now(),
                row.last_error,
            )
            assert state["logouts"][0]["channel"] == "backchannel"
            delivered = _logout_delivery(app)
            assert delivered.status == "delivered" and delivered.attempts == down.attempts + 1
    finally:
        worker.stop()


def test_sessions_revoked_from_the_cli_tell_the_rp(make_app: Any, leak_guard: Any) -> None:
    """Issue 11 finding 16: back-channel logout outside a request (`idaas sessions revoke`)."""
    app, rp, issuer, rp_url, port = _setup(make_app, leak_guard)
    rp_port = int(rp_url.rsplit(":", 1)[1])
    worker = Worker(app).start()
    try:
        with LiveServer(app, port), LiveServer(rp, rp_port):
            first, second = requests.Session(), requests.Session()
            sign_in(first, rp_url)
            result = app.test_cli_runner().invoke(args=["sessions", "revoke", "alice"])
            assert result.exit_code == 0, result.output
            state = settled(first, rp_url, lambda s: not s["signed_in"])
            assert not state["signed_in"] and len(state["logouts"]) == 1

            sign_in(second, rp_url)
            reset = app.test_cli_runner().invoke(
                args=["accounts", "reset-password", "alice", "--password", "Another-Horse-43"]
            )
            assert reset.exit_code == 0, reset.output
            state = settled(second, rp_url, lambda s: not s["signed_in"])
            assert not state["signed_in"] and len(state["logouts"]) == 2
    finally:
        worker.stop()
