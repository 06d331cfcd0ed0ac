"""Authorization code flow with PKCE: the happy path and every negative case (issue 6)."""

from __future__ import annotations

import time
from datetime import timedelta

from joserfc import jwt
from joserfc.jwk import KeySet
from sqlalchemy import select, update

from idaas.audit.models import AuditEvent
from idaas.extensions import db, utcnow
from idaas.oidc.models import AuthorizationCode
from tests.oidc.support import (
    REDIRECT,
    authorize_url,
    exchange,
    get_code,
    pkce,
    query_of,
    refresh,
    register,
)


def _verify(http, token: str, client_id: str) -> dict:
    keys = KeySet.import_key_set(http.get("/oauth2/jwks").get_json())
    decoded = jwt.decode(token, keys)
    registry = jwt.JWTClaimsRegistry(
        iss={"essential": True, "value": "http://localhost"},
        aud={"essential": True, "value": client_id},
        exp={"essential": True},
    )
    registry.validate(decoded.claims)
    return dict(decoded.claims)


def test_code_flow_tokens_userinfo_refresh(logged_in, leak_guard):
    client_id, secret = register(leak_guard)
    verifier, challenge = pkce()
    code = get_code(logged_in, client_id, challenge, nonce="n-123")
    response = exchange(logged_in, client_id, secret, code, verifier)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    leak_guard.register(body["access_token"], body["refresh_token"], body["id_token"], code)
    claims = _verify(logged_in, body["id_token"], client_id)
    assert claims["nonce"] == "n-123" and claims["preferred_username"] == "alice"
    assert claims["sid"] and claims["auth_time"] and "at_hash" in claims
    assert "email" in claims and "phone_number" not in claims
    info = logged_in.get(
        "/oauth2/userinfo", headers={"Authorization": "Bearer " + body["access_token"]}
    )
    assert info.status_code == 200 and info.get_json()["sub"] == claims["sub"]
    posted = logged_in.post("/oauth2/userinfo", data={"access_token": body["access_token"]})
    assert posted.get_json()["email"] == "alice@example.com"
    again = refresh(logged_in, client_id, secret, body["refresh_token"])
    assert again.status_code == 200, again.get_json()
    fresh = again.get_json()
    leak_guard.register(fresh["access_token"], fresh["refresh_token"], fresh["id_token"])
    assert fresh["refresh_token"] != body["refresh_token"]
    assert _verify(logged_in, fresh["id_token"], client_id)["sub"] == claims["sub"]
    actions = [row.action for row in db.session.scalars(select(AuditEvent))]
    assert "oidc.authorization_granted" in actions and actions.count("oauth2.token_issued") == 2


def test_discovery_is_truthful(client):
    meta = client.get("/.well-known/openid-configuration").get_json()
    assert meta["issuer"] == "http://localhost"
    assert meta["code_challenge_methods_supported"] == ["S256"]
    assert set(meta["id_token_signing_alg_values_supported"]) == {"ES256", "RS256"}
    for key in ("authorization_endpoint", "token_endpoint", "userinfo_endpoint", "jwks_uri"):
        path = meta[key].removeprefix("http://localhost")
        method = client.post if key == "token_endpoint" else client.get
        assert method(path).status_code != 404, key


def test_unregistered_or_prefix_redirect_uri_never_redirects(logged_in, leak_guard):
    client_id, _ = register(leak_guard)
    _, challenge = pkce()
    for uri in ("https://evil.example.com/cb", REDIRECT + "/more", REDIRECT[:-3]):
        response = logged_in.get(authorize_url(client_id, challenge, redirect_uri=uri))
        assert response.status_code == 400 and "Location" not in response.headers
        assert b"invalid_request" in response.data
    unknown = logged_in.get(authorize_url("app_nope", challenge))
    assert unknown.status_code == 400 and b"invalid_client" in unknown.data


