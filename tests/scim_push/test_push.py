"""SCIM push against a real scim2-server: every kind of change arrives; no echo; mapping."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from idaas.directory import service
from idaas.events.models import Delivery
from idaas.extensions import db
from idaas.scim.push.models import ProvisionedObject, ProvisioningLog
from tests.scim_push.conftest import FAST, drain, make_application, push_to, settle

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


def test_create_update_rename_move_disable_and_delete_arrive(
    make_app: Any, any_target: Any
) -> None:
    app = make_app(**FAST)
    with app.app_context():
        push_to(make_application(), any_target.url, departments="groups")
        sales = service.create_department("admin:1", name="Sales")
        ops = service.create_department("admin:1", name="Ops")
        ada = service.create_account(
            "admin:1",
            username="ada",
            email="ada@example.com",
            employee_number="E1",
            memberships=[sales.id],
        )
        drain(app)
        user = any_target.users()["ada"]
        assert user["externalId"] == ada.uuid and user["active"] is True
        assert user["emails"][0]["value"] == "ada@example.com"
        assert user[ENTERPRISE] == {"employeeNumber": "E1", "department": "Sales"}
        remote_id = user["id"]
        assert [m["value"] for m in any_target.groups()["Sales"]["members"]] == [remote_id]

        service.update_account("admin:1", ada.id, title="Countess", display_name="Ada L.")
        service.update_account("admin:1", ada.id, username="ada.lovelace")
        service.update_account("admin:1", ada.id, memberships=[ops.id])
        drain(app)
        users = any_target.users()
        assert set(users) == {"ada.lovelace"}
        moved = users["ada.lovelace"]
        assert moved["id"] == remote_id  # renamed in place, not re-created
        assert (moved["title"], moved["displayName"]) == ("Countess", "Ada L.")
        assert moved[ENTERPRISE]["department"] == "Ops"
        groups = any_target.groups()
        assert not groups["Sales"].get("members")
        assert [m["value"] for m in groups["Ops"]["members"]] == [remote_id]

        service.set_status("admin:1", ada.id, "disabled")
        drain(app)
        assert any_target.users()["ada.lovelace"]["active"] is False

        service.set_status("admin:1", ada.id, "active")
        service.delete_account("admin:1", ada.id)
        drain(app)
        assert any_target.users()["ada.lovelace"]["active"] is False  # deactivated by default
        assert db.session.scalars(select(Delivery.status)).all() and set(
            db.session.scalars(select(Delivery.status))
        ) == {"delivered"}


def test_delete_by_choice_removes_the_user(make_app: Any, any_target: Any) -> None:
    app = make_app(**FAST)
    with app.app_context():
        push_to(make_application(), any_target.url, deprovision="delete")
        grace = service.create_account("admin:1", username="grace")
        drain(app)
        assert "grace" in any_target.users()
        service.delete_account("admin:1", grace.id)
        drain(app)
        assert "grace" not in any_target.users()


def test_group_membership_changes_arrive(make_app: Any, any_target: Any) -> None:
    app = make_app(**FAST)
    with app.app_context():
        push_to(make_application(), any_target.url)
        ada = service.create_account("admin:1", username="ada")
        bob = service.create_account("admin:1", username="bob")
        team = service.create_group("admin:1", name="Team")
        service.set_group_membership("admin:1", team.id, ada.id, True)
        drain(app)
        ids = {name: user["id"] for name, user in any_target.users().items()}
        assert [m["value"] for m in any_target.groups()["Team"]["members"]] == [ids["ada"]]
        service.set_group_membership("admin:1", team.id, bob.id, True)
        service.set_group_membership("admin:1", team.id, ada.id, False)
        drain(app)
        assert [m["value"] for m in any_target.groups()["Team"]["members"]] == [ids["bob"]]
        service.update_group("admin:1", team.id, name="Core team")
        drain(app)
        assert set(any_target.groups()) == {"Core team"}
        service.delete_group("admin:1", team.id)
        drain(app)
        assert any_target.groups() == {}


def test_a_change_from_the_apps_own_scim_client_is_not_pushed_back(
    make_app: Any, target: Any
) -> None:
    app = make_app(**FAST)
    with app.app_context():
        application = make_application()
        other = make_application("Other")
        push_to(application, target.url)
        push_to(other, target.url + "/", echo_client="hr-console")
        service.create_account(f"scim:{application.client_id}", username="from-a")
        service.create_account("scim:hr-console", username="from-hr")
        keys = {
            (d.target_key, d.payload.get("version") is not None)
            for d in db.session.scalars(select(Delivery))
        }
        by_target = sorted(k for k, _ in keys)
        assert by_target == sorted([other.client_id, application.client_id])
        rows = db.session.scalars(select(Delivery)).all()
        assert {(r.target_key, r.origin) for r in rows} == {
            (other.client_id, f"scim:{application.client_id}"),
            (application.client_id, "scim:hr-console"),
        }


def test_staff_number_mapping_makes_the_app_receive_its_key(make_app: Any, any_target: Any) -> None:
    from idaas.directory.service import link_identity

    app = make_app(**FAST)
    with app.app_context():
        application = make_application(
            "ERP", subaccount_mode="mapping", subaccount_rule="employee_number"
        )
        mapping = [
            {"source": "dingtalk_userid", "target": "employeeNumber", "transform": "sub_account"},
            {"source": "email", "target": "userName", "transform": "lowercase"},
            {"source": "title", "target": "title", "transform": "default", "default": "Staff"},
        ]
        push_to(application, any_target.url, mapping=mapping)
        ada = service.create_account(
            "admin:1", username="ada", email="Ada@Example.com", employee_number="S-0042"
        )
        link_identity(
            "admin:1",
            ada.id,
            provider="dingtalk",
            tenant="corp1",
            subject="ding-ada",
            linked_via="admin",
        )
        service.create_account("admin:1", username="nobody")  # no DingTalk userid: refused
        drain(app)
        user = any_target.users()["ada@example.com"]
        assert user[ENTERPRISE]["employeeNumber"] == "S-0042" and user["title"] == "Staff"
        assert "nobody" not in any_target.users()
        dead = db.session.scalars(select(Delivery).where(Delivery.status == "dead")).one()
        assert "dingtalk_userid is empty" in (dead.last_error or "")


def test_requests_are_logged_without_secrets(make_app: Any, target: Any) -> None:
    app = make_app(**FAST)
    with app.app_context():
        push_to(make_application(), target.url, auth_type="bearer", secret="s3cret-token")
        service.create_account("admin:1", username="ada")
        drain(app)
        rows = db.session.scalars(select(ProvisioningLog)).all()
        assert {r.operation for r in rows} >= {"test", "lookup", "create"}
        assert all("s3cret" not in f"{r.request}{r.error}" for r in rows)
        assert db.session.scalars(select(ProvisionedObject)).one().object_type == "account"


def test_without_filter_or_patch_support_it_scans_and_puts(make_app: Any, any_target: Any) -> None:
    import httpx

    app = make_app(**FAST)
    with app.app_context():
        row = push_to(make_application(), any_target.url)
        row.capabilities = {"filter": False, "patch": False}  # as a minimal target announces
        db.session.commit()
        httpx.post(
            f"{any_target.url}/Users",
            json={"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "ada"},
        )
        ada = service.create_account("admin:1", username="ada", title="Countess")
        drain(app)
        users = any_target.users()
        assert len(users) == 1 and users["ada"]["title"] == "Countess"
        service.delete_account("admin:1", ada.id)
        drain(app)
        assert any_target.users()["ada"]["active"] is False
        operations = {r.operation: r.request for r in db.session.scalars(select(ProvisioningLog))}
        assert operations["list"].startswith("GET Users") and "PATCH" not in str(operations)
        assert operations["reconciled"] == f"account:{ada.id}"


def test_departments_as_the_custom_resource_type_arrive_with_their_parents(
    make_app: Any, target: Any
) -> None:
    app = make_app(**FAST)
    with app.app_context():
        push_to(make_application(), target.url, departments="custom", users=False, groups=False)
        hq = service.create_department("admin:1", name="HQ")
        sales = service.create_department("admin:1", name="Sales", parent_id=hq.id)
        ops = service.create_department("admin:1", name="Ops", parent_id=hq.id)
        settle(app)
        found = target.departments()
        assert set(found) == {"HQ", "Sales", "Ops"}
        assert found["HQ"]["externalId"] == f"department:{hq.id}" and not found["HQ"].get("parent")
        assert found["Sales"]["parent"]["value"] == found["HQ"]["id"]
        assert found["Ops"]["parent"]["value"] == found["HQ"]["id"]
        remote_sales = found["Sales"]["id"]

        service.update_department("admin:1", sales.id, name="Sales EMEA")  # rename
        service.move_department("admin:1", sales.id, ops.id)  # move
        settle(app)
        found = target.departments()
        assert set(found) == {"HQ", "Sales EMEA", "Ops"}
        assert found["Sales EMEA"]["id"] == remote_sales  # renamed in place, not re-created
        assert found["Sales EMEA"]["parent"]["value"] == found["Ops"]["id"]

        service.delete_department("admin:1", sales.id)
        settle(app)
        assert set(target.departments()) == {"HQ", "Ops"}
        assert target.groups() == {} and target.users() == {}  # nothing went as a Group
        assert set(db.session.scalars(select(Delivery.status))) == {"delivered"}
