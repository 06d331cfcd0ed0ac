"""Accounts: identifiers, uniqueness, memberships, passwords, status and external authority."""

import pytest
from sqlalchemy import func, or_, select

from idaas.audit.models import AuditEvent
from idaas.directory import service, signals
from idaas.directory.errors import SourceOwned, ValidationFailed, VersionConflict
from idaas.directory.models import Account
from idaas.events.models import ChangeEvent
from idaas.security.passwords import verify_password
from tests.conftest import PASSWORD


def count(db, model):
    return db.session.scalar(select(func.count()).select_from(model))


DIRECTORY_OBJECTS = ("account", "department", "group", "role", "attribute_definition")


def directory_audits(db):
    """Audit rows written by directory writes (other modules may audit their reactions)."""
    return db.session.scalar(
        select(func.count())
        .select_from(AuditEvent)
        .where(or_(*(AuditEvent.action.startswith(f"{kind}.") for kind in DIRECTORY_OBJECTS)))
    )


def test_identifiers_are_normalised(app):
    created = service.create_account(
        "system",
        username="  Bob.Li ",
        email="Bob@Example.COM",
        mobile="138 0013 8001",
        employee_number=" E-1001 ",
    )
    assert created.username == "Bob.Li"
    assert created.email == "Bob@example.com"
    assert created.mobile == "+8613800138001"
    assert created.employee_number == "E-1001"
    assert created.display_name == "Bob.Li"
    assert service.find_by_identifier("bob.li").id == created.id
    assert service.find_by_identifier("bob@EXAMPLE.com").id == created.id
    assert service.find_by_identifier("+86 138-0013-8001").id == created.id
    assert service.find_by_identifier("nobody") is None


@pytest.mark.parametrize(
    ("field", "first", "second"),
    [
        ("username", "carol", "CAROL"),
        ("email", "carol@example.com", "CAROL@example.com"),
        ("mobile", "138 0013 8000", "+86 13800138000"),
        ("mobile", "13800138000", "+86-138-0013-8000"),
        ("employee_number", "E-7", "E-7"),
    ],
)
def test_two_accounts_cannot_share_an_identifier(app, db, field, first, second):
    base = {"username": "first", field: first} if field != "username" else {"username": first}
    service.create_account("system", **base)
    other = {"username": "second", field: second} if field != "username" else {"username": second}
    events = count(db, ChangeEvent)
    with pytest.raises(ValidationFailed) as error:
        service.create_account("system", **other)
    assert list(error.value.fields) == [field]
    assert count(db, Account) == 1
    assert count(db, ChangeEvent) == events


def test_update_to_a_taken_value_names_the_field(app, account):
    other = service.create_account("system", username="dave", email="dave@example.com")
    with pytest.raises(ValidationFailed) as error:
        service.update_account("system", other.id, email="ALICE@example.com")
    assert error.value.fields == {"email": "Another account already uses this value."}


def test_invalid_values_get_a_message_per_field(app):
    with pytest.raises(ValidationFailed) as error:
        service.create_account(
            "system", username="-bad", email="not-an-email", mobile="12345", status="frozen"
        )
    assert set(error.value.fields) == {"username", "email", "mobile", "status"}


def test_every_write_makes_one_event_and_one_audit_row(app, db, account):
    department = service.create_department("system", name="Sales")
    group = service.create_group("admin:1", name="Managers")
    role = service.create_role(
        "admin:1", code="auditor", name="Auditor", permissions=["audit:read"]
    )
    writes = [
        lambda: service.update_account("admin:1", account.id, title="Engineer"),
        lambda: service.update_account("admin:1", account.id, memberships=[department.id]),
        lambda: service.set_status("admin:1", account.id, "disabled"),
        lambda: service.set_password("admin:1", account.id, "Another-Secret-9"),
        lambda: service.set_group_membership("admin:1", group.id, account.id, True),
        lambda: service.set_role_assignment("admin:1", role.id, account.id, True),
        lambda: service.update_department("admin:1", department.id, name="Sales & Marketing"),
        lambda: service.update_group("admin:1", group.id, description="People managers"),
        lambda: service.update_role("admin:1", role.id, permissions=["audit:read", "x:y"]),
        lambda: service.link_identity(
            "admin:1",
            account.id,
            provider="dingtalk",
            tenant="ding123",
            subject="u1",
            linked_via="admin",
        ),
        lambda: service.delete_role("admin:1", role.id),
    ]
    for write in writes:
        events, audits = count(db, ChangeEvent), directory_audits(db)
        write()
        assert count(db, ChangeEvent) == events + 1
        assert directory_audits(db) == audits + 1
    latest = db.session.scalars(select(ChangeEvent).order_by(ChangeEvent.id.desc())).first()
    assert latest.origin == "admin:1"


def test_failure_after_the_event_insert_rolls_back_event_audit_and_change(
    app, db, account, monkeypatch
):
    from idaas import audit

    events, audits = count(db, ChangeEvent), count(db, AuditEvent)

    def fail(*args, **kwargs):
        assert count(db, ChangeEvent) == events + 1  # the event row was already inserted
        raise RuntimeError("forced failure")

    monkeypatch.setattr(audit, "record", fail)
    with pytest.raises(RuntimeError):
        service.update_account("system", account.id, title="Should not stick")
    with pytest.raises(RuntimeError):
        service.create_account("system", username="ghost")
    monkeypatch.undo()
    db.session.expire_all()
    assert service.get_account(account.id).title is None
    assert service.find_by_identifier("ghost") is None
    assert (count(db, ChangeEvent), count(db, AuditEvent)) == (events, audits)


