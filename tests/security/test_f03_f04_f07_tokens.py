"""Issue 11 findings 3 (introspection by kind), 4 (disabled apps' tokens), 7 (refresh races)."""

from __future__ import annotations

import threading
from datetime import timedelta

import httpx
from sqlalchemy import select, update

from idaas.extensions import db, utcnow
from idaas.oidc.models import OidcToken
from tests.oidc.helpers import basic
from tests.oidc.support import REDIRECT, exchange, get_code, pkce, refresh, register


def _tokens(http, leak_guard, client_id, secret):
    verifier, challenge = pkce()
    code = get_code(http, client_id, challenge, scope="openid profile offline_access")
    body = exchange(http, client_id, secret, code, verifier).get_json()
    leak_guard.register(body["access_token"], body["refresh_token"], body["id_token"])
    return body


def _introspect(http, client_id, secret, token):
    return http.post("/oauth2/introspect", data={"token": token}, headers=basic(client_id, secret))


def test_f03_expired_access_token_is_inactive_while_its_refresh_token_lives(logged_in, leak_guard):
    client_id, secret = register(leak_guard)
    body = _tokens(logged_in, leak_guard, client_id, secret)
    row = db.session.scalars(select(OidcToken)).one()
    refresh_exp = row.refresh_expires_at
    # The clock passes the access token's expiry (its stored expiry goes back).
    db.session.execute(update(OidcToken).values(access_expires_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    assert _introspect(logged_in, client_id, secret, body["access_token"]).get_json() == {
        "active": False
    }
    seen = _introspect(logged_in, client_id, secret, body["refresh_token"]).get_json()
    assert seen["active"] is True
    from idaas.oidc.service import epoch

    assert seen["exp"] == epoch(refresh_exp) and "token_type" not in seen


def test_f03_rotated_refresh_token_is_inactive_but_its_access_token_lives(logged_in, leak_guard):
    client_id, secret = register(leak_guard)
    body = _tokens(logged_in, leak_guard, client_id, secret)
    fresh = refresh(logged_in, client_id, secret, body["refresh_token"]).get_json()
    leak_guard.register(fresh["access_token"], fresh["refresh_token"], fresh["id_token"])
    assert _introspect(logged_in, client_id, secret, body["refresh_token"]).get_json() == {
        "active": False
    }
    assert _introspect(logged_in, client_id, secret, body["access_token"]).get_json()["active"]
    # An ID token is not a token of the introspection endpoint.
    assert _introspect(logged_in, client_id, secret, body["id_token"]).get_json() == {
        "active": False
    }


def test_f04_reenabling_an_application_does_not_revive_its_tokens(logged_in, leak_guard):
    from idaas.applications import apps

    client_id, secret = register(leak_guard)
    body = _tokens(logged_in, leak_guard, client_id, secret)
    bearer = {"Authorization": "Bearer " + body["access_token"]}
    assert logged_in.get("/oauth2/userinfo", headers=bearer).status_code == 200
    apps.set_application_enabled("system", client_id, False)
    apps.set_application_enabled("system", client_id, True)
    assert logged_in.get("/oauth2/userinfo", headers=bearer).status_code == 401
    assert refresh(logged_in, client_id, secret, body["refresh_token"]).status_code == 400
    for token in (body["access_token"], body["refresh_token"]):
        assert _introspect(logged_in, client_id, secret, token).get_json() == {"active": False}
    # New tokens after re-enabling work.
    fresh = _tokens(logged_in, leak_guard, client_id, secret)
    bearer = {"Authorization": "Bearer " + fresh["access_token"]}
    assert logged_in.get("/oauth2/userinfo", headers=bearer).status_code == 200


def test_f07_parallel_refreshes_yield_one_chain_and_reuse_after_grace_revokes(
    app, logged_in, live_server, leak_guard
):
    """mod_auth_openidc style: 10 concurrent refreshes of one token by the same client."""
    client_id, secret = register(leak_guard)
    body = _tokens(logged_in, leak_guard, client_id, secret)
    barrier = threading.Barrier(10)
    results: list[httpx.Response] = []
    lock = threading.Lock()

    def redeem() -> None:
        data = {
            "grant_type": "refresh_token",
            "refresh_token": body["refresh_token"],
            "client_id": client_id,
            "client_secret": secret,
        }
        barrier.wait()
        response = httpx.post(f"{live_server.url}/oauth2/token", data=data, timeout=30)
        with lock:
            results.append(response)

    threads = [threading.Thread(target=redeem) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [r.status_code for r in results] == [200] * 10, [r.text for r in results]
    pairs = {(r.json()["access_token"], r.json()["refresh_token"]) for r in results}
    assert len(pairs) == 1  # every caller got the same new pair
    new_access, new_refresh = pairs.pop()
    leak_guard.register(new_access, new_refresh, *(r.json()["id_token"] for r in results))
    db.session.rollback()
    rows = list(db.session.scalars(select(OidcToken).order_by(OidcToken.id)))
    assert len(rows) == 2 and all(row.revoked_at is None for row in rows)  # one new chain
    assert rows[0].rotated_at is not None and rows[1].rotated_at is None
    # The new token works; then the clock passes the grace period of the old one.
    newer = refresh(logged_in, client_id, secret, new_refresh)
    assert newer.status_code == 200
    leak_guard.register(newer.get_json()["access_token"], newer.get_json()["refresh_token"])
    leak_guard.register(newer.get_json()["id_token"])
    db.session.execute(
        update(OidcToken)
        .where(OidcToken.id == rows[0].id)
        .values(rotated_at=utcnow() - timedelta(seconds=6))
    )
    db.session.commit()
    reuse = refresh(logged_in, client_id, secret, body["refresh_token"])
    assert reuse.status_code == 400 and reuse.get_json()["error"] == "invalid_grant"
    db.session.rollback()
    assert all(row.revoked_at is not None for row in db.session.scalars(select(OidcToken)))
    assert (
        refresh(logged_in, client_id, secret, newer.get_json()["refresh_token"]).status_code == 400
    )


def test_f07_grace_is_per_client_and_a_revoked_family_issues_nothing(logged_in, leak_guard):
    client_id, secret = register(leak_guard)
    other_id, other_secret = register(leak_guard, name="Other")
    body = _tokens(logged_in, leak_guard, client_id, secret)
    fresh = refresh(logged_in, client_id, secret, body["refresh_token"]).get_json()
    leak_guard.register(fresh["access_token"], fresh["refresh_token"], fresh["id_token"])
    # Another client never gets the pair, even within the grace period.
    assert refresh(logged_in, other_id, other_secret, body["refresh_token"]).status_code == 400
    again = refresh(logged_in, client_id, secret, body["refresh_token"])
    assert again.status_code == 200 and again.get_json()["refresh_token"] == fresh["refresh_token"]
    # A revoked family issues nothing, grace or not.
    logged_in.post(
        "/oauth2/revoke", data={"token": fresh["refresh_token"]}, headers=basic(client_id, secret)
    )
    assert refresh(logged_in, client_id, secret, body["refresh_token"]).status_code == 400
    assert refresh(logged_in, client_id, secret, fresh["refresh_token"]).status_code == 400
    assert REDIRECT


def test_f07_grace_zero_is_the_strict_rule(make_app, account, leak_guard):
    app = make_app(REFRESH_TOKEN_REUSE_GRACE_SECONDS=0)
    http = app.test_client()
    with app.app_context():
        http.post("/login", data={"identifier": "alice", "password": "Correct-Horse-42"})
        client_id, secret = register(leak_guard)
        body = _tokens(http, leak_guard, client_id, secret)
        fresh = refresh(http, client_id, secret, body["refresh_token"]).get_json()
        leak_guard.register(fresh["access_token"], fresh["refresh_token"], fresh["id_token"])
        assert refresh(http, client_id, secret, body["refresh_token"]).status_code == 400
        assert refresh(http, client_id, secret, fresh["refresh_token"]).status_code == 400
