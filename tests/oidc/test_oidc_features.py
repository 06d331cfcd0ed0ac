"""Consent, pairwise subjects, sub-accounts, revocation, introspection, logout (issue 6)."""

from __future__ import annotations

from sqlalchemy import select

from idaas.applications import apps
from idaas.audit.models import AuditEvent
from idaas.extensions import db
from tests.oidc.helpers import basic, make_client
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


def _tokens(http, leak_guard, client_id, secret, **extra):
    verifier, challenge = pkce()
    body = exchange(
        http, client_id, secret, get_code(http, client_id, challenge, **extra), verifier
    )
    assert body.status_code == 200, body.get_json()
    data = body.get_json()
    leak_guard.register(*(data[k] for k in ("access_token", "refresh_token") if k in data))
    return data


def _id_claims(token: str) -> dict:
    from joserfc import jwt
    from joserfc.jwk import KeySet

    from idaas.oidc import keys

    return dict(jwt.decode(token, KeySet.import_key_set(keys.public_jwks())).claims)


def test_consent_shown_remembered_and_revocable(logged_in, leak_guard):
    client_id, secret = register(leak_guard, consent_required=True, name="Third Party")
    _, challenge = pkce()
    url = authorize_url(client_id, challenge)
    page = logged_in.get(url)
    assert page.status_code == 200 and "Third Party" in page.get_data(as_text=True)
    assert logged_in.get(authorize_url(client_id, challenge, prompt="none")).location
    denied = logged_in.post(url, data={"decision": "deny"})
    assert query_of(denied.location)["error"] == "access_denied"
    allowed = logged_in.post(url, data={"decision": "allow"})
    assert "code" in query_of(allowed.location)
    again = logged_in.get(authorize_url(client_id, challenge))
    assert again.status_code == 302 and "code" in query_of(again.location)  # remembered
    listed = logged_in.get("/portal/permissions")
    assert "Third Party" in listed.get_data(as_text=True)
    logged_in.post(f"/portal/permissions/{client_id}/revoke")
    assert logged_in.get(authorize_url(client_id, challenge)).status_code == 200
    actions = set(db.session.scalars(select(AuditEvent.action)))
    assert {"oidc.consent_granted", "oidc.consent_revoked"} <= actions


def test_prompt_none_with_consent_needed(logged_in, leak_guard):
    client_id, _ = register(leak_guard, consent_required=True)
    _, challenge = pkce()
    response = logged_in.get(authorize_url(client_id, challenge, prompt="none"))
    assert query_of(response.location)["error"] == "consent_required"


def test_pairwise_subjects_differ_per_sector_and_are_stable(logged_in, leak_guard):
    a_id, a_secret = register(leak_guard, subject_type="pairwise", sector_identifier="a.example")
    b_id, b_secret = register(leak_guard, subject_type="pairwise", sector_identifier="b.example")
    a2_id, a2_secret = register(leak_guard, subject_type="pairwise", sector_identifier="a.example")
    sub_a = _id_claims(_tokens(logged_in, leak_guard, a_id, a_secret)["id_token"])["sub"]
    sub_a_again = _id_claims(_tokens(logged_in, leak_guard, a_id, a_secret)["id_token"])["sub"]
    sub_b = _id_claims(_tokens(logged_in, leak_guard, b_id, b_secret)["id_token"])["sub"]
    sub_a2 = _id_claims(_tokens(logged_in, leak_guard, a2_id, a2_secret)["id_token"])["sub"]
    assert sub_a == sub_a_again == sub_a2
    assert sub_a != sub_b