def test_pkce_missing_plain_and_wrong_verifier(logged_in, leak_guard):
    client_id, secret = register(leak_guard)
    verifier, challenge = pkce()
    missing = logged_in.get(authorize_url(client_id, None))
    assert query_of(missing.location)["error"] == "invalid_request"
    assert query_of(missing.location)["state"] == "st-1"
    plain = logged_in.get(
        authorize_url(client_id, None, code_challenge=verifier, code_challenge_method="plain")
    )
    assert query_of(plain.location)["error"] == "invalid_request"
    code = get_code(logged_in, client_id, challenge)
    wrong = exchange(logged_in, client_id, secret, code, pkce()[0])
    assert wrong.status_code == 400 and wrong.get_json()["error"] == "invalid_grant"
    assert "access_token" not in wrong.get_json()
    code = get_code(logged_in, client_id, challenge)
    absent = exchange(logged_in, client_id, secret, code, None)
    assert absent.status_code == 400 and absent.get_json()["error"] == "invalid_request"


def test_code_reuse_revokes_tokens(logged_in, leak_guard):
    client_id, secret = register(leak_guard)
    verifier, challenge = pkce()
    code = get_code(logged_in, client_id, challenge)
    first = exchange(logged_in, client_id, secret, code, verifier).get_json()
    leak_guard.register(first["access_token"], first["refresh_token"])
    second = exchange(logged_in, client_id, secret, code, verifier)
    assert second.status_code == 400 and second.get_json()["error"] == "invalid_grant"
    bearer = {"Authorization": "Bearer " + first["access_token"]}
    assert logged_in.get("/oauth2/userinfo", headers=bearer).status_code == 401
    assert refresh(logged_in, client_id, secret, first["refresh_token"]).status_code == 400
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "oidc.code_reused"))


