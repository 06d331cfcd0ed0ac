"""Expiry rules of the OpenID provider, tested by moving the clock: codes, access and refresh
tokens (RFC 6749 §4.1.2: codes are short-lived; §6 and RFC 9700 §4.14: refresh tokens expire).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from tests.oidc.support import exchange, get_code, pkce, refresh, register


@pytest.fixture
def clock():
    """A clock that starts now and only moves when the test says so."""
    with time_machine.travel(datetime.now(UTC), tick=False) as traveller:
        yield traveller


def _tokens(client, client_id, secret, leak_guard):
    verifier, challenge = pkce()
    code = get_code(client, client_id, challenge)
    response = exchange(client, client_id, secret, code, verifier)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    leak_guard.register(body["access_token"], body["refresh_token"], body["id_token"])
    return body


def test_a_code_is_good_for_two_minutes(clock, logged_in, leak_guard):
    client_id, secret = register(leak_guard)
    verifier, challenge = pkce()
    code = get_code(logged_in, client_id, challenge)
    clock.shift(timedelta(seconds=110))
    assert exchange(logged_in, client_id, secret, code, verifier).status_code == 200
    verifier, challenge = pkce()
    code = get_code(logged_in, client_id, challenge)
    clock.shift(timedelta(seconds=121))
    late = exchange(logged_in, client_id, secret, code, verifier)
    assert late.status_code == 400 and late.get_json()["error"] == "invalid_grant"


def test_an_access_token_stops_working_after_its_lifetime(clock, logged_in, leak_guard):
    client_id, secret = register(leak_guard, access_token_lifetime=300)
    body = _tokens(logged_in, client_id, secret, leak_guard)
    assert body["expires_in"] == 300
    bearer = {"Authorization": "Bearer " + body["access_token"]}
    clock.shift(timedelta(seconds=290))
    assert logged_in.get("/oauth2/userinfo", headers=bearer).status_code == 200
    clock.shift(timedelta(seconds=130))  # 420 s: past the lifetime and any clock leeway
    assert logged_in.get("/oauth2/userinfo", headers=bearer).status_code == 401


def test_a_refresh_token_expires_after_the_applications_refresh_lifetime(
    clock, logged_in, leak_guard
):
    client_id, secret = register(leak_guard, refresh_token_lifetime=600)
    body = _tokens(logged_in, client_id, secret, leak_guard)
    clock.shift(timedelta(seconds=590))
    renewed = refresh(logged_in, client_id, secret, body["refresh_token"])
    assert renewed.status_code == 200, renewed.get_json()
    fresh = renewed.get_json()
    leak_guard.register(fresh["access_token"], fresh["refresh_token"], fresh["id_token"])
    clock.shift(timedelta(seconds=601))  # the rotated token is 601 s old
    late = refresh(logged_in, client_id, secret, fresh["refresh_token"])
    assert late.status_code == 400 and late.get_json()["error"] == "invalid_grant"
    assert "access_token" not in late.get_json()


def test_refresh_tokens_keep_working_for_the_default_thirty_days(clock, logged_in, leak_guard):
    client_id, secret = register(leak_guard)
    body = _tokens(logged_in, client_id, secret, leak_guard)
    clock.shift(timedelta(days=29, hours=23))
    renewed = refresh(logged_in, client_id, secret, body["refresh_token"])
    assert renewed.status_code == 200, renewed.get_json()
    fresh = renewed.get_json()
    leak_guard.register(fresh["access_token"], fresh["refresh_token"], fresh["id_token"])
    clock.shift(timedelta(days=30, minutes=1))
    assert refresh(logged_in, client_id, secret, fresh["refresh_token"]).status_code == 400
