"""Directory -> DingTalk push against the sandbox over real HTTP (issue 16 item 3)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from idaas.directory import service
from idaas.events.models import Delivery
from idaas.events.worker import Worker
from idaas.extensions import db
from tests.dingtalk_push.conftest import drain, dt_children, dt_user

MOBILE = "+8613900000001"


def _person(department_id: int, username: str = "alice", mobile: str | None = MOBILE) -> Any:
    return service.create_account(
        "admin:1",
        username=username,
        display_name=username.title(),
        mobile=mobile,
        memberships=[{"department_id": department_id, "is_primary": True}],
    )


def test_create_update_move_rename_disable_delete_arrive_in_dingtalk(
    push_app: Any, sandbox: Any, hq: Any, root_dept: int
) -> None:
    sales = service.create_department("admin:1", name="Sales", parent_id=hq.id)
    alice = _person(sales.id)
    drain(push_app)
    dt_sales = dt_children(sandbox, root_dept)["Sales"]
    user = dt_user(sandbox, "13900000001")
    assert user is not None and user.name == "Alice"
    assert user.dept_id_list == [dt_sales.dept_id]
    from idaas.directory.service import reference_of

    assert reference_of(f"dingtalk:{sandbox.state.corp_id}", "account", alice.id).external_id == (
        user.userid
    )

    service.update_department("admin:1", sales.id, name="Sales EMEA")  # rename
    ops = service.create_department("admin:1", name="Ops", parent_id=hq.id)
    service.move_department("admin:1", sales.id, ops.id)  # move
    service.update_account("admin:1", alice.id, display_name="Alice Liddell", title="Lead")
    drain(push_app)
    dt_ops = dt_children(sandbox, root_dept)["Ops"]
    assert dt_children(sandbox, dt_ops.dept_id)["Sales EMEA"].dept_id == dt_sales.dept_id
    user = dt_user(sandbox, "13900000001")
    assert (user.name, user.title) == ("Alice Liddell", "Lead")

    service.update_account(  # the person moves to Ops
        "admin:1", alice.id, memberships=[{"department_id": ops.id, "is_primary": True}]
    )
    drain(push_app)
    assert dt_user(sandbox, "13900000001").dept_id_list == [dt_ops.dept_id]

    service.set_status("admin:1", alice.id, "disabled")
    drain(push_app)
    assert dt_user(sandbox, "13900000001") is None
    service.set_status("admin:1", alice.id, "active")
    drain(push_app)
    assert dt_user(sandbox, "13900000001") is not None

    service.delete_account("admin:1", alice.id)
    service.delete_department("admin:1", sales.id)
    drain(push_app)
    assert dt_user(sandbox, "13900000001") is None
    assert "Sales EMEA" not in dt_children(sandbox, dt_ops.dept_id)
    assert all(d.status == "delivered" for d in db.session.scalars(select(Delivery)))


def test_a_person_without_mobile_gets_a_clear_error_and_nothing_is_sent(
    push_app: Any, sandbox: Any, hq: Any
) -> None:
    from idaas.dingtalk.push import links

    bob = _person(hq.id, "bob", mobile=None)
    before = len(sandbox.state.users)
    drain(push_app)
    row = db.session.scalars(select(Delivery).where(Delivery.object_id == str(bob.id))).one()
    assert row.status == "dead"
    assert "requires a mobile number" in (row.last_error or "")
    assert "mobile number" in (links.find("corp", "account", bob.id).error or "")
    assert len(sandbox.state.users) == before


def test_mobile_used_in_the_corp_is_refused_with_the_action(
    push_app: Any, sandbox: Any, hq: Any
) -> None:
    taken = next(u for u in sandbox.state.users.values() if u.mobile)
    carol = _person(hq.id, "carol", mobile=f"+86{taken.mobile}")
    drain(push_app)
    row = db.session.scalars(select(Delivery).where(Delivery.object_id == str(carol.id))).one()
    assert row.status == "dead"
    assert "already used by someone else" in (row.last_error or "")


def test_an_ip_not_on_the_whitelist_is_retried_with_the_fix_and_then_arrives(
    push_app: Any, sandbox: Any, hq: Any
) -> None:
    sandbox.post("/faults", {"errors": [{"endpoint": "*", "errcode": 60020, "times": 1}]})
    _person(hq.id)
    Worker(push_app).deliver_once()
    db.session.expire_all()
    row = db.session.scalars(select(Delivery)).one()
    assert row.status == "pending"
    assert "whitelist" in (row.last_error or "")
    db.session.execute(Delivery.__table__.update().values(next_attempt_at=row.created_at))
    db.session.commit()  # the retry comes due
    drain(push_app)
    assert dt_user(sandbox, "13900000001") is not None


def test_a_change_from_dingtalk_is_not_pushed_back(
    push_app: Any, sandbox: Any, conn: Any, hq: Any
) -> None:
    from idaas.dingtalk.sync.settings import origin_of

    service.create_department(origin_of(conn), name="From DingTalk", parent_id=hq.id)
    _person(hq.id)
    queued = db.session.scalars(select(Delivery).where(Delivery.target_type == "dingtalk.push"))
    assert [d.origin for d in queued] == ["admin:1"]
    drain(push_app)
    assert not any(d.name == "From DingTalk" for d in sandbox.state.departments.values())


def test_one_authority_per_subtree(push_app: Any, conn: Any, root_dept: int) -> None:
    from idaas.dingtalk.push import settings
    from idaas.dingtalk.sync import settings as pull
    from idaas.directory.errors import ValidationFailed

    hq = service.create_department("admin:1", name="HQ")
    team = service.create_department("admin:1", name="Team", parent_id=hq.id)
    pull.save("admin:1", conn, {"enabled": True, "target_department_id": hq.id, "root_dept_id": 9})
    with pytest.raises(ValidationFailed) as refused:
        settings.save(
            "admin:1",
            conn,
            {"enabled": True, "source_department_id": team.id, "root_dept_id": root_dept},
        )
    assert "one subtree has one authority" in refused.value.fields["enabled"]
    assert settings.get(conn).enabled is False


def test_pull_settings_refuse_a_subtree_the_connection_pushes(
    push_app: Any, conn: Any, hq: Any, root_dept: int
) -> None:
    from idaas.dingtalk.sync import settings as pull
    from idaas.directory.errors import ValidationFailed

    inside = service.create_department("admin:1", name="Inside", parent_id=hq.id)
    with pytest.raises(ValidationFailed) as refused:  # pulling into the pushed subtree
        pull.save(
            "admin:1", conn, {"enabled": True, "target_department_id": inside.id, "root_dept_id": 9}
        )
    assert "one subtree has one authority" in refused.value.fields["enabled"]
    with pytest.raises(ValidationFailed) as refused:  # pulling the DingTalk root we push under
        pull.save("admin:1", conn, {"enabled": True, "root_dept_id": root_dept})
    assert "one subtree has one authority" in refused.value.fields["enabled"]
    db.session.expire_all()
    assert pull.get(conn).enabled is False  # nothing half-written
    elsewhere = service.create_department("admin:1", name="Elsewhere")
    saved = pull.save(  # a separate local and DingTalk subtree is fine
        "admin:1", conn, {"enabled": True, "target_department_id": elsewhere.id, "root_dept_id": 9}
    )
    assert saved.enabled is True


def test_dry_run_says_what_the_full_push_then_does(
    push_app: Any, sandbox: Any, conn: Any, hq: Any
) -> None:
    from idaas.dingtalk.push import service as push
    from idaas.dingtalk.push import settings
    from idaas.events import jobs

    settings.save("admin:1", conn, {"enabled": False})
    a = service.create_department("admin:1", name="A", parent_id=hq.id)
    service.create_department("admin:1", name="B", parent_id=a.id)
    people = [_person(a.id, f"p{n}", mobile=f"+861390000010{n}") for n in range(3)]
    _person(a.id, "nomobile", mobile=None)
    settings.save("admin:1", conn, {"enabled": True})
    plan = push.dry_run(conn)
    assert plan["counts"] == {
        "account.create": 3,
        "account.error": 1,
        "department.create": 2,
    }
    assert len(sandbox.state.users) == 10  # a dry run changes nothing
    job = push.start_sync("admin:1", conn)
    drain(push_app)
    db.session.expire_all()
    done = jobs.get(job.id)
    assert done.status == "succeeded", done.error
    assert done.result["applied"] == {"account.create": 3, "department.create": 2}, done.result
    assert done.result["planned"] == plan["counts"]
    assert push.dry_run(conn)["counts"] == {
        "account.error": 1,
        "account.unchanged": 3,
        "department.unchanged": 2,
    }
    settings.save("admin:1", conn, {"enabled": False})  # changes made while push is off
    service.update_account("admin:1", people[0].id, title="Boss")
    service.delete_account("admin:1", people[1].id)
    settings.save("admin:1", conn, {"enabled": True})
    plan = push.dry_run(conn)
    assert plan["counts"] == {
        "account.delete": 1,
        "account.error": 1,
        "account.unchanged": 1,
        "account.update": 1,
        "department.unchanged": 2,
    }
    job = push.start_sync("admin:1", conn)
    drain(push_app)
    db.session.expire_all()
    assert jobs.get(job.id).result["applied"] == {"account.delete": 1, "account.update": 1}
    assert dt_user(sandbox, "13900000100").title == "Boss"
    assert dt_user(sandbox, "13900000101") is None


def test_an_import_from_dingtalk_is_not_pushed_back(
    push_app: Any, sandbox: Any, conn: Any, hq: Any, root_dept: int
) -> None:
    from idaas.dingtalk.sync import settings as pull
    from idaas.events.models import ChangeEvent

    pulled_root = next(d for d in sandbox.state.children[1] if d != root_dept)
    pulled = service.create_department("admin:1", name="Pulled")
    pull.save(
        "admin:1",
        conn,
        {"enabled": True, "target_department_id": pulled.id, "root_dept_id": pulled_root},
    )
    creates = sandbox.state.calls["topapi/v2/user/create"]
    done = push_app.test_cli_runner().invoke(
        args=["sync", "dingtalk", "apply", "corp", "--skip-invalid", "--here"]
    )
    assert done.exit_code == 0, done.output
    imported = db.session.scalars(select(ChangeEvent).where(ChangeEvent.origin == "dingtalk:corp"))
    assert len(list(imported)) > 0
    pushes = db.session.scalars(select(Delivery).where(Delivery.target_type == "dingtalk.push"))
    assert [d.origin for d in pushes] == ["admin:1"]  # only the local "Pulled" department
    drain(push_app)
    assert sandbox.state.calls["topapi/v2/user/create"] == creates


def test_a_department_moved_out_and_back_takes_its_people_along(
    push_app: Any, sandbox: Any, hq: Any, root_dept: int
) -> None:
    team = service.create_department("admin:1", name="Team", parent_id=hq.id)
    sub = service.create_department("admin:1", name="Sub", parent_id=team.id)
    _person(sub.id)
    drain(push_app)
    assert dt_user(sandbox, "13900000001") is not None
    elsewhere = service.create_department("admin:1", name="Elsewhere")
    service.move_department("admin:1", team.id, elsewhere.id)
    drain(push_app)
    assert dt_user(sandbox, "13900000001") is None
    assert dt_children(sandbox, root_dept) == {}
    service.move_department("admin:1", team.id, hq.id)
    drain(push_app)
    dt_team = dt_children(sandbox, root_dept)["Team"]
    dt_sub = dt_children(sandbox, dt_team.dept_id)["Sub"]
    assert dt_user(sandbox, "13900000001").dept_id_list == [dt_sub.dept_id]
