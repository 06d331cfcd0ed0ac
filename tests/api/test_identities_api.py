"""Admins list and remove DingTalk links over the API (audited, origin api:<client>)."""

from sqlalchemy import select

from idaas.directory import service
from idaas.events.models import ChangeEvent
from idaas.extensions import db


def link(account, subject="u-1"):
    return service.link_identity(
        "system",
        account.id,
        provider="dingtalk",
        tenant="dingcorp",
        subject=subject,
        union_id="union-1",
        linked_via="manual",
    )


def test_list_and_unlink(api, account):
    identity = link(account)
    listed = api("GET", f"/accounts/{account.id}/identities")
    assert listed.status_code == 200
    assert [(i["provider"], i["tenant"], i["subject"]) for i in listed.json["items"]] == [
        ("dingtalk", "dingcorp", "u-1")
    ]
    removed = api("DELETE", f"/accounts/{account.id}/identities/{identity.id}")
    assert removed.status_code == 204
    assert service.find_identity("dingtalk", "dingcorp", "u-1") is None
    event = db.session.scalars(select(ChangeEvent).order_by(ChangeEvent.id.desc())).first()
    assert (event.action, event.origin) == ("identity_unlinked", f"api:{api.client_id}")
    assert event.changes["reason"] == "admin"


def test_an_identity_of_another_account_is_not_found(api, account):
    other = service.create_account("system", username="bob")
    identity = link(other, subject="u-2")
    response = api("DELETE", f"/accounts/{account.id}/identities/{identity.id}")
    assert response.status_code == 404
    assert service.find_identity("dingtalk", "dingcorp", "u-2") is not None


def test_read_scope_cannot_unlink(api_as, account):
    identity = link(account)
    reader = api_as("directory:read")
    assert reader("GET", f"/accounts/{account.id}/identities").status_code == 200
    response = reader("DELETE", f"/accounts/{account.id}/identities/{identity.id}")
    assert response.status_code == 403
    assert service.find_identity("dingtalk", "dingcorp", "u-1") is not None
