"""The demo relying party (authlib's Flask client) against idaas over real HTTP (issue 6).

Both sides run on loopback servers; a `requests` session plays the browser. The RP does
discovery, code + PKCE S256 + nonce, validates the ID token against our JWKS, calls userinfo,
refreshes, and logs out through RP-initiated logout; idaas then sends it a back-channel
logout token it verifies.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import requests
from joserfc import jwt
from joserfc.jwk import KeySet

from idaas.applications import apps
from idaas.events.worker import Worker
from idaas.sandbox.relying_party import create_relying_party
from tests.conftest import PASSWORD, free_port
from tests.support.live import LiveServer


@contextmanager
def idaas_and_rp(make_app: Any, leak_guard: Any, **app_fields: Any) -> Iterator[dict[str, Any]]:
    """A live idaas with alice and a registered demo RP, both on loopback."""
    port, rp_port = free_port(), free_port()
    issuer, rp_url = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{rp_port}"
    idaas_app = make_app(ISSUER=issuer)
    with idaas_app.app_context():
        from idaas.directory import service

        service.create_account(
            "system",
            username="alice",
            display_name="Alice Wang",
            email="alice@example.com",
            password=PASSWORD,
            must_change_password=False,
        )
        fields = {
            "consent_required": False,
            "post_logout_redirect_uris": [f"{rp_url}/logged-out"],
            "backchannel_logout_uri": f"{rp_url}/backchannel-logout",
            **app_fields,
        }
        registered, secret = apps.create_application(
            "system", name="Demo RP", redirect_uris=[f"{rp_url}/callback"], **fields
        )
        client_id = registered.client_id
    if secret:
        leak_guard.register(secret)
    rp = create_relying_party(
        issuer, client_id, secret, public_base=rp_url, scope="openid profile email offline_access"
    )
    worker = Worker(idaas_app).start()  # back-channel logouts go through the delivery engine
    try:
        with LiveServer(idaas_app, port), LiveServer(rp, rp_port):
            yield {"issuer": issuer, "rp": rp_url, "client_id": client_id, "app": idaas_app}
    finally:
        worker.stop()


def settled(browser: Any, rp_url: str, predicate: Any, timeout: float = 10) -> dict[str, Any]:
    """The RP's state once `predicate(state)` holds (deliveries are asynchronous)."""
    deadline = time.monotonic() + timeout
    while True:
        state: dict[str, Any] = browser.get(f"{rp_url}/_rp/state", timeout=10).json()
        if predicate(state) or time.monotonic() > deadline:
            return state
        time.sleep(0.05)


def sign_in(browser: requests.Session, rp_url: str) -> requests.Response:
    """Start at the RP, sign in at idaas, come back signed in."""
    page = browser.get(f"{rp_url}/login", timeout=10)
    assert "/login" in page.url and "next=oidc" in page.url, page.url
    done = browser.post(page.url, data={"identifier": "alice", "password": PASSWORD}, timeout=10)
    assert done.url.rstrip("/") == rp_url, done.url
    return done


@pytest.mark.parametrize("alg", ["ES256", "RS256"])
def test_demo_rp_full_cycle(make_app, leak_guard, alg):
    with idaas_and_rp(make_app, leak_guard, id_token_alg=alg) as env:
        browser = requests.Session()
        home = sign_in(browser, env["rp"])
        assert "Alice Wang" in home.text
        state = browser.get(f"{env['rp']}/_rp/state", timeout=10).json()
        assert state["signed_in"] and state["id_claims"]["preferred_username"] == "alice"
        assert state["userinfo"]["email"] == "alice@example.com"
        jwks = browser.get(f"{env['issuer']}/oauth2/jwks", timeout=10).json()
        assert any(k["alg"] == alg for k in jwks["keys"])

        refreshed = browser.post(f"{env['rp']}/refresh", timeout=10)
        assert "error" not in refreshed.url, refreshed.url
        assert browser.get(f"{env['rp']}/_rp/state", timeout=10).json()["refreshed"] == 1

        out = browser.post(f"{env['rp']}/logout", timeout=10)
        assert out.url.startswith(f"{env['rp']}/logged-out"), out.url
        assert "/login" in browser.get(f"{env['issuer']}/portal", timeout=10).url
        logouts = settled(requests, env["rp"], lambda s: s["logouts"])["logouts"]
        assert logouts and logouts[0]["channel"] == "backchannel"
        assert logouts[0]["sid"] == state["id_claims"]["sid"]


def test_backchannel_logout_token_on_sign_out_at_idaas(make_app, leak_guard):
    with idaas_and_rp(make_app, leak_guard) as env:
        browser = requests.Session()
        sign_in(browser, env["rp"])
        sid = browser.get(f"{env['rp']}/_rp/state", timeout=10).json()["id_claims"]["sid"]
        browser.post(f"{env['issuer']}/logout", timeout=10)
        state = settled(browser, env["rp"], lambda s: s["logouts"])
        assert not state["signed_in"]  # the RP ended its session when told
        (received,) = state["logouts"]
        assert received["sid"] == sid and "nonce" not in received
        assert "http://schemas.openid.net/event/backchannel-logout" in received["events"]


def test_logout_token_is_signed_per_spec(app, leak_guard):
    from idaas.oidc import keys
    from idaas.oidc.logout import BACKCHANNEL_EVENT, logout_token
    from idaas.oidc.models import RpSession

    registered, _ = apps.create_application(
        "system", name="RP", redirect_uris=["https://rp.example.com/cb"], public=True
    )
    rp = RpSession(auth_session_id=7, account_id=1, client_id=registered.client_id, subject="s")
    token = logout_token(registered, rp)
    decoded = jwt.decode(token, KeySet.import_key_set(keys.public_jwks()))
    assert decoded.header["typ"] == "logout+jwt"
    assert decoded.claims["aud"] == registered.client_id
    assert BACKCHANNEL_EVENT in decoded.claims["events"] and "nonce" not in decoded.claims
    assert decoded.claims["sid"] and decoded.claims["jti"]


def test_backchannel_logout_when_account_disabled(make_app, leak_guard):
    with idaas_and_rp(make_app, leak_guard) as env:
        browser = requests.Session()
        sign_in(browser, env["rp"])
        with env["app"].app_context():
            from idaas.directory import service

            account = service.find_by_identifier("alice")
            service.set_status("system", account.id, "disabled")
        state = settled(browser, env["rp"], lambda s: s["logouts"])
        assert not state["signed_in"] and state["logouts"][0]["channel"] == "backchannel"


def test_backchannel_logout_when_other_sessions_are_signed_out(make_app, leak_guard):
    """Portal → "sign out other sessions" tells the RPs of exactly those sessions."""
    with idaas_and_rp(make_app, leak_guard) as env:
        kept, other = requests.Session(), requests.Session()
        sign_in(kept, env["rp"])
        sign_in(other, env["rp"])
        other_sid = other.get(f"{env['rp']}/_rp/state", timeout=10).json()["id_claims"]["sid"]
        done = kept.post(f"{env['issuer']}/portal/sessions/others/revoke", timeout=10)
        assert done.status_code == 200
        assert not settled(other, env["rp"], lambda s: not s["signed_in"])["signed_in"]
        state = kept.get(f"{env['rp']}/_rp/state", timeout=10).json()
        assert state["signed_in"]  # the session that asked stays signed in, at idaas and the RP
        assert [token["sid"] for token in state["logouts"]] == [other_sid]
