"""Password life-cycle: forced change, expiry, policy and history, other sessions end."""

from __future__ import annotations

from datetime import timedelta

from tests.auth.helpers import sign_in
from tests.conftest import PASSWORD

NEW = "Brand-New-Horse-77"


def test_forced_change_after_admin_reset(client, account, runner, db):
    result = runner.invoke(
        args=["accounts", "reset-password", "alice", "--password", "Reset-By-Admin-9"]
    )
    assert result.exit_code == 0, result.output
    response = sign_in(client, password="Reset-By-Admin-9")
    assert response.location == "/login/password"
    assert client.get("/portal/").location == "/login/password"
    page = client.get("/login/password").get_data(as_text=True)
    assert "At least 8 characters." in page or "至少" in page
    weak = client.post("/login/password", data={"new_password": "short", "confirm": "short"})
    assert weak.status_code == 200 and b"field-error" in weak.data
    same = client.post(
        "/login/password", data={"new_password": "Reset-By-Admin-9", "confirm": "Reset-By-Admin-9"}
    )
    assert same.status_code == 200 and b"field-error" in same.data  # history
    done = client.post("/login/password", data={"new_password": NEW, "confirm": NEW})
    assert done.location == "/portal/"
    assert client.get("/portal/").status_code == 200


def test_forced_change_on_first_login(client, app):
    from idaas.directory import service

    service.create_account(
        "system", username="bob", password="First-Time-Pass-1", must_change_password=True
    )
    assert sign_in(client, "bob", "First-Time-Pass-1").location == "/login/password"


def test_expired_password_must_change(make_app, account):
    app = make_app(PASSWORD_MAX_AGE_DAYS=90)
    with app.app_context():
        from idaas.directory.models import Account
        from idaas.extensions import db

        row = db.session.get(Account, account.id)
        row.password_changed_at -= timedelta(days=91)
        db.session.commit()
        db.session.remove()
    client = app.test_client()
    assert sign_in(client).location == "/login/password"
    page = client.get("/login/password").get_data(as_text=True)
    assert "expired" in page or "过期" in page


def test_change_password_on_the_portal_ends_other_sessions(app, account):
    one, two = app.test_client(), app.test_client()
    sign_in(one)
    sign_in(two)
    before = one.get_cookie("idaas_sid").value
    wrong = one.post(
        "/portal/password", data={"current_password": "nope", "new_password": NEW, "confirm": NEW}
    )
    assert wrong.status_code == 200 and b"field-error" in wrong.data
    response = one.post(
        "/portal/password", data={"current_password": PASSWORD, "new_password": NEW, "confirm": NEW}
    )
    assert response.status_code == 302
    assert one.get_cookie("idaas_sid").value != before  # rotated
    assert one.get("/portal/").status_code == 200
    assert two.get("/portal/").status_code == 302
    one.post("/logout")
    assert sign_in(one, password=NEW).location == "/portal/"


def test_admin_reset_ends_every_session(logged_in, runner):
    assert runner.invoke(args=["accounts", "reset-password", "alice"]).exit_code == 0
    assert logged_in.get("/portal/").status_code == 302
