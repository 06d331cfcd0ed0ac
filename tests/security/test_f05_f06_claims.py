"""Issue 11 findings 5 (unique `sub` from sub-accounts) and 6 (truthful *_verified claims)."""

from __future__ import annotations

import pytest
from sqlalchemy import update

from idaas.applications import apps
from idaas.applications.errors import InvalidInput
from idaas.applications.models import Application
from idaas.extensions import db
from tests.conftest import PASSWORD
from tests.oidc.support import authorize_url, pkce, register


def _bob():
    from idaas.directory import service

    return service.create_account(
        "system",
        username="bob",
        display_name="Bob",
        email="alice@elsewhere.example.com",  # the same local part as alice@example.com
        password=PASSWORD,
        must_change_password=False,
    )


def test_f05_a_non_unique_mapping_cannot_be_the_subject(app, account, leak_guard):
    with pytest.raises(InvalidInput) as refused:
        register(
            leak_guard,
            subaccount_mode="mapping",
            subaccount_rule="email_local",
            subaccount_as_sub=True,
        )
    assert "subaccount_as_sub" in refused.value.fields
    with pytest.raises(InvalidInput):
        register(
            leak_guard,
            subaccount_mode="mapping",
            subaccount_rule="attr:team",
            subaccount_as_sub=True,
        )
    client_id, _ = register(leak_guard, subaccount_mode="mapping", subaccount_rule="email_local")
    with pytest.raises(InvalidInput):
        apps.update_application("system", client_id, subaccount_as_sub=True)
    assert register(
        leak_guard, subaccount_mode="mapping", subaccount_rule="mobile", subaccount_as_sub=True
    )


def test_f05_an_existing_non_unique_mapping_is_refused_when_computed(
    logged_in, account, leak_guard
):
    _bob()
    client_id, _ = register(leak_guard, subaccount_mode="mapping", subaccount_rule="email_local")
    # Configured before the fix (straight in the table): the flow refuses to hand out `sub`.
    db.session.execute(
        update(Application).where(Application.client_id == client_id).values(subaccount_as_sub=True)
    )
    db.session.commit()
    _, challenge = pkce()
    page = logged_in.get(authorize_url(client_id, challenge))
    assert page.status_code == 403 and b'data-state="conflict"' in page.data


def test_f05_two_accounts_with_the_same_association_username(logged_in, account, leak_guard):
    bob = _bob()
    client_id, _ = register(leak_guard, subaccount_mode="association", subaccount_as_sub=True)
    for person in (account, bob):
        row = apps.propose_subaccount(f"user:{person.id}", client_id, person.id, "wang")
        apps.decide_subaccount("admin:1", row.id, approve=True)
    _, challenge = pkce()
    page = logged_in.get(authorize_url(client_id, challenge))
    assert page.status_code == 403 and b'data-state="conflict"' in page.data


def test_f06_self_typed_email_and_mobile_are_not_verified(make_app, account, leak_guard):
    from joserfc import jwt

    from idaas.directory import service
    from tests.oidc.support import exchange, get_code

    app = make_app(PORTAL_EDITABLE_FIELDS=["display_name", "locale", "email", "mobile"])
    http = app.test_client()
    with app.app_context():
        http.post("/login", data={"identifier": "alice", "password": PASSWORD})
        client_id, secret = register(leak_guard)

        def claims():
            verifier, challenge = pkce()
            code = get_code(http, client_id, challenge, scope="openid email phone")
            body = exchange(http, client_id, secret, code, verifier).get_json()
            leak_guard.register(body["access_token"], body["id_token"])
            info = http.get(
                "/oauth2/userinfo", headers={"Authorization": "Bearer " + body["access_token"]}
            ).get_json()
            return info, jwt.decode(body["id_token"], _keys(http)).claims

        info, id_claims = claims()  # set by the directory: verified
        assert info["email_verified"] is True and info["phone_number_verified"] is True
        saved = http.post(
            "/portal/profile",
            data={
                "display_name": "Alice Wang",
                "locale": "zh_CN",
                "email": "alice@typed.example.com",
                "mobile": "13900139000",
            },
        )
        assert saved.status_code == 302
        info, id_claims = claims()
        assert info["email"] == "alice@typed.example.com"
        assert info["email_verified"] is False and info["phone_number_verified"] is False
        assert id_claims["email_verified"] is False
        # An administrator (or a directory sync) setting the value makes it verified again.
        service.update_account("admin:1", account.id, email="alice@example.com")
        info, _ = claims()
        assert info["email_verified"] is True and info["phone_number_verified"] is False


def _keys(http):
    from joserfc.jwk import KeySet

    return KeySet.import_key_set(http.get("/oauth2/jwks").get_json())
