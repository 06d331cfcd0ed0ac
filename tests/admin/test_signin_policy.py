"""The sign-in policy edited in the console: each field changes behaviour, bad values are refused
with field errors and nothing saved, only a super admin may change it, every change is audited,
and a change saved by one app instance is in force in another on the next request."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import time_machine
from sqlalchemy import select

from tests.admin.conftest import sign_in
from tests.auth.helpers import audit_actions
from tests.auth.helpers import sign_in as password_sign_in
from tests.conftest import ADMIN_PASSWORD, PASSWORD

EDIT = "/admin/signin/policy"
EMPTY = {
    "password_min_length": "",
    "password_required_classes": "",
    "password_history": "",
    "password_max_age_days": "",
    "lockout_threshold": "",
    "lockout_minutes": "",
    "mfa_required": "",
    "session_idle_minutes": "",
    "session_absolute_hours": "",
}


def save(client: Any, version: int | None = None, **values: str) -> Any:
    """Post the edit form with `values` (every other field empty) at the current version."""
    from idaas.security import signin_policy

    if version is None:
        version = signin_policy.effective().version
    return client.post(EDIT, data={**EMPTY, "version": str(version), **values})


def test_the_page_shows_the_instance_settings_until_an_admin_overrides(admin_client, db):
    page = admin_client.get(EDIT)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'name="password_min_length"' in html and 'placeholder="8"' in html
    response = save(admin_client, password_min_length="12", mfa_required="yes")
    assert response.status_code == 302 and response.location == "/admin/signin"
    signin_page = admin_client.get("/admin/signin").get_data(as_text=True)
    assert "edit-signin-policy" in signin_page and signin_page.count("badge") >= 2
    html = admin_client.get(EDIT).get_data(as_text=True)
    assert 'value="12"' in html


def test_a_shorter_minimum_length_is_accepted_for_new_passwords(admin_client, account, app):
    from idaas.directory import service
    from idaas.directory.errors import ValidationFailed

    short = "Ab1!xy"
    try:
        service.set_password("system", account.id, short)
    except ValidationFailed as refused:
        assert "password" in refused.fields
    else:
        raise AssertionError("a 6-character password passed the default policy of 8")
    assert save(admin_client, password_min_length="6").status_code == 302
    service.set_password("system", account.id, short)
    client = app.test_client()
    assert password_sign_in(client, password=short).location == "/portal/"


def test_a_lockout_threshold_of_three_locks_at_three(admin_client, account, app, db):
    from idaas.auth import lockout

    assert save(admin_client, lockout_threshold="3", lockout_minutes="2").status_code == 302
    client = app.test_client()
    for _ in range(2):
        password_sign_in(client, password="Wrong-Password-1")
    assert not lockout.is_locked(account.id)
    password_sign_in(client, password="Wrong-Password-1")
    assert lockout.is_locked(account.id)
    (row,) = audit_actions(db, "auth.lockout")
    assert row.details["failures"] == 3 and row.details["minutes"] == 2
    with time_machine.travel(timedelta(minutes=3)):
        assert password_sign_in(client).location == "/portal/"


def test_mfa_required_forces_enrolment(admin_client, account, app):
    client = app.test_client()
    assert password_sign_in(client).location == "/portal/"
    assert save(admin_client, mfa_required="yes").status_code == 302
    other = app.test_client()
    assert password_sign_in(other).location == "/login/mfa/enrol"
    assert save(admin_client, mfa_required="no").status_code == 302
    assert password_sign_in(app.test_client()).location == "/portal/"


def test_a_shorter_idle_timeout_ends_a_session(admin_client, logged_in):
    assert logged_in.get("/portal/").status_code == 200
    with time_machine.travel(timedelta(minutes=10)):
        assert logged_in.get("/portal/").status_code == 200  # default idle: 30 minutes
    assert save(admin_client, session_idle_minutes="5").status_code == 302
    with time_machine.travel(timedelta(minutes=16)):
        response = logged_in.get("/portal/")
    assert response.status_code == 302 and response.location.startswith("/login")


def test_a_shorter_absolute_lifetime_applies_to_new_sessions(admin_client, account, app):
    assert (
        save(admin_client, session_absolute_hours="1", session_idle_minutes="120").status_code
        == 302
    )
    client = app.test_client()
    password_sign_in(client)
    with time_machine.travel(timedelta(minutes=50)):
        assert client.get("/portal/").status_code == 200
    with time_machine.travel(timedelta(minutes=61)):
        assert client.get("/portal/").status_code == 302


def test_password_history_and_max_age(admin_client, account, app, db):
    from idaas.directory import service
    from idaas.directory.errors import ValidationFailed

    assert save(admin_client, password_history="0", password_max_age_days="1").status_code == 302
    service.set_password("system", account.id, PASSWORD)  # history 0: the same one again
    client = app.test_client()
    with time_machine.travel(timedelta(days=2)):
        assert password_sign_in(client).location == "/login/password"
    assert save(admin_client, password_required_classes="4").status_code == 302
    try:
        service.set_password("system", account.id, "Correct-Horse-43x")
    except ValidationFailed:
        pass
    service.set_password("system", account.id, "Correct-Horse-43!")


def test_bad_values_are_refused_with_field_errors_and_nothing_saved(admin_client, db):
    from idaas.security import signin_policy
    from idaas.security.models import SignInPolicyOverride

    response = save(
        admin_client,
        password_min_length="0",
        password_required_classes="5",
        lockout_threshold="three",
        session_idle_minutes="-1",
        lockout_minutes="1.5",
        password_history="2.5",
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    for field in (
        "password_min_length",
        "password_required_classes",
        "lockout_threshold",
        "session_idle_minutes",
        "password_history",
    ):
        assert f'id="{field}-error"' in html, field
    assert 'id="lockout_minutes-error"' not in html
    assert "请输入不小于 1 的值。" in html and "请输入整数。" in html
    assert db.session.scalars(select(SignInPolicyOverride)).all() == []
    assert signin_policy.effective().lockout_minutes == 15
    assert audit_actions(db, "settings.signin_policy.updated") == []


def test_a_stale_version_is_refused(admin_client, db):
    assert save(admin_client, version=0, lockout_threshold="4").status_code == 302
    stale = save(admin_client, version=0, lockout_threshold="9")
    assert stale.status_code == 409
    from idaas.security import signin_policy

    assert signin_policy.effective().lockout_threshold == 4


def test_changes_are_audited_with_the_admin_and_the_values(admin_client, admin, db):
    assert save(admin_client, lockout_threshold="3", mfa_required="yes").status_code == 302
    assert save(admin_client, mfa_required="yes").status_code == 302  # threshold back to default
    first, second = audit_actions(db, "settings.signin_policy.updated")
    assert first.actor == second.actor == f"admin:{admin.id}"
    assert first.details["before"] == {"lockout_threshold": 5, "mfa_required": False}
    assert first.details["after"] == {"lockout_threshold": 3, "mfa_required": True}
    assert second.details["before"] == {"lockout_threshold": 3}
    assert second.details["after"] == {"lockout_threshold": 5}
    assert second.details["version"] == 2 and second.details["overridden"] == ["mfa_required"]


def test_non_super_admins_cannot_change_the_policy(role_client, admin, db):
    from idaas.security.models import SignInPolicyOverride

    for role in ("directory_admin", "application_admin", "auditor"):
        client, _ = role_client(role)
        assert client.get(EDIT).status_code == 403
        assert save(client, version=0, lockout_threshold="1").status_code == 403
        assert "edit-signin-policy" not in client.get("/admin/signin").get_data(as_text=True)
    assert db.session.scalars(select(SignInPolicyOverride)).all() == []


def test_a_change_in_one_instance_is_in_force_in_another(make_app, admin, account):
    """Two app instances (two processes' worth of state) on one database."""
    first, second = make_app(), make_app()
    console = sign_in(first.test_client(), "root", ADMIN_PASSWORD)
    portal = second.test_client()
    with second.app_context():
        assert password_sign_in(portal).location == "/portal/"
        assert portal.get("/portal/").status_code == 200
    with first.app_context():
        assert save(console, version=0, session_idle_minutes="1").status_code == 302
    with second.app_context(), time_machine.travel(timedelta(minutes=2)):
        assert portal.get("/portal/").status_code == 302
    with first.app_context():
        assert save(console, version=1, mfa_required="yes").status_code == 302
    with second.app_context():
        assert password_sign_in(second.test_client()).location == "/login/mfa/enrol"


def test_the_api_on_an_admins_session_follows_the_admin_roles(admin_client, role_client, admin, db):
    api = "/api/v1/settings/signin-policy"
    directory_admin, _ = role_client("directory_admin")
    assert directory_admin.get(api).status_code == 403
    assert directory_admin.patch(api, json={"lockout_threshold": 2}).status_code == 403
    auditor, _ = role_client("auditor")
    assert auditor.get(api).status_code == 200
    assert auditor.patch(api, json={"lockout_threshold": 2}).status_code == 403
    response = admin_client.patch(api, json={"lockout_threshold": 2})
    assert response.status_code == 200 and response.get_json()["policy"]["lockout_threshold"] == 2
    (row,) = audit_actions(db, "settings.signin_policy.updated")
    assert row.actor == f"admin:{admin.id}"


def test_statements_a_signed_in_page_and_a_password_sign_in_spend_on_the_policy(
    app, account, admin_client, db
):
    """The session lookup carries the policy row; a sign-in reads it once by primary key."""
    from sqlalchemy import event

    from tests.conftest import PASSWORD as password

    save(admin_client, lockout_threshold="4")
    client = app.test_client()
    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        assert password_sign_in(client, password=password).location == "/portal/"
        sign_in_reads = [s for s in statements if "FROM signin_policy" in s]
        statements.clear()
        assert client.get("/portal/").status_code == 200
        page_reads = [s for s in statements if "signin_policy" in s]
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert len(sign_in_reads) == 1 and "WHERE signin_policy.id" in sign_in_reads[0]
    assert len(page_reads) == 1 and "auth_session" in page_reads[0]  # the session lookup itself


def test_the_first_refused_field_gets_the_focus(admin_client):
    html = save(admin_client, lockout_threshold="-2").get_data(as_text=True)
    field = html[
        html.index('id="lockout_threshold"') - 200 : html.index('id="lockout_threshold"') + 300
    ]
    assert "autofocus" in field
    first = html[
        html.index('id="password_min_length"') - 200 : html.index('id="password_min_length"') + 200
    ]
    assert "autofocus" not in first
