"""Account detail: access to each application (with the policy's reason) and sub-accounts."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select


def _setup() -> tuple[Any, Any, Any]:
    from idaas.applications import apps
    from idaas.directory import service

    person = service.create_account("system", username="zhang", display_name="张三")
    group = service.create_group("system", name="财务")
    open_app, _ = apps.create_application(
        "system",
        name="报销",
        redirect_uris=["https://expense.example/cb"],
        subaccount_mode="association",
    )
    closed, _ = apps.create_application(
        "system",
        name="总账",
        redirect_uris=["https://ledger.example/cb"],
        policy={"everyone": False, "groups": [group.id]},
    )
    return person, open_app, closed


def test_detail_shows_access_and_reasons(admin_client: Any) -> None:
    person, _, _ = _setup()
    page = admin_client.get(f"/admin/accounts/{person.id}").get_data(as_text=True)
    assert 'id="app-access"' in page
    assert "报销" in page and "总账" in page
    assert "Not in the application&#39;s access policy" in page or "不在应用的访问策略内" in page


def test_application_admin_sets_a_subaccount_audited(role_client: Any, db: Any) -> None:
    from idaas.applications.models import SubAccount
    from idaas.audit.models import AuditEvent

    person, app, _ = _setup()
    client, admin_person = role_client("application_admin")
    response = client.post(
        f"/admin/accounts/{person.id}/subaccounts/{app.client_id}", data={"username": "zs001"}
    )
    assert response.status_code == 302
    db.session.rollback()
    row = db.session.scalar(select(SubAccount).where(SubAccount.account_id == person.id))
    assert (row.username, row.status) == ("zs001", "approved")
    actors = set(
        db.session.scalars(
            select(AuditEvent.actor).where(AuditEvent.action.like("application.subaccount_%"))
        )
    )
    assert actors == {f"admin:{admin_person.id}"}
    assert "zs001" in client.get(f"/admin/accounts/{person.id}").get_data(as_text=True)


def test_bad_username_is_refused_and_nothing_changes(admin_client: Any, db: Any) -> None:
    from idaas.applications.models import SubAccount

    person, app, _ = _setup()
    response = admin_client.post(
        f"/admin/accounts/{person.id}/subaccounts/{app.client_id}",
        data={"username": "x" * 200},
        follow_redirects=True,
    )
    assert response.status_code == 200
    db.session.rollback()
    assert db.session.scalar(select(SubAccount)) is None


def test_directory_admin_may_not_set_subaccounts(role_client: Any, db: Any) -> None:
    from idaas.applications.models import SubAccount

    person, app, _ = _setup()
    client, _ = role_client("directory_admin")
    response = client.post(
        f"/admin/accounts/{person.id}/subaccounts/{app.client_id}", data={"username": "zs001"}
    )
    assert response.status_code == 403
    db.session.rollback()
    assert db.session.scalar(select(SubAccount)) is None