def test_subaccount_mapping_and_association(logged_in, account, leak_guard):
    from idaas.directory import service as directory

    directory.update_account("system", account.id, employee_number="E1001")
    mapped_id, mapped_secret = register(
        leak_guard,
        subaccount_mode="mapping",
        subaccount_rule="employee_number",
        subaccount_as_sub=True,
    )
    claims = _id_claims(_tokens(logged_in, leak_guard, mapped_id, mapped_secret)["id_token"])
    assert claims["preferred_username"] == "E1001" and claims["sub"] == "E1001"

    assoc_id, assoc_secret = register(leak_guard, subaccount_mode="association")
    _, challenge = pkce()
    missing = logged_in.get(authorize_url(assoc_id, challenge))
    assert missing.status_code == 403
    row = apps.propose_subaccount(f"user:{account.id}", assoc_id, account.id, "wang.a")
    pending = logged_in.get(authorize_url(assoc_id, challenge))
    assert pending.status_code == 403 and b'data-state="pending"' in pending.data
    apps.decide_subaccount("admin:1", row.id, approve=True)
    claims = _id_claims(_tokens(logged_in, leak_guard, assoc_id, assoc_secret)["id_token"])
    assert claims["preferred_username"] == "wang.a" and claims["sub"] == account.uuid


def test_person_proposes_an_app_username_from_the_page_and_waits_for_approval(
    logged_in, account, leak_guard
):
    assoc_id, assoc_secret = register(leak_guard, subaccount_mode="association")
    _, challenge = pkce()
    page = logged_in.get(authorize_url(assoc_id, challenge))
    assert page.status_code == 403 and b'name="username"' in page.data
    empty = logged_in.post(f"/portal/apps/{assoc_id}/subaccount", data={"username": " "})
    assert empty.status_code == 422 and b'aria-invalid="true"' in empty.data
    proposed = logged_in.post(f"/portal/apps/{assoc_id}/subaccount", data={"username": "wang.a"})
    assert proposed.status_code == 200 and b'data-state="pending"' in proposed.data
    # While pending (or once approved) the person cannot change the proposal themselves.
    again = logged_in.post(f"/portal/apps/{assoc_id}/subaccount", data={"username": "boss"})
    assert again.status_code == 409
    from idaas.applications.models import SubAccount
    from idaas.extensions import db

    row = db.session.scalar(db.select(SubAccount).where(SubAccount.account_id == account.id))
    assert (row.username, row.status, row.proposed_by) == (
        "wang.a",
        "pending",
        f"user:{account.id}",
    )
    apps.decide_subaccount("admin:1", row.id, approve=True)
    claims = _id_claims(_tokens(logged_in, leak_guard, assoc_id, assoc_secret)["id_token"])
    assert claims["preferred_username"] == "wang.a"
    mapped_id, _ = register(leak_guard, subaccount_mode="mapping", subaccount_rule="username")
    assert logged_in.post(f"/portal/apps/{mapped_id}/subaccount").status_code == 404


def test_scoped_claims_only(logged_in, account, leak_guard):
    from idaas.directory import service as directory

    dept = directory.create_department("system", name="研发部")
    group = directory.create_group("system", name="Engineers")
    directory.set_group_membership("system", group.id, account.id, True)
    directory.update_account("system", account.id, memberships=[dept.id])
    client_id, secret = register(
        leak_guard, scopes=["openid", "profile", "departments", "groups", "roles", "phone"]
    )
    body = _tokens(logged_in, leak_guard, client_id, secret, scope="openid departments groups")
    info = logged_in.get(
        "/oauth2/userinfo", headers={"Authorization": "Bearer " + body["access_token"]}
    ).get_json()
    assert info["departments"] == [{"id": dept.id, "name": "研发部", "primary": True}]
    assert info["groups"] == ["Engineers"]
    assert "name" not in info and "phone_number" not in info and "roles" not in info


