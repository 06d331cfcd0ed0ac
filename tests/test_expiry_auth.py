"""Expiry rules of sign-in, tested by moving the clock (time-machine), not by editing rows.

Each rule is checked on both sides of its boundary, so a rule that is ignored (or given the wrong
lifetime) fails. Cookies are re-sent after the jump: the server must refuse what it should refuse
even when the browser still sends it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from tests.auth.helpers import enrol_totp, sign_in, totp_code
from tests.conftest import PASSWORD

DEVICE_COOKIE = "idaas_device"


@pytest.fixture
def clock():
    """A clock that starts now and only moves when the test says so."""
    with time_machine.travel(datetime.now(UTC), tick=False) as traveller:
        yield traveller


def _keep_cookies(client, *names):
    """Re-send cookies as a browser that ignores their expiry would."""
    values = {name: client.get_cookie(name).value for name in names if client.get_cookie(name)}

    def resend():
        for name, value in values.items():
            client.set_cookie(name, value)

    return resend


def _on_portal(client) -> bool:
    response = client.get("/portal/")
    return response.status_code == 200


def test_idle_session_expires_after_idle_minutes(clock, logged_in):
    resend = _keep_cookies(logged_in, "idaas_sid")
    clock.shift(timedelta(minutes=29))
    assert _on_portal(logged_in)  # a request refreshes last_seen (at most once a minute)
    clock.shift(timedelta(minutes=29))
    resend()
    assert _on_portal(logged_in)
    clock.shift(timedelta(minutes=31))
    resend()
    assert not _on_portal(logged_in)


def test_active_session_ends_at_the_absolute_lifetime_despite_activity(clock, logged_in):
    resend = _keep_cookies(logged_in, "idaas_sid")
    for _ in range(11 * 2 + 1):  # every 29 minutes for 11.5 hours: never idle
        clock.shift(timedelta(minutes=29))
        resend()
        assert _on_portal(logged_in)
    clock.shift(timedelta(minutes=40))  # 12 h 7 min after sign-in, 40 min after the last use
    resend()
    assert not _on_portal(logged_in)


def test_absolute_lifetime_follows_the_setting(clock, make_app, account):
    app = make_app(SESSION_ABSOLUTE_HOURS=1, SESSION_IDLE_MINUTES=600)
    with app.app_context():
        client = app.test_client()
        assert sign_in(client).location == "/portal/"
        resend = _keep_cookies(client, "idaas_sid")
        clock.shift(timedelta(minutes=59))
        assert _on_portal(client)
        clock.shift(timedelta(minutes=2))
        resend()
        assert not _on_portal(client)


def _pending_mfa(logged_in):
    """Enrol TOTP, sign out, and sign in again with the password: the MFA step is pending."""
    secret = enrol_totp(logged_in)
    logged_in.post("/logout")
    assert sign_in(logged_in).location == "/login/mfa"
    return secret


def test_pending_mfa_session_lasts_pending_minutes_not_the_session_lifetime(clock, logged_in):
    secret = _pending_mfa(logged_in)
    resend = _keep_cookies(logged_in, "idaas_sid")
    clock.shift(timedelta(minutes=9))
    assert logged_in.get("/login/mfa").status_code == 200  # still pending after 9 minutes
    clock.shift(timedelta(minutes=2))  # 11 minutes: past SESSION_PENDING_MINUTES (10)
    resend()
    page = logged_in.get("/login/mfa")
    assert page.status_code == 302 and page.location.startswith("/login")
    late = logged_in.post("/login/mfa", data={"code": totp_code(secret)})
    assert late.status_code == 302 and late.location.startswith("/login")
    assert not _on_portal(logged_in)


def test_pending_session_with_a_code_in_time_signs_in(clock, logged_in):
    secret = _pending_mfa(logged_in)
    clock.shift(timedelta(minutes=9, seconds=30))
    response = logged_in.post("/login/mfa", data={"code": totp_code(secret)})
    assert response.status_code == 302 and response.location == "/portal/"
    assert _on_portal(logged_in)


def _remember_this_device(logged_in):
    secret = enrol_totp(logged_in)
    logged_in.post("/logout")
    sign_in(logged_in)
    clock_step = 1  # the enrolment used this period's code; one period on is a fresh one
    response = logged_in.post(
        "/login/mfa", data={"code": totp_code(secret, clock_step), "remember": "y"}
    )
    assert response.status_code == 302 and response.location == "/portal/"
    logged_in.post("/logout")
    return secret


def test_remembered_device_skips_mfa_until_it_expires(clock, logged_in):
    _remember_this_device(logged_in)
    resend = _keep_cookies(logged_in, DEVICE_COOKIE)
    clock.shift(timedelta(days=29, hours=23))
    resend()
    assert sign_in(logged_in).location == "/portal/"  # remembered: no MFA step
    logged_in.post("/logout")
    clock.shift(timedelta(hours=2))  # 30 days and 1 hour: past MFA_REMEMBER_DEVICE_DAYS (30)
    resend()
    assert sign_in(logged_in).location == "/login/mfa"


def test_lockout_lasts_lockout_minutes(clock, client, account):
    for _ in range(5):
        sign_in(client, password="Wrong-Password-1")
    assert sign_in(client).location != "/portal/"  # locked: even the right password fails
    clock.shift(timedelta(minutes=14))
    assert sign_in(client).location != "/portal/"
    clock.shift(timedelta(minutes=2))  # 16 minutes: past LOCKOUT_MINUTES (15)
    assert sign_in(client, password=PASSWORD).location == "/portal/"


def test_failures_spread_wider_than_the_lockout_window_do_not_lock(clock, client, account):
    for _ in range(4):
        sign_in(client, password="Wrong-Password-1")
    clock.shift(timedelta(minutes=16))  # the count starts again after LOCKOUT_MINUTES
    sign_in(client, password="Wrong-Password-1")
    assert sign_in(client).location == "/portal/"