def test_validation_failure_writes_nothing(app, db, account):
    events, audits = count(db, ChangeEvent), count(db, AuditEvent)
    with pytest.raises(ValidationFailed):
        service.update_account("system", account.id, mobile="not a phone")
    with pytest.raises(ValidationFailed):
        service.create_account("system", username="x", password="short")
    assert (count(db, ChangeEvent), count(db, AuditEvent)) == (events, audits)


def test_stale_version_is_refused(app, account):
    service.update_account("system", account.id, title="One")
    with pytest.raises(VersionConflict):
        service.update_account("system", account.id, expected_version=1, title="Two")
    assert (
        service.update_account("system", account.id, expected_version=2, title="Two").version == 3
    )


def test_memberships_have_exactly_one_primary(app, account):
    a = service.create_department("system", name="A").id
    b = service.create_department("system", name="B").id
    updated = service.update_account("system", account.id, memberships=[a, b])
    assert [
        (m.department_id, m.is_primary)
        for m in sorted(updated.memberships, key=lambda m: m.department_id)
    ] == [(a, True), (b, False)]
    updated = service.update_account(
        "system",
        account.id,
        memberships=[
            {"department_id": a},
            {"department_id": b, "is_primary": True, "title": "Lead"},
        ],
    )
    primary = [m for m in updated.memberships if m.is_primary]
    assert [(m.department_id, m.title) for m in primary] == [(b, "Lead")]
    with pytest.raises(ValidationFailed):
        service.update_account(
            "system",
            account.id,
            memberships=[
                {"department_id": a, "is_primary": True},
                {"department_id": b, "is_primary": True},
            ],
        )
    with pytest.raises(ValidationFailed):
        service.update_account("system", account.id, memberships=[a, a])
    with pytest.raises(ValidationFailed):
        service.update_account("system", account.id, memberships=[999])


def test_department_filter_includes_subdepartments(app, account):
    top = service.create_department("system", name="Top").id
    sub = service.create_department("system", name="Sub", parent_id=top).id
    service.update_account("system", account.id, memberships=[sub])
    assert [a.id for a in service.list_accounts(department_id=top)] == [account.id]
    assert service.list_accounts(department_id=top, include_subdepartments=False) == []
    assert [a.id for a in service.list_accounts(q="ALICE")] == [account.id]


def test_fields_owned_by_dingtalk_are_read_only_locally(app):
    synced = service.create_account(
        "dingtalk:main", username="zhangsan", display_name="张三", source="dingtalk:main"
    )
    with pytest.raises(SourceOwned) as error:
        service.update_account("admin:1", synced.id, display_name="Zhang San", mobile="13900139000")
    assert set(error.value.fields) == {"display_name", "mobile"}
    assert "dingtalk:main" in error.value.message
    service.update_account("admin:1", synced.id, locale="en")  # not owned by DingTalk
    service.update_account("dingtalk:main", synced.id, display_name="张三丰")  # its authority


def test_password_change_checks_policy_and_history(app, account):
    with pytest.raises(ValidationFailed) as error:
        service.set_password("user:1", account.id, PASSWORD)
    assert "last 5 passwords" in error.value.fields["password"]
    service.set_password("user:1", account.id, "Second-Secret-22")
    service.set_password("user:1", account.id, "Third-Secret-33")
    with pytest.raises(ValidationFailed):
        service.set_password("user:1", account.id, PASSWORD)
    account = service.get_account(account.id)
    assert verify_password(account.password_hash, "Third-Secret-33")[0]
    assert not account.must_change_password


def test_password_history_is_bounded(app, db, account):
    from idaas.directory.models import PasswordHistory

    for i in range(8):
        service.set_password("user:1", account.id, f"Rotating-Secret-{i}x")
    rows = count(db, PasswordHistory)
    assert rows == app.config["PASSWORD_HISTORY"]


def test_status_changes_send_the_deactivation_signal(app, account):
    received = []

    def listener(sender, **kwargs):
        received.append(kwargs)

    with signals.account_deactivated.connected_to(listener):
        service.set_status("admin:1", account.id, "disabled")
        service.set_status("admin:1", account.id, "disabled")  # no change, no signal
        service.set_status("admin:1", account.id, "active")
    assert received == [{"account_id": account.id, "status": "disabled", "origin": "admin:1"}]


def test_origin_must_be_tagged(app, account):
    from idaas.events.service import InvalidOrigin

    with pytest.raises(InvalidOrigin):
        service.update_account("somebody", account.id, title="x")


def test_delete_account_removes_memberships_and_links(app, db, account):
    department = service.create_department("system", name="A")
    service.update_account("system", account.id, memberships=[department.id])
    service.link_identity(
        "system", account.id, provider="dingtalk", tenant="c", subject="u", linked_via="manual"
    )
    service.delete_account("admin:1", account.id)
    assert service.find_by_identifier("alice") is None
    assert service.find_identity("dingtalk", "c", "u") is None
    service.delete_department("system", department.id)
