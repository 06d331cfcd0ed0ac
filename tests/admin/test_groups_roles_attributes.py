"""Groups, roles and attribute definitions from the console, and an account's assignments."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from idaas.audit.models import AuditEvent
from idaas.directory import service


def _actors(db: Any, action: str) -> set[str]:
    db.session.rollback()
    return set(db.session.scalars(select(AuditEvent.actor).where(AuditEvent.action == action)))


def test_group_lifecycle_and_membership(
    admin_client: Any, admin: Any, account: Any, db: Any
) -> None:
    actor = f"admin:{admin.id}"
    assert admin_client.post("/admin/groups", data={"name": "Finance"}).status_code == 302
    group = service.list_groups()[0]
    duplicate = admin_client.post("/admin/groups", data={"name": "finance"}, follow_redirects=True)
    assert "flash-error" in duplicate.get_data(as_text=True)
    assert len(service.list_groups()) == 1
    admin_client.post(f"/admin/accounts/{account.id}/groups", data={"group_id": group.id})
    assert [g.name for g in service.groups_of(account.id)] == ["Finance"]
    path = f"/admin/accounts/{account.id}/groups/{group.id}/remove"
    assert admin_client.get(path).status_code == 200
    assert service.groups_of(account.id)  # asking changed nothing
    admin_client.post(path, data={"confirm": "yes"})
    db.session.rollback()
    assert service.groups_of(account.id) == []
    admin_client.post(f"/admin/groups/{group.id}/delete", data={"confirm": "yes"})
    db.session.rollback()
    assert service.list_groups() == []
    assert actor in _actors(db, "group.deleted") and actor in _actors(db, "group.member_removed")


def test_roles_and_assignment(admin_client: Any, admin: Any, account: Any, db: Any) -> None:
    created = admin_client.post(
        "/admin/roles",
        data={
            "code": "expense.approver",
            "name": "Approver",
            "permissions": "expense:approve\nexpense:read",
        },
    )
    assert created.status_code == 302
    role = next(r for r in service.list_roles() if r.code == "expense.approver")
    assert sorted(f"{p.resource}:{p.action}" for p in role.permissions) == [
        "expense:approve",
        "expense:read",
    ]
    bad = admin_client.post(
        "/admin/roles",
        data={"code": "x", "name": "X", "permissions": "nonsense"},
        follow_redirects=True,
    )
    assert "flash-error" in bad.get_data(as_text=True)
    admin_client.post(f"/admin/accounts/{account.id}/roles", data={"role_id": role.id})
    assert ("expense", "approve") in service.permissions_of(account.id)
    admin_client.post(
        f"/admin/accounts/{account.id}/roles/{role.id}/remove", data={"confirm": "yes"}
    )
    db.session.rollback()
    assert service.roles_of(account.id) == []
    admin_client.post(f"/admin/roles/{role.id}/delete", data={"confirm": "yes"})
    assert f"admin:{admin.id}" in _actors(db, "role.deleted")


def test_directory_admin_cannot_assign_admin_roles_on_the_account_page(
    role_client: Any, account: Any, db: Any
) -> None:
    from idaas.admin import roles

    client, _ = role_client("directory_admin")
    super_role = roles.ensure_role("system", "super_admin")
    response = client.post(
        f"/admin/accounts/{account.id}/roles",
        data={"role_id": super_role.id},
        follow_redirects=True,
    )
    assert "flash-error" in response.get_data(as_text=True)
    db.session.rollback()
    assert roles.roles_of(account.id) == []


def test_attribute_definition_and_values(
    admin_client: Any, admin: Any, account: Any, db: Any
) -> None:
    admin_client.post(
        "/admin/attributes",
        data={
            "target": "account",
            "key": "cost_center",
            "label": "Cost center",
            "type": "enum",
            "options": "A1, B2",
        },
    )
    definition = service.definitions("account")[0]
    assert definition.options == ["A1", "B2"]
    wrong = admin_client.post(
        f"/admin/accounts/{account.id}/attributes",
        data={"attr-cost_center": "Z9"},
        follow_redirects=True,
    )
    assert "flash-error" in wrong.get_data(as_text=True)
    db.session.rollback()
    assert service.get_account(account.id).attributes.get("cost_center") is None
    admin_client.post(f"/admin/accounts/{account.id}/attributes", data={"attr-cost_center": "B2"})
    db.session.rollback()
    assert service.get_account(account.id).attributes["cost_center"] == "B2"
    admin_client.post(f"/admin/attributes/{definition.id}/delete", data={"confirm": "yes"})
    db.session.rollback()
    assert service.definitions("account") == []


def test_memberships_edit(admin_client: Any, account: Any, db: Any) -> None:
    a = service.create_department("system", name="A")
    b = service.create_department("system", name="B")
    admin_client.post(
        f"/admin/accounts/{account.id}/memberships", data={"departments": f"{b.id} {a.id}"}
    )
    db.session.rollback()
    primary = [m.department_id for m in service.get_account(account.id).memberships if m.is_primary]
    assert primary == [b.id]
    admin_client.post(f"/admin/accounts/{account.id}/memberships", data={"departments": "999999"})
    db.session.rollback()
    assert len(service.get_account(account.id).memberships) == 2