def test_code_of_another_client_and_expired_code(logged_in, leak_guard):
    client_id, secret = register(leak_guard)
    other_id, other_secret = register(leak_guard, name="Other")
    verifier, challenge = pkce()
    code = get_code(logged_in, client_id, challenge)
    stolen = exchange(logged_in, other_id, other_secret, code, verifier)
    assert stolen.status_code == 400 and stolen.get_json()["error"] == "invalid_grant"
    code = get_code(logged_in, client_id, challenge)
    db.session.execute(update(AuthorizationCode).values(expires_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    expired = exchange(logged_in, client_id, secret, code, verifier)
    assert expired.status_code == 400 and expired.get_json()["error"] == "invalid_grant"


def test_prompt_none_without_session(client, leak_guard):
    client_id, _ = register(leak_guard)
    _, challenge = pkce()
    response = client.get(authorize_url(client_id, challenge, prompt="none"))
    assert response.status_code == 302
    params = query_of(response.location)
    assert params["error"] == "login_required" and params["state"] == "st-1"
    assert "code" not in params


def test_no_session_goes_to_login_and_resumes(client, account, leak_guard):
    from tests.conftest import PASSWORD

    client_id, _ = register(leak_guard)
    _, challenge = pkce()
    response = client.get(authorize_url(client_id, challenge))
    assert response.status_code == 302 and "/login" in response.location
    login = client.post(response.location, data={"identifier": "alice", "password": PASSWORD})
    assert login.status_code == 302 and login.location.startswith("/oauth2/authorize?")
    final = client.get(login.location)
    assert final.status_code == 302 and "code" in query_of(final.location)


def test_prompt_login_max_age_and_other_login_hint_force_sign_in(logged_in, leak_guard):
    client_id, _ = register(leak_guard)
    _, challenge = pkce()
    same = logged_in.get(authorize_url(client_id, challenge, login_hint="alice@example.com"))
    assert "code" in query_of(same.location)
    from tests.conftest import PASSWORD

    for extra in ({"prompt": "login"}, {"max_age": "0"}, {"login_hint": "bob"}):
        logged_in.post("/login", data={"identifier": "alice", "password": PASSWORD})
        assert logged_in.get("/portal/").status_code == 200
        time.sleep(1.01 if "max_age" in extra else 0)
        response = logged_in.get(authorize_url(client_id, challenge, **extra))
        assert response.status_code == 302 and "/login" in response.location, extra


def test_scope_not_allowed(logged_in, leak_guard):
    client_id, _ = register(leak_guard, scopes=["openid", "profile"])
    _, challenge = pkce()
    response = logged_in.get(authorize_url(client_id, challenge, scope="openid email"))
    params = query_of(response.location)
    assert params["error"] == "invalid_scope" and "code" not in params


def test_access_policy_denied_is_audited(logged_in, account, leak_guard):
    from idaas.directory import service as directory

    sales = directory.create_department("system", name="Sales")
    client_id, _ = register(leak_guard, policy={"departments": [sales.id]})
    _, challenge = pkce()
    response = logged_in.get(authorize_url(client_id, challenge))
    params = query_of(response.location)
    assert params["error"] == "access_denied" and "code" not in params
    row = db.session.scalar(
        select(AuditEvent).where(AuditEvent.action == "oidc.authorization_denied")
    )
    assert row is not None and row.details["reason"] == "not_in_access_policy"


def test_policy_enforced_at_refresh(logged_in, account, leak_guard):
    from idaas.directory import service as directory

    sales = directory.create_department("system", name="Sales")
    directory.update_account("system", account.id, memberships=[sales.id])
    client_id, secret = register(leak_guard, policy={"departments": [sales.id]})
    verifier, challenge = pkce()
    code = get_code(logged_in, client_id, challenge)
    body = exchange(logged_in, client_id, secret, code, verifier).get_json()
    leak_guard.register(body["refresh_token"], body["access_token"])
    directory.update_account("system", account.id, memberships=[])
    denied = refresh(logged_in, client_id, secret, body["refresh_token"])
    assert denied.status_code == 400 and denied.get_json()["error"] == "invalid_grant"


def test_refresh_reuse_revokes_family(logged_in, leak_guard):
    client_id, secret = register(leak_guard)
    verifier, challenge = pkce()
    body = exchange(
        logged_in, client_id, secret, get_code(logged_in, client_id, challenge), verifier
    )
    first = body.get_json()
    second = refresh(logged_in, client_id, secret, first["refresh_token"]).get_json()
    leak_guard.register(first["refresh_token"], second["refresh_token"], second["access_token"])
    # Past the reuse grace period (REFRESH_TOKEN_REUSE_GRACE_SECONDS) a re-presentation is reuse.
    from idaas.oidc.models import OidcToken

    db.session.execute(
        update(OidcToken)
        .where(OidcToken.rotated_at.is_not(None))
        .values(rotated_at=utcnow() - timedelta(seconds=6))
    )
    db.session.commit()
    reuse = refresh(logged_in, client_id, secret, first["refresh_token"])
    assert reuse.status_code == 400 and reuse.get_json()["error"] == "invalid_grant"
    assert refresh(logged_in, client_id, secret, second["refresh_token"]).status_code == 400
    bearer = {"Authorization": "Bearer " + second["access_token"]}
    assert logged_in.get("/oauth2/userinfo", headers=bearer).status_code == 401
    assert db.session.scalar(
        select(AuditEvent).where(AuditEvent.action == "oidc.refresh_reuse_detected")
    )


def test_public_client_requires_pkce_and_no_secret(logged_in, leak_guard):
    client_id, secret = register(leak_guard, public=True)
    assert secret is None
    verifier, challenge = pkce()
    code = get_code(logged_in, client_id, challenge)
    response = exchange(logged_in, client_id, None, code, verifier)
    assert response.status_code == 200, response.get_json()
    leak_guard.register(response.get_json()["access_token"], response.get_json()["refresh_token"])


def test_form_post_response_mode(logged_in, leak_guard):
    client_id, _ = register(leak_guard)
    _, challenge = pkce()
    response = logged_in.get(authorize_url(client_id, challenge, response_mode="form_post"))
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert f'action="{REDIRECT}"' in html and 'name="code"' in html and 'name="state"' in html


def test_prompt_login_resumes_after_fresh_sign_in(logged_in, leak_guard):
    from tests.conftest import PASSWORD

    client_id, _ = register(leak_guard)
    _, challenge = pkce()
    first = logged_in.get(authorize_url(client_id, challenge, prompt="login"))
    assert "/login" in first.location
    login = logged_in.post(first.location, data={"identifier": "alice", "password": PASSWORD})
    assert login.location.startswith("/oauth2/authorize?") and "_r=" in login.location
    final = logged_in.get(login.location)
    assert final.status_code == 302 and "code" in query_of(final.location)


def test_nonce_replay_refused(logged_in, leak_guard):
    client_id, _ = register(leak_guard)
    _, challenge = pkce()
    get_code(logged_in, client_id, challenge, nonce="same")
    again = logged_in.get(authorize_url(client_id, challenge, nonce="same"))
    assert query_of(again.location)["error"] == "invalid_request"
