"""The pure casting functions: the JSON fast path equals the scim2-models dump."""

from __future__ import annotations

from scim2_models import Context

from idaas.directory import service
from idaas.directory.models import ExternalIdentity
from idaas.scim import casting, facts
from idaas.scim.server.views import dump

BASE = "https://idaas.example.com/scim/v2"


def test_json_fast_path_matches_the_models(app, db):
    sales = service.create_department("system", name="Sales")
    east = service.create_department("system", name="East", parent_id=sales.id, sort_order=3)
    service.define_attribute("system", target="account", key="grade", label="Grade", type="integer")
    full = service.create_account(
        "system",
        username="full",
        display_name="Full Person",
        given_name="Full",
        family_name="Person",
        email="full@example.com",
        mobile="13800138000",
        employee_number="E-1",
        title="Lead",
        locale="en",
        memberships=[{"department_id": east.id, "title": "Boss"}, sales.id],
        attributes={"grade": 7},
        references={"scim:client": "ext-1"},
    )
    db.session.add(
        ExternalIdentity(
            account_id=full.id,
            provider="dingtalk",
            tenant="corp1",
            subject="u-1",
            union_id="union-1",
            linked_via="import",
        )
    )
    db.session.commit()
    bare = service.create_account("system", username="bare")
    disabled = service.create_account("system", username="off", status="disabled")
    group = service.create_group("system", name="Team")
    service.set_group_membership("system", group.id, full.id, True)
    empty = service.create_group("system", name="Empty")

    with app.test_request_context():
        accounts = [full, bare, disabled]
        found = facts.user_facts(accounts, "scim:client")
        for account in accounts:
            model = dump(
                casting.account_to_scim(account, found[account.id], BASE), Context.SEARCH_RESPONSE
            )
            assert casting.account_to_json(account, found[account.id], BASE) == model
        groups = [group, empty]
        group_found = facts.group_facts(groups, "scim:client")
        for item in groups:
            model = dump(
                casting.group_to_scim(item, group_found[item.id], BASE), Context.SEARCH_RESPONSE
            )
            assert casting.group_to_json(item, group_found[item.id], BASE) == model
        departments = [sales, east]
        department_found = facts.department_facts(departments, "scim:client")
        for item in departments:
            model = dump(
                casting.department_to_scim(item, department_found[item.id], BASE, "1.a"),
                Context.SEARCH_RESPONSE,
            )
            assert casting.department_to_json(item, department_found[item.id], BASE, "1.a") == model


def test_account_from_scim_round_trip(app, db):
    account = service.create_account(
        "system", username="rt", given_name="R", email="rt@example.com", title="T"
    )
    with app.test_request_context():
        found = facts.user_facts([account], "scim:x")
        user = casting.account_to_scim(account, found[account.id], BASE)
        fields = casting.account_from_scim(user, complete=True)
    assert fields["username"] == "rt" and fields["given_name"] == "R"
    assert fields["email"] == "rt@example.com" and fields["active"] is True
    assert fields["memberships"] == [] and fields["attributes"] == {}
