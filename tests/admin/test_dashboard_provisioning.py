"""The dashboard's provisioning health: SCIM push per application and DingTalk push per
connection, with state, last success, pending and dead deliveries, last error and links."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from tests.admin.conftest import sign_in  # noqa: F401


def _delivery(db: Any, kind: str, key: str, status: str, **more: Any) -> None:
    from idaas.events.models import Delivery

    db.session.add(
        Delivery(
            uid=str(uuid.uuid4()),
            target_type=kind,
            target_key=key,
            object_type="account",
            object_id="1",
            action="updated",
            origin="test",
            status=status,
            **more,
        )
    )


def test_targets_with_their_state_and_links(admin_client, db):
    from idaas.applications import apps
    from idaas.dingtalk.push.models import PushSettings
    from idaas.scim.push.models import ProvisioningTarget

    crm = apps.create_application("system", name="CRM", redirect_uris=["https://crm.example/cb"])[0]
    hr = apps.create_application("system", name="HR", redirect_uris=["https://hr.example/cb"])[0]
    db.session.add(ProvisioningTarget(application_id=crm.id, base_url="https://crm.example/scim"))
    db.session.add(
        ProvisioningTarget(application_id=hr.id, base_url="https://hr.example/scim", enabled=False)
    )
    _connection("corp")
    db.session.add(PushSettings(connection="corp", enabled=True))
    delivered = datetime(2026, 11, 30, 8, 15)
    _delivery(db, "scim.push", crm.client_id, "delivered", delivered_at=delivered)
    _delivery(db, "scim.push", crm.client_id, "pending")
    _delivery(
        db,
        "scim.push",
        crm.client_id,
        "dead",
        last_error="HTTP 500 from crm",
        last_attempt_at=datetime(2026, 12, 1),
    )
    _delivery(
        db,
        "dingtalk.push",
        "corp",
        "running",
        last_error="errcode 60011 no permission",
        last_attempt_at=datetime(2026, 12, 1),
    )
    _delivery(db, "dingtalk.push", "corp", "pending")
    db.session.commit()

    html = admin_client.get("/admin/").get_data(as_text=True)
    table = html[html.index('id="provisioning-health"') :]
    crm_row = table[table.index('data-target="scim:CRM"') :].split("</tr>")[0]
    assert f'href="/admin/applications/{crm.client_id}/provisioning"' in crm_row
    assert "badge-ok" in crm_row and "HTTP 500 from crm" in crm_row
    assert "<td>1</td>" in crm_row and 'badge-failure">1<' in crm_row
    assert "2026" in crm_row  # last success shown
    hr_row = table[table.index('data-target="scim:HR"') :].split("</tr>")[0]
    assert "badge-ok" not in hr_row and "<td>0</td>" in hr_row
    corp_row = table[table.index('data-target="dingtalk:corp"') :].split("</tr>")[0]
    assert 'href="/admin/dingtalk/corp/push"' in corp_row
    assert "<td>2</td>" in corp_row and "60011" in corp_row


def test_push_settings_of_a_removed_connection_are_not_listed(admin_client, db):
    from idaas.dingtalk.push.models import PushSettings

    db.session.add(PushSettings(connection="gone", enabled=True))
    db.session.commit()
    html = admin_client.get("/admin/").get_data(as_text=True)
    assert 'data-target="dingtalk:gone"' not in html


def test_each_admin_sees_the_targets_of_its_pages(role_client, db):
    from idaas.applications import apps
    from idaas.dingtalk.push.models import PushSettings
    from idaas.scim.push.models import ProvisioningTarget

    crm = apps.create_application("system", name="CRM", redirect_uris=["https://crm.example/cb"])[0]
    db.session.add(ProvisioningTarget(application_id=crm.id, base_url="https://crm.example/scim"))
    _connection("corp")
    db.session.add(PushSettings(connection="corp", enabled=False))
    db.session.commit()
    directory, _ = role_client("directory_admin")
    html = directory.get("/admin/").get_data(as_text=True)
    assert 'data-target="dingtalk:corp"' in html and 'data-target="scim:CRM"' not in html
    applications, _ = role_client("application_admin")
    html = applications.get("/admin/").get_data(as_text=True)
    assert 'data-target="scim:CRM"' in html


def _connection(name: str) -> None:
    """A DingTalk connection (its push page exists)."""
    from idaas.dingtalk import connections

    connections.save(
        "system", name, corp_id="dingdash", app_key="keydash01", app_secret="secretdash0123456"
    )
