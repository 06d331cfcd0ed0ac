"""The portal: home with app tiles, profile, linked identities, sessions."""

from __future__ import annotations

from tests.auth.helpers import audit_actions, sign_in


def test_portal_needs_a_sign_in(client):
    for path in (
        "/portal/",
        "/portal/profile",
        "/portal/sessions",
        "/portal/mfa",
        "/portal/password",
        "/portal/identities",
    ):
        response = client.get(path)
        assert response.status_code == 302 and response.location.startswith("/login?next=")


def test_home_shows_the_person_and_an_empty_app_grid(logged_in):
    page = logged_in.get("/portal/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Alice Wang" in page and "No applications yet." in page


def test_apps_grid_reads_from_apps_for(logged_in, monkeypatch):
    from idaas.portal import apps, views

    monkeypatch.setattr(views, "apps_for", lambda account: [apps.AppTile("Wiki", "/wiki")])
    page = logged_in.get("/portal/").get_data(as_text=True)
    assert 'href="/wiki"' in page and "Wiki" in page


def test_edit_profile(logged_in, account, db):
    response = logged_in.post(
        "/portal/profile",
        data={
            "display_name": "Alice W.",
            "email": "alice@example.com",
            "mobile": "13800138000",
            "locale": "en",
        },
    )
    assert response.status_code == 302
    db.session.refresh(account)
    assert account.display_name == "Alice W." and account.locale == "en"
    assert audit_actions(db, "account.updated")[-1].actor == f"user:{account.id}"


def test_profile_errors_are_shown(make_app, account):
    app = make_app(PORTAL_EDITABLE_FIELDS=["display_name", "email", "mobile"])
    with app.app_context():
        from idaas.directory import service

        service.create_account("system", username="bob", email="bob@example.com")
    client = app.test_client()
    sign_in(client)
    response = client.post(
        "/portal/profile", data={"display_name": "A", "email": "bob@example.com"}
    )
    assert response.status_code == 200 and b"field-error" in response.data


def test_fields_not_allowed_by_policy_are_read_only(make_app, account):
    app = make_app(PORTAL_EDITABLE_FIELDS=["display_name"])
    client = app.test_client()
    sign_in(client)
    client.post("/portal/profile", data={"display_name": "New", "email": "evil@example.com"})
    with app.app_context():
        from idaas.directory import service

        found = service.find_by_identifier("alice")
        assert found.display_name == "New" and found.email == "alice@example.com"


def test_linked_identities_list_and_unlink(logged_in, account, db):
    from idaas.directory import service

    empty = logged_in.get("/portal/identities", headers={"Accept-Language": "en"})
    assert b"No linked accounts." in empty.data
    identity = service.link_identity(
        "system",
        account.id,
        provider="dingtalk",
        tenant="corp1",
        subject="u123",
        linked_via="manual",
    )
    page = logged_in.get("/portal/identities")
    assert b"u123" in page.data
    assert logged_in.post(f"/portal/identities/{identity.id}/unlink").status_code == 302
    assert service.identities_of(account.id) == []


def test_cannot_unlink_someone_elses_identity(logged_in, app):
    from idaas.directory import service

    bob = service.create_account("system", username="bob")
    identity = service.link_identity(
        "system", bob.id, provider="dingtalk", tenant="c", subject="b", linked_via="manual"
    )
    assert logged_in.post(f"/portal/identities/{identity.id}/unlink").status_code == 404


def test_sessions_list_and_sign_out_others(app, account, db):
    one, two, three = app.test_client(), app.test_client(), app.test_client()
    for client in (one, two, three):
        sign_in(client)
    page = one.get("/portal/sessions").get_data(as_text=True)
    assert page.count("data-session=") == 3
    assert one.post("/portal/sessions/others/revoke").status_code == 302
    assert one.get("/portal/").status_code == 200
    assert two.get("/portal/").status_code == 302 and three.get("/portal/").status_code == 302
    assert audit_actions(db, "auth.session.revoked_all")[-1].details["count"] == 2


def test_sign_out_one_session(app, account):
    from idaas.auth.models import AuthSession
    from idaas.extensions import db

    one, two = app.test_client(), app.test_client()
    sign_in(one)
    sign_in(two)
    other = db.session.scalars(db.select(AuthSession).order_by(AuthSession.id.desc())).first()
    assert one.post(f"/portal/sessions/{other.id}/revoke").status_code == 302
    assert two.get("/portal/").status_code == 302 and one.get("/portal/").status_code == 200


def test_device_label():
    from idaas.portal import device_label

    ua = (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Mobile/15E148 DingTalk/7.5.0"
    )
    assert device_label(ua) == "DingTalk · iPhone"
    assert device_label(None) == "Browser"