def test_revocation_and_introspection(logged_in, leak_guard):
    client_id, secret = register(leak_guard)
    body = _tokens(logged_in, leak_guard, client_id, secret)
    auth = basic(client_id, secret)
    seen = logged_in.post("/oauth2/introspect", data={"token": body["access_token"]}, headers=auth)
    assert seen.get_json()["active"] is True and seen.get_json()["client_id"] == client_id
    api_id, api_secret = make_client("tokens:introspect", leak_guard=leak_guard)
    by_api = logged_in.post(
        "/oauth2/introspect",
        data={"token": body["access_token"]},
        headers=basic(api_id, api_secret),
    )
    assert by_api.get_json()["active"] is True
    other_id, other_secret = register(leak_guard, name="Other")
    hidden = logged_in.post(
        "/oauth2/introspect",
        data={"token": body["access_token"]},
        headers=basic(other_id, other_secret),
    )
    assert hidden.get_json() == {"active": False}
    revoked = logged_in.post("/oauth2/revoke", data={"token": body["refresh_token"]}, headers=auth)
    assert revoked.status_code == 200
    assert refresh(logged_in, client_id, secret, body["refresh_token"]).status_code == 400
    after = logged_in.post("/oauth2/introspect", data={"token": body["access_token"]}, headers=auth)
    assert after.get_json() == {"active": False}
    unknown = logged_in.post("/oauth2/revoke", data={"token": "nope"}, headers=auth)
    assert unknown.status_code == 200


def test_rp_initiated_logout_with_frontchannel(logged_in, leak_guard):
    client_id, secret = register(
        leak_guard,
        post_logout_redirect_uris=["https://rp.example.com/bye"],
        frontchannel_logout_uri="https://rp.example.com/fc",
    )
    body = _tokens(logged_in, leak_guard, client_id, secret)
    leak_guard.register(body["id_token"])
    bad = logged_in.get(
        "/oauth2/logout",
        query_string={
            "id_token_hint": body["id_token"],
            "post_logout_redirect_uri": "https://rp.example.com/bye/x",
        },
    )
    assert bad.status_code == 200 and "Location" not in bad.headers
    assert "https://rp.example.com/fc?iss=" in bad.get_data(as_text=True)
    assert "frame-src https://rp.example.com" in bad.headers["Content-Security-Policy"]
    assert logged_in.get("/portal").status_code == 302  # signed out


def test_signing_out_at_idaas_loads_each_rp_frontchannel_page(logged_in, leak_guard):
    """Front-channel Logout 1.0 §3 on idaas's own sign-out, not only on /oauth2/logout."""
    from idaas.auth.models import AuthSession

    client_id, secret = register(leak_guard, frontchannel_logout_uri="https://rp.example.com/fc")
    plain_id, plain_secret = register(leak_guard)  # no front-channel URI: no iframe
    _tokens(logged_in, leak_guard, client_id, secret)
    _tokens(logged_in, leak_guard, plain_id, plain_secret)
    session_id = db.session.scalar(select(AuthSession.id).where(AuthSession.revoked_at.is_(None)))
    page = logged_in.post("/logout")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert html.count('class="frontchannel"') == 1
    assert "https://rp.example.com/fc?iss=" in html and "&amp;sid=" in html
    assert "frame-src https://rp.example.com" in page.headers["Content-Security-Policy"]
    assert 'href="/login" data-autofollow' in html
    assert db.session.get(AuthSession, session_id).revoked_at is not None
    assert logged_in.get("/portal").status_code == 302  # signed out


def test_logout_without_hint_asks_first(logged_in, leak_guard):
    page = logged_in.get("/oauth2/logout")
    assert page.status_code == 200 and 'name="confirm"' in page.get_data(as_text=True)
    assert logged_in.get("/portal").status_code == 200  # still signed in
    done = logged_in.post("/oauth2/logout", data={"confirm": "1"})
    assert done.status_code == 200
    assert logged_in.get("/portal").status_code == 302


def test_logout_redirect_with_state(logged_in, leak_guard):
    client_id, secret = register(
        leak_guard, post_logout_redirect_uris=["https://rp.example.com/bye"]
    )
    body = _tokens(logged_in, leak_guard, client_id, secret)
    leak_guard.register(body["id_token"])
    response = logged_in.get(
        "/oauth2/logout",
        query_string={
            "id_token_hint": body["id_token"],
            "post_logout_redirect_uri": "https://rp.example.com/bye",
            "state": "s1",
        },
    )
    assert response.status_code == 302
    assert response.location == "https://rp.example.com/bye?state=s1"


