"""Micro-app free login (dingtalk-api.md §3): the page, the code, replay, the QR fallback."""

from __future__ import annotations

import re

from tests.conftest import PASSWORD
from tests.dingtalk_login.support import (
    DINGTALK_UA,
    MICRO,
    audit_rows,
    issue_code,
    make_local,
    people,
    state_of,
)


def _link(sandbox, account, person):
    from idaas.directory import service

    service.link_identity(
        "system",
        account.id,
        provider="dingtalk",
        tenant=sandbox.state.corp_id,
        subject=person.userid,
        linked_via="admin",
    )


def _page(client, app="demo-app"):
    response = client.get(
        f"/login/dingtalk-micro/{MICRO}",
        query_string={"app": app},
        headers={"User-Agent": DINGTALK_UA},
    )
    assert response.status_code == 200
    return response


def _state(html):
    return re.search(r'name="state" type="hidden" value="([^"]+)"', html).group(1)


def test_outside_dingtalk_falls_back_to_qr_for_the_same_app(dt_client, sandbox, leak_guard):
    response = dt_client.get(f"/login/dingtalk-micro/{MICRO}?app=demo-app")
    assert response.status_code == 302
    assert response.location.endswith(f"/login/dingtalk/{MICRO}?app=demo-app")
    authorize = dt_client.get(response.location).location
    assert authorize.startswith(sandbox.url + "/oauth2/auth?")
    person = people(sandbox)[0]
    _link(sandbox, make_local("alice", PASSWORD), person)
    code = issue_code(sandbox, person.userid, "oauth2", leak_guard)
    done = dt_client.get(
        f"/login/dingtalk/{MICRO}/callback",
        query_string={"state": state_of(authorize), "authCode": code},
    )
    assert done.location.endswith("/login/dingtalk-continue?app=demo-app")
    # Into the app through the OIDC provider's launch route once it is mounted (issue 6);
    # the portal until then.
    assert dt_client.get(done.location).location.endswith(("/portal/", "/portal/launch/demo-app"))


def test_inside_dingtalk_the_page_asks_the_jsapi(dt_client, sandbox):
    response = _page(dt_client)
    html = response.get_data(as_text=True)
    assert f"{sandbox.url}/dingding/dingtalk-jsapi/3.1.0/dingtalk.open.js" in html
    assert f'data-corp-id="{sandbox.state.corp_id}"' in html
    assert "js/dingtalk-micro.js" in html
    csp = response.headers["Content-Security-Policy"]
    assert f"script-src 'self' {sandbox.url}" in csp and f"connect-src 'self' {sandbox.url}" in csp


def test_free_login_signs_in_and_continues_to_the_app(dt_client, sandbox, leak_guard):
    person = people(sandbox)[1]
    _link(sandbox, make_local("alice", PASSWORD), person)
    state = _state(_page(dt_client).get_data(as_text=True))
    code = issue_code(sandbox, person.userid, "micro", leak_guard)
    response = dt_client.post(
        f"/login/dingtalk-micro/{MICRO}?app=demo-app", data={"code": code, "state": state}
    )
    assert response.status_code == 302
    assert response.location.endswith("/login/dingtalk-continue?app=demo-app")
    assert dt_client.get("/portal/").status_code == 200


def test_unbound_micro_app_person_binds_first(dt_client, sandbox, leak_guard):
    person = people(sandbox)[2]
    make_local("carol", PASSWORD)
    state = _state(_page(dt_client).get_data(as_text=True))
    code = issue_code(sandbox, person.userid, "micro", leak_guard)
    response = dt_client.post(f"/login/dingtalk-micro/{MICRO}", data={"code": code, "state": state})
    assert response.location.endswith("/login/bind")
    bound = dt_client.post("/login/bind", data={"identifier": "carol", "password": PASSWORD})
    assert bound.location.endswith("/login/dingtalk-continue?app=demo-app")


def test_replayed_micro_app_code_is_refused(dt_client, sandbox, leak_guard):
    person = people(sandbox)[3]
    _link(sandbox, make_local("alice", PASSWORD), person)
    code = issue_code(sandbox, person.userid, "micro", leak_guard)
    first = dt_client.post(
        f"/login/dingtalk-micro/{MICRO}",
        data={"code": code, "state": _state(_page(dt_client).get_data(as_text=True))},
    )
    assert first.status_code == 302
    other = dt_client.application.test_client()
    replay = other.post(
        f"/login/dingtalk-micro/{MICRO}",
        data={"code": code, "state": _state(_page(other).get_data(as_text=True))},
    )
    assert replay.status_code == 400
    assert 'data-problem="code"' in replay.get_data(as_text=True)
    assert audit_rows("auth.dingtalk.code_replayed")
    assert other.get("/portal/").status_code == 302


def test_code_dingtalk_refuses_is_a_friendly_page(dt_client, sandbox, leak_guard):
    # A code DingTalk no longer knows (expired: the sandbox clock moved 6 minutes, §3.1).
    person = people(sandbox)[4]
    code = issue_code(sandbox, person.userid, "micro", leak_guard)
    sandbox.post("/clock", {"advance": 360})
    response = dt_client.post(
        f"/login/dingtalk-micro/{MICRO}",
        data={"code": code, "state": _state(_page(dt_client).get_data(as_text=True))},
    )
    assert response.status_code == 400 and 'data-problem="code"' in response.get_data(as_text=True)
    assert audit_rows("auth.dingtalk.failed")[-1].details["errcode"] == 40078


def test_qr_inside_dingtalk_uses_free_login_instead(dt_client, sandbox, leak_guard):
    # The phone showing a QR code cannot scan it: inside DingTalk the QR start goes micro.
    response = dt_client.get(
        "/login/dingtalk/dingtalk?next=/portal/profile", headers={"User-Agent": DINGTALK_UA}
    )
    assert response.location.endswith("/login/dingtalk-micro/dingtalk?next=/portal/profile")
    person = people(sandbox)[5]
    _link(sandbox, make_local("alice", PASSWORD), person)
    page = dt_client.get(response.location, headers={"User-Agent": DINGTALK_UA})
    html = page.get_data(as_text=True)
    # Inside DingTalk the page never offers a QR code (the phone cannot scan its own screen).
    assert "qr=1" not in html and "/oauth2/auth" not in html
    code = issue_code(sandbox, person.userid, "micro", leak_guard)
    done = dt_client.post(
        "/login/dingtalk-micro/dingtalk", data={"code": code, "state": _state(html)}
    )
    assert done.location.endswith("/portal/profile")
    forced = dt_client.get("/login/dingtalk/dingtalk?qr=1", headers={"User-Agent": DINGTALK_UA})
    assert forced.location.startswith(sandbox.url + "/oauth2/auth")
