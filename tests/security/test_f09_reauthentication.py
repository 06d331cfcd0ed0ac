"""Issue 11 finding 9: prompt=login, max_age and another login_hint never sign anyone out on GET."""

from __future__ import annotations

import pytest

from tests.auth.helpers import sign_in
from tests.conftest import PASSWORD
from tests.oidc.support import authorize_url, pkce, query_of, register


@pytest.mark.parametrize("extra", [{"prompt": "login"}, {"max_age": "0"}, {"login_hint": "bob"}])
def test_f09_a_reauthentication_request_keeps_the_session_until_success(
    logged_in, leak_guard, extra
):
    client_id, _ = register(leak_guard)
    _, challenge = pkce()
    import time

    time.sleep(1.01 if "max_age" in extra else 0)
    response = logged_in.get(authorize_url(client_id, challenge, **extra))
    assert "/login" in response.location
    assert logged_in.get("/portal/").status_code == 200  # a GET did not sign alice out
    page = logged_in.get(response.location)
    assert page.status_code == 200 and 'name="password"' in page.get_data(as_text=True)
    target = query_of(response.location)["next"]  # the form's hidden field
    failed = sign_in(logged_in, password="Wrong-Password-1", next=target)
    assert failed.status_code == 200
    assert logged_in.get("/portal/").status_code == 200  # a failed sign-in changes nothing
    done = sign_in(logged_in, password=PASSWORD, next=target)
    assert done.status_code == 302
    resumed = logged_in.get(done.location)
    assert "code" in query_of(resumed.location)