def test_launch_url_for(app, leak_guard):
    with_uri, _ = register(leak_guard, initiate_login_uri="https://rp.example.com/initiate")
    url = apps.launch_url_for(with_uri, login_hint="alice")
    assert url == "https://rp.example.com/initiate?iss=http%3A%2F%2Flocalhost&login_hint=alice"
    assert apps.launch_url_for("app_unknown") is None
    confidential, _ = register(leak_guard, pkce_required=False)
    direct = apps.launch_url_for(confidential)
    assert direct is not None and direct.startswith("/oauth2/authorize?")
    assert REDIRECT.replace(":", "%3A").replace("/", "%2F") in direct


def test_portal_tiles_follow_policy(logged_in, account, leak_guard):
    from idaas.directory import service as directory

    register(leak_guard, name="Open App", initiate_login_uri="https://rp.example.com/i")
    other = directory.create_department("system", name="Finance")
    register(
        leak_guard,
        name="Finance App",
        policy={"departments": [other.id]},
        initiate_login_uri="https://fin.example.com/i",
    )
    register(leak_guard, name="No Way In")  # PKCE app without initiate_login_uri: no tile
    page = logged_in.get("/portal").get_data(as_text=True)
    assert "Open App" in page and "Finance App" not in page and "No Way In" not in page
    launch = logged_in.get(f"/portal/launch/{apps.list_applications()[0].client_id}")
    assert launch.location.startswith("https://rp.example.com/i?iss=")
    denied = logged_in.get(f"/portal/launch/{apps.list_applications()[1].client_id}")
    assert denied.status_code == 403


def test_introspect_client_credentials_token(client, leak_guard):
    from tests.oidc.helpers import fetch_token

    api_id, api_secret = make_client("tokens:introspect", leak_guard=leak_guard)
    reader_id, reader_secret = make_client("directory:read", leak_guard=leak_guard)
    token = fetch_token(client, reader_id, reader_secret)
    leak_guard.register(token)
    seen = client.post(
        "/oauth2/introspect", data={"token": token}, headers=basic(api_id, api_secret)
    )
    assert seen.get_json()["active"] is True and seen.get_json()["client_id"] == reader_id
    refused = client.post(
        "/oauth2/introspect", data={"token": token}, headers=basic(reader_id, reader_secret)
    )
    assert refused.status_code == 401 and refused.get_json()["error"] == "invalid_client"


def test_custom_attribute_claims_follow_the_application_mapping(logged_in, account, leak_guard):
    from idaas.directory import service as directory

    directory.define_attribute(
        "system", target="account", key="cost_center", label="成本中心", type="string"
    )
    directory.update_account("system", account.id, attributes={"cost_center": "CC-42"})
    client_id, secret = register(
        leak_guard, claim_mapping={"cost_center": "cost_center", "name": "cost_center"}
    )
    claims = _id_claims(_tokens(logged_in, leak_guard, client_id, secret)["id_token"])
    assert claims["cost_center"] == "CC-42"
    assert claims["name"] == "Alice Wang"  # a mapping never overrides a standard claim
    no_profile = _tokens(logged_in, leak_guard, client_id, secret, scope="openid")
    assert "cost_center" not in _id_claims(no_profile["id_token"])


def test_acr_values_mfa_steps_up_only_when_mfa_is_enrolled(logged_in, account, leak_guard):
    from idaas.auth import mfa
    from tests.auth.helpers import totp_code

    client_id, _ = register(leak_guard)
    _, challenge = pkce()
    # A password-only session satisfies acr_values=mfa when the person has no second factor.
    plain = logged_in.get(authorize_url(client_id, challenge, acr_values="mfa"))
    assert "code" in query_of(plain.location)
    secret = mfa.start_enrolment(account.id)
    assert mfa.confirm_enrolment(account.id, totp_code(secret), f"user:{account.id}")
    stepped = logged_in.get(authorize_url(client_id, challenge, acr_values="mfa"))
    assert stepped.status_code == 302 and stepped.location.startswith("/login")
    assert "code=" not in stepped.location
