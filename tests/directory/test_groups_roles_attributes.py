"""Groups, roles and permissions, the attribute dictionary, external identities."""

import pytest

from idaas.directory import service
from idaas.directory.errors import NotFound, ValidationFailed


def test_groups_and_members(app, account):
    group = service.create_group("admin:1", name="Managers", description="People leads")
    with pytest.raises(ValidationFailed):
        service.create_group("admin:1", name="managers")
    assert service.set_group_membership("admin:1", group.id, account.id, True)
    assert not service.set_group_membership("admin:1", group.id, account.id, True)
    assert [a.id for a in service.group_members(group.id)] == [account.id]
    assert [g.name for g in service.groups_of(account.id)] == ["Managers"]
    assert [a.id for a in service.list_accounts(group_id=group.id)] == [account.id]
    assert service.set_group_membership("admin:1", group.id, account.id, False)
    service.delete_group("admin:1", group.id)
    with pytest.raises(NotFound):
        service.get_group(group.id)


def test_roles_grant_permissions(app, account):
    role = service.create_role(
        "admin:1",
        code="hr.viewer",
        name="HR viewer",
        permissions=["people:read", ("salary", "read")],
    )
    service.set_role_assignment("admin:1", role.id, account.id, True)
    assert service.permissions_of(account.id) == {("people", "read"), ("salary", "read")}
    service.update_role("admin:1", role.id, permissions=[{"resource": "people", "action": "read"}])
    assert service.permissions_of(account.id) == {("people", "read")}
    assert [a.id for a in service.list_accounts(role_id=role.id)] == [account.id]
    with pytest.raises(ValidationFailed) as error:
        service.create_role("admin:1", code="Bad Code", name="", permissions=["nocolon"])
    assert set(error.value.fields) == {"code", "name", "permissions"}
    with pytest.raises(ValidationFailed):
        service.create_role("admin:1", code="hr.viewer", name="dup")
    service.set_role_assignment("admin:1", role.id, account.id, False)
    assert service.permissions_of(account.id) == set()


def test_attribute_definitions_validate_values(app, account):
    service.define_attribute(
        "admin:1",
        target="account",
        key="cost_center",
        label="Cost centre",
        type="string",
        required=False,
        unique=True,
    )
    service.define_attribute(
        "admin:1",
        target="account",
        key="grade",
        label="Grade",
        type="enum",
        options=["P5", "P6", "P7"],
    )
    service.define_attribute(
        "admin:1", target="account", key="hired_on", label="Hired", type="date"
    )
    service.define_attribute(
        "admin:1", target="account", key="seats", label="Seats", type="integer"
    )
    updated = service.update_account(
        "admin:1",
        account.id,
        attributes={"cost_center": "CC-01", "grade": "P6", "hired_on": "2024-03-01", "seats": "2"},
    )
    assert updated.attributes == {
        "cost_center": "CC-01",
        "grade": "P6",
        "hired_on": "2024-03-01",
        "seats": 2,
    }
    with pytest.raises(ValidationFailed) as error:
        service.update_account(
            "admin:1",
            account.id,
            attributes={"grade": "P9", "hired_on": "yesterday", "seats": "many", "shoe_size": 42},
        )
    assert set(error.value.fields) == {
        "attributes.grade",
        "attributes.hired_on",
        "attributes.seats",
        "attributes.shoe_size",
    }
    with pytest.raises(ValidationFailed) as error:
        service.create_account("admin:1", username="bob", attributes={"cost_center": "CC-01"})
    assert error.value.fields == {"attributes.cost_center": "This value is already in use."}
    cleared = service.update_account("admin:1", account.id, attributes={"seats": None})
    assert "seats" not in cleared.attributes


def test_required_attribute_and_disabled_definition(app, account):
    definition = service.define_attribute(
        "admin:1", target="account", key="site", label="Site", type="string", required=True
    )
    with pytest.raises(ValidationFailed) as error:
        service.create_account("admin:1", username="bob")
    assert "attributes.site" in error.value.fields
    service.update_definition("admin:1", definition.id, enabled=False)
    service.create_account("admin:1", username="bob")


def test_attribute_definition_rules(app):
    with pytest.raises(ValidationFailed) as error:
        service.define_attribute("admin:1", target="group", key="Bad Key", label="", type="colour")
    assert set(error.value.fields) == {"target", "key", "label", "type"}
    with pytest.raises(ValidationFailed) as error:
        service.define_attribute("admin:1", target="account", key="level", label="L", type="enum")
    assert "options" in error.value.fields
    service.define_attribute("admin:1", target="department", key="level", label="L", type="integer")
    with pytest.raises(ValidationFailed):
        service.define_attribute(
            "admin:1", target="department", key="level", label="L", type="integer"
        )


def test_department_attributes(app):
    service.define_attribute(
        "admin:1", target="department", key="code", label="Code", type="string"
    )
    department = service.create_department("admin:1", name="HQ", attributes={"code": "HQ01"})
    assert department.attributes == {"code": "HQ01"}
    updated = service.update_department("admin:1", department.id, attributes={"code": "HQ02"})
    assert updated.attributes == {"code": "HQ02"} and updated.version == 2


def _link(account_id: int, tenant: str, subject: str, **extra: str) -> None:
    service.link_identity(
        "system", account_id, provider="dingtalk", tenant=tenant, subject=subject,
        linked_via="manual", **extra,
    )  # fmt: skip


def test_an_identity_binds_one_account_and_an_account_one_identity_per_corp(app, account):
    other = service.create_account("system", username="bob")
    _link(account.id, "corpA", "u-1", union_id="union-1")
    for account_id, subject, clashing_field in (
        (other.id, "u-1", "subject"),
        (account.id, "u-2", "account_id"),
    ):
        with pytest.raises(ValidationFailed) as error:
            _link(account_id, "corpA", subject)
        assert clashing_field in error.value.fields
    _link(account.id, "corpB", "u-1")
    identity = service.find_identity("dingtalk", "corpA", "u-1")
    assert identity.account_id == account.id
    service.unlink_identity("user:1", identity.id, reason="user")
    assert service.find_identity("dingtalk", "corpA", "u-1") is None
    assert len(service.identities_of(account.id)) == 1


def test_external_references(app, account):
    service.set_reference("dingtalk:main", "dingtalk:main", "account", account.id, "manager01")
    assert service.find_reference("dingtalk:main", "account", "manager01").object_id == str(
        account.id
    )
    other = service.create_account("system", username="bob", references={"dingtalk:main": "user02"})
    assert service.reference_of("dingtalk:main", "account", other.id).external_id == "user02"
    with pytest.raises(ValidationFailed):
        service.set_reference("dingtalk:main", "dingtalk:main", "account", other.id, "manager01")


def test_attribute_definition_writes_check_the_version(app):
    from idaas.directory.errors import VersionConflict

    definition = service.define_attribute(
        "admin:1", target="account", key="site", label="Site", type="string"
    )
    service.update_definition("admin:1", definition.id, expected_version=1, label="Office")
    with pytest.raises(VersionConflict):
        service.update_definition("admin:1", definition.id, expected_version=1, label="Desk")
    with pytest.raises(VersionConflict):
        service.delete_definition("admin:1", definition.id, expected_version=1)
    service.delete_definition("admin:1", definition.id, expected_version=2)
