"""Server-side sessions: opaque signed id, rotation, revocation, timeouts, one-query lookup."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import event, select

from tests.auth.helpers import audit_actions, sid, sign_in


def _rows(db):
    from idaas.auth.models import AuthSession

    return list(db.session.scalars(select(AuthSession).order_by(AuthSession.id)))


def test_cookie_is_a_signed_opaque_id_with_safe_flags(client, account, db):
    response = sign_in(client)
    header = next(h for h in response.headers.getlist("Set-Cookie") if h.startswith("idaas_sid="))
    assert "HttpOnly" in header and "SameSite=Lax" in header and "Path=/" in header
    assert "Secure" not in header  # the test issuer is http
    value = sid(client)
    assert str(account.id) not in value.split(".")[0] or len(value) > 40
    (row,) = _rows(db)
    assert row.token_hash != value and len(row.token_hash) == 64  # only a hash is stored
    assert row.ip == "127.0.0.1" and row.methods == ["pwd"] and row.acr == "pwd"


def test_secure_cookie_when_issuer_is_https(make_app, account):
    app = make_app(ISSUER="https://id.example.com")
    client = app.test_client()
    response = client.post(
        "/login",
        data={"identifier": "alice", "password": "Correct-Horse-42"},
        base_url="https://id.example.com",
    )
    header = next(h for h in response.headers.getlist("Set-Cookie") if h.startswith("idaas_sid="))
    assert "Secure" in header
    assert "max-age=31536000" in response.headers["Strict-Transport-Security"]


def test_session_id_changes_at_sign_in_and_a_planted_id_is_useless(client, account, db):
    client.set_cookie("idaas_sid", "planted-by-attacker")
    first = sign_in(client)
    assert first.status_code == 302
    first_id = sid(client)
    assert first_id != "planted-by-attacker"
    sign_in(client)
    assert sid(client) != first_id
    rows = _rows(db)
    assert rows[0].revoked_reason == "replaced" and rows[1].revoked_at is None


def test_revoked_session_is_refused_on_the_next_request(logged_in, account, db):
    from idaas.auth import sessions

    assert logged_in.get("/portal/").status_code == 200
    sessions.revoke_all(account.id, "test", "system")
    response = logged_in.get("/portal/")
    assert response.status_code == 302 and response.location.startswith("/login")
    assert audit_actions(db, "auth.session.revoked_all")


def test_idle_timeout(logged_in, db):
    (row,) = _rows(db)
    row.last_seen_at -= timedelta(minutes=31)
    db.session.commit()
    assert logged_in.get("/portal/").status_code == 302


def test_absolute_timeout(logged_in, db):
    (row,) = _rows(db)
    row.expires_at = row.created_at
    db.session.commit()
    assert logged_in.get("/portal/").status_code == 302


def test_tampered_cookie_is_refused(logged_in):
    value = logged_in.get_cookie("idaas_sid").value
    logged_in.set_cookie("idaas_sid", value[:-2] + ("AA" if value[-2:] != "AA" else "BB"))
    assert logged_in.get("/portal/").status_code == 302


def test_disabling_an_account_ends_its_sessions_immediately(logged_in, account, db):
    from idaas.directory import service

    service.set_status("admin:1", account.id, "disabled")
    assert logged_in.get("/portal/").status_code == 302
    assert all(row.revoked_reason == "account_disabled" for row in _rows(db))


def test_account_leaving_ends_its_sessions(logged_in, account, db):
    from idaas.directory import service

    service.set_status("system", account.id, "left")
    assert logged_in.get("/portal/").status_code == 302


def test_lookup_is_one_indexed_query(app, logged_in, db):
    from idaas.auth import sessions

    value = logged_in.get_cookie("idaas_sid").value
    db.session.expunge_all()
    statements = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        with app.test_request_context("/", headers={"Cookie": f"idaas_sid={value}"}):
            sessions._reset_request_state()
            assert sessions.current() is not None
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert len(statements) == 1 and "token_hash" in statements[0]


def test_logout_get_confirms_and_post_ends_the_session(logged_in, db):
    page = logged_in.get("/logout")
    assert page.status_code == 200 and b'method="post"' in page.data
    assert logged_in.get("/portal/").status_code == 200
    response = logged_in.post("/logout")
    assert response.status_code == 302 and response.location == "/login"
    assert sid(logged_in) is None
    (row,) = _rows(db)
    assert row.revoked_reason == "logout"
    assert audit_actions(db, "auth.logout")


def test_cli_sessions_list_and_revoke(logged_in, runner, account):
    listed = runner.invoke(args=["sessions", "list", "alice", "--json"])
    assert listed.exit_code == 0 and '"acr": "pwd"' in listed.output
    revoked = runner.invoke(args=["sessions", "revoke", "alice"])
    assert revoked.exit_code == 0 and "Ended 1 session" in revoked.output
    assert logged_in.get("/portal/").status_code == 302


def test_security_headers_on_login(client):
    response = client.get("/login")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "'unsafe-inline'" not in csp
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"]
    assert b"<script>" not in response.data
