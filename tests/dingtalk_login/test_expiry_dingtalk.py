"""Expiry of DingTalk sign-in `state` values (DINGTALK_STATE_MAX_AGE), with a moving clock.

The state is the CSRF protection of the OAuth redirect (RFC 6749 §10.12); it names a single-use
nonce that must be redeemed within the setting's lifetime.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from tests.dingtalk_login.support import audit_rows, people, qr_callback, qr_start, state_of


@pytest.fixture
def clock():
    """A clock that starts now and only moves when the test says so."""
    with time_machine.travel(datetime.now(UTC), tick=True) as traveller:
        yield traveller


def test_a_state_is_honoured_until_its_max_age_then_refused_as_expired(
    clock, dt_client, sandbox, leak_guard
):
    person = people(sandbox)[2]
    state = state_of(qr_start(dt_client))
    clock.shift(timedelta(seconds=580))  # within DINGTALK_STATE_MAX_AGE (600)
    in_time = qr_callback(dt_client, sandbox, person.userid, leak_guard, state=state)
    assert in_time.status_code == 302, in_time.get_data(as_text=True)[:300]

    old = state_of(qr_start(dt_client))
    clock.shift(timedelta(seconds=620))
    late = qr_callback(dt_client, sandbox, person.userid, leak_guard, state=old)
    assert late.status_code == 400 and 'data-problem="state"' in late.get_data(as_text=True)
    reasons = [row.details["reason"] for row in audit_rows("auth.dingtalk.state_refused")]
    assert reasons == ["expired"]


def test_the_state_lifetime_follows_the_setting(clock, make_app, sandbox, leak_guard):
    from tests.dingtalk_login.support import configure, sandbox_config

    app = make_app(**sandbox_config(sandbox), DINGTALK_STATE_MAX_AGE=60)
    with app.app_context():
        configure(sandbox, leak_guard)
        client = app.test_client()
        person = people(sandbox)[3]
        state = state_of(qr_start(client))
        clock.shift(timedelta(seconds=70))
        late = qr_callback(client, sandbox, person.userid, leak_guard, state=state)
        assert late.status_code == 400
