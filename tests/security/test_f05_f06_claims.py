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
