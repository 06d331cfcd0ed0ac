"""Binding rules (DESIGN.md §2 "Sign-in paths" 4): auto-link, conflicts, throttles, JIT."""

from __future__ import annotations

import pytest

from tests.conftest import PASSWORD
from tests.dingtalk_login.support import (
    audit_rows,
    configure,
    links_of,
    make_local,
    people,
    qr_callback,
    sandbox_config,
)


@pytest.fixture
def bind_app(make_app, sandbox, leak_guard):
    """Build an app with given source settings and extra config."""

    def build(config=None, **settings):
        app = make_app(**sandbox_config(sandbox), **(config or {}))
        ctx = app.app_context()
        ctx.push()
        contexts.append(ctx)
        configure(sandbox, leak_guard, **settings)
        return app

    contexts = []
    yield build
    for ctx in reversed(contexts):
        ctx.pop()


def _mobile(user):
    return f"+{user.state_code}{user.mobile}"


def test_auto_link_is_off_by_default(bind_app, sandbox, leak_guard):
    app = bind_app()
    person = people(sandbox)[0]
    twin = make_local("twin", PASSWORD, mobile=_mobile(person), email=person.email)
    response = qr_callback(app.test_client(), sandbox, person.userid, leak_guard)
    assert response.location.endswith("/login/bind")
    assert not links_of(twin.id)


def test_auto_link_on_mobile_links_exactly_one_account(bind_app, sandbox, leak_guard):
    app = bind_app(auto_link=["mobile"])
    person = people(sandbox)[1]
    match = make_local("match", PASSWORD, mobile=_mobile(person))
    response = qr_callback(app.test_client(), sandbox, person.userid, leak_guard)
    assert response.location.endswith("/portal/")
    [identity] = links_of(match.id)
    assert identity.linked_via == "auto" and identity.subject == person.userid


def test_auto_link_never_on_name(bind_app, sandbox, leak_guard):
    with pytest.raises(ValueError, match="never a name"):
        bind_app(auto_link=["display_name"])


def test_same_name_is_not_a_match(bind_app, sandbox, leak_guard):
    app = bind_app(auto_link=["mobile", "email", "employee_number"])
    person = people(sandbox)[2]
    namesake = make_local("namesake", PASSWORD, display_name=person.name)
    response = qr_callback(app.test_client(), sandbox, person.userid, leak_guard)
    assert response.location.endswith("/login/bind")
    assert not links_of(namesake.id)


def test_two_matching_accounts_fall_through_to_manual(bind_app, sandbox, leak_guard):
    app = bind_app(auto_link=["mobile", "email"])
    person = people(sandbox)[3]
    by_mobile = make_local("bymobile", PASSWORD, mobile=_mobile(person))
    by_email = make_local("byemail", PASSWORD, email=person.email)
    response = qr_callback(app.test_client(), sandbox, person.userid, leak_guard)
    assert response.location.endswith("/login/bind")
    assert not links_of(by_mobile.id) and not links_of(by_email.id)
    assert audit_rows("auth.dingtalk.auto_link_skipped")[-1].details["reason"] == "ambiguous"


def test_auto_link_skips_an_account_linked_to_someone_else(bind_app, sandbox, leak_guard):
    from idaas.directory import service

    app = bind_app(auto_link=["email"])
    person, other = people(sandbox)[4], people(sandbox)[5]
    taken = make_local("taken", PASSWORD, email=person.email)
    service.link_identity(
        "system",
        taken.id,
        provider="dingtalk",
        tenant=sandbox.state.corp_id,
        subject=other.userid,
        linked_via="admin",
    )
    response = qr_callback(app.test_client(), sandbox, person.userid, leak_guard)
    assert response.location.endswith("/login/bind")
    assert [i.subject for i in links_of(taken.id)] == [other.userid]


def test_bind_to_an_account_linked_to_another_dingtalk_user_is_refused(
    bind_app, sandbox, leak_guard
):
    from idaas.directory import service

    app = bind_app()
    person, other = people(sandbox)[6], people(sandbox)[7]
    alice = make_local("alice", PASSWORD)
    service.link_identity(
        "system",
        alice.id,
        provider="dingtalk",
        tenant=sandbox.state.corp_id,
        subject=other.userid,
        linked_via="admin",
    )
    client = app.test_client()
    qr_callback(client, sandbox, person.userid, leak_guard)
    response = client.post("/login/bind", data={"identifier": "alice", "password": PASSWORD})
    assert response.status_code == 403 and 'id="bind-error"' in response.get_data(as_text=True)
    assert [i.subject for i in links_of(alice.id)] == [other.userid]
    assert audit_rows("auth.dingtalk.bind")[-1].details["reason"] == "account_already_linked"
    assert client.get("/portal/").status_code == 302


def test_bind_attempts_are_throttled_like_the_login_form(bind_app, sandbox, leak_guard):
    app = bind_app({"LOGIN_RATE_LIMIT_ACCOUNT": "3/minute", "LOCKOUT_THRESHOLD": 0})
    make_local("alice", PASSWORD)
    client = app.test_client()
    qr_callback(client, sandbox, people(sandbox)[8].userid, leak_guard)
    codes = [
        client.post("/login/bind", data={"identifier": "alice", "password": "wrong"}).status_code
        for _ in range(3)
    ]
    assert codes == [200, 200, 200]
    throttled = client.post("/login/bind", data={"identifier": "alice", "password": PASSWORD})
    assert throttled.status_code == 429
    assert not links_of(1)


def test_bind_attempts_lock_the_account_out(bind_app, sandbox, leak_guard):
    app = bind_app({"LOCKOUT_THRESHOLD": 3})
    alice = make_local("alice", PASSWORD)
    client = app.test_client()
    qr_callback(client, sandbox, people(sandbox)[9].userid, leak_guard)
    for _ in range(3):
        client.post("/login/bind", data={"identifier": "alice", "password": "wrong"})
    locked = client.post("/login/bind", data={"identifier": "alice", "password": PASSWORD})
    assert locked.status_code == 200 and 'id="bind-error"' in locked.get_data(as_text=True)
    assert not links_of(alice.id)
    assert audit_rows("auth.lockout")


def test_bind_page_without_a_pending_person_goes_to_login(bind_app):
    app = bind_app()
    assert app.test_client().get("/login/bind").location.endswith("/login")


def test_link_sends_a_work_notification_when_enabled(bind_app, sandbox, leak_guard):
    app = bind_app(notify_on_link=True)
    person = people(sandbox)[10]
    make_local("alice", PASSWORD, display_name="Alice Wang")
    sandbox.control.delete("/notifications")
    client = app.test_client()
    qr_callback(client, sandbox, person.userid, leak_guard)
    client.post("/login/bind", data={"identifier": "alice", "password": PASSWORD})
    [notice] = sandbox.get("/notifications")["notifications"]
    assert person.userid in str(notice)
    assert "alice" in str(notice)


def test_just_in_time_account_creation(bind_app, sandbox, leak_guard):
    from idaas.directory import service

    app = bind_app(jit=True)
    person = people(sandbox)[11]
    response = qr_callback(app.test_client(), sandbox, person.userid, leak_guard)
    assert response.location.endswith("/portal/")
    account = service.find_by_identifier(f"dt-{person.userid}")
    assert account.display_name == person.name and account.email == person.email
    assert links_of(account.id)[0].linked_via == "jit"
