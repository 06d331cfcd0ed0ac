"""Issue 11 finding 8: RP-initiated logout trusts only this browser's own ID token as a hint."""

from __future__ import annotations

from tests.conftest import PASSWORD
from tests.oidc.support import exchange, get_code, pkce, register

BYE = "https://rp.example.com/bye"


def _tokens(http, leak_guard, client_id, secret):
    verifier, challenge = pkce()
    body = exchange(http, client_id, secret, get_code(http, client_id, challenge), verifier)
    data = body.get_json()
    leak_guard.register(
        *(data[k] for k in ("access_token", "refresh_token", "id_token") if k in data)
    )
    return data


def _logout(http, hint):
    return http.get(
        "/oauth2/logout", query_string={"id_token_hint": hint, "post_logout_redirect_uri": BYE}
    )


def test_f08_another_persons_id_token_asks_for_confirmation(make_app, account, leak_guard):
    from idaas.directory import service

    app = make_app()
    alice, bob = app.test_client(), app.test_client()
    with app.app_context():
        service.create_account(
            "system",
            username="bob",
            display_name="Bob",
            password=PASSWORD,
            must_change_password=False,
        )
        client_id, secret = register(leak_guard, post_logout_redirect_uris=[BYE])
        alice.post("/login", data={"identifier": "alice", "password": PASSWORD})
        bob.post("/login", data={"identifier": "bob", "password": PASSWORD})
        bobs = _tokens(bob, leak_guard, client_id, secret)
        _tokens(alice, leak_guard, client_id, secret)
        page = _logout(alice, bobs["id_token"])  # Bob's ID token sent by Alice's browser
        assert page.status_code == 200 and 'name="confirm"' in page.get_data(as_text=True)
        assert alice.get("/portal/").status_code == 200  # still signed in
        assert bob.get("/portal/").status_code == 200


def test_f08_an_access_token_is_not_an_id_token_hint(logged_in, leak_guard):
    client_id, secret = register(leak_guard, post_logout_redirect_uris=[BYE])
    body = _tokens(logged_in, leak_guard, client_id, secret)
    page = _logout(logged_in, body["access_token"])
    assert page.status_code in (200, 400) and "Location" not in page.headers
    assert logged_in.get("/portal/").status_code == 200


def test_f08_own_id_token_signs_out_at_once(logged_in, leak_guard):
    client_id, secret = register(leak_guard, post_logout_redirect_uris=[BYE])
    body = _tokens(logged_in, leak_guard, client_id, secret)
    done = _logout(logged_in, body["id_token"])
    assert done.status_code == 302 and done.location == BYE
    assert logged_in.get("/portal/").status_code == 302


def test_f08_an_id_token_of_an_earlier_session_asks(logged_in, leak_guard):
    client_id, secret = register(leak_guard, post_logout_redirect_uris=[BYE])
    old = _tokens(logged_in, leak_guard, client_id, secret)
    logged_in.post("/logout")
    logged_in.post("/login", data={"identifier": "alice", "password": PASSWORD})
    page = _logout(logged_in, old["id_token"])  # its sid names a session that ended
    assert page.status_code == 200 and 'name="confirm"' in page.get_data(as_text=True)
    assert logged_in.get("/portal/").status_code == 200
