"""The enterprise `manager` over /scim/v2: read, written by POST/PUT/PATCH in Entra's and Okta's
shapes, filtered in SQL, refused when it would make a loop, cleared when the manager goes."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from sqlalchemy import select

from idaas.directory import service
from idaas.directory.errors import ValidationFailed
from idaas.directory.models import Account
from idaas.events.models import ChangeEvent
from tests.scim.conftest import ENTERPRISE, PATCH, USER, new_user

MANAGER = f"{ENTERPRISE}:manager"


def _user(scim: Any, name: str, manager: Any = None) -> dict[str, Any]:
    body = new_user(name, active=True, displayName=name.title(), schemas=[USER, ENTERPRISE])
    if manager is not None:
        body[ENTERPRISE] = {"manager": manager}
    response = scim("POST", "/Users", body)
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()


def _patch(scim: Any, user: dict[str, Any], *operations: dict[str, Any]) -> Any:
    body = {"schemas": [PATCH], "Operations": operations}
    return scim("PATCH", f"/Users/{user['id']}", body, headers={"Accept-Language": "en"})


def _manager_of(scim: Any, user: dict[str, Any]) -> Any:
    body = scim("GET", f"/Users/{user['id']}").get_json()
    return body.get(ENTERPRISE, {}).get("manager")


def test_created_with_a_manager_reads_value_ref_and_display_name(scim):
    """`value` always; `$ref` and `displayName` (read-only, computed) when asked for."""
    boss = _user(scim, "boss")
    report = _user(scim, "report", {"value": boss["id"]})
    assert report[ENTERPRISE]["manager"] == {"value": boss["id"]}
    assert _manager_of(scim, report) == {"value": boss["id"]}
    listed = scim("GET", "/Users", query_string={"filter": 'userName eq "report"'}).get_json()
    assert listed["Resources"][0][ENTERPRISE]["manager"] == {"value": boss["id"]}
    # $ref and displayName are computed: returned when asked for (as for departments).
    asked = f"{MANAGER}.value,{MANAGER}.$ref,{MANAGER}.displayName"
    for query in (
        lambda: scim("GET", f"/Users/{report['id']}", query_string={"attributes": asked}),
        lambda: scim("GET", "/Users", query_string={"attributes": asked, "count": 5}),
    ):
        body = query().get_json()
        found = body["Resources"] if "Resources" in body else [body]
        managers = [r[ENTERPRISE]["manager"] for r in found if ENTERPRISE in r]
        assert managers == [
            {"value": boss["id"], "$ref": boss["meta"]["location"], "displayName": "Boss"}
        ]


@pytest.mark.parametrize(
    "operation",
    [
        pytest.param({"op": "Replace", "path": MANAGER, "value": "{id}"}, id="entra-bare-string"),
        pytest.param({"op": "replace", "path": MANAGER, "value": {"value": "{id}"}}, id="okta"),
        pytest.param({"op": "replace", "path": f"{MANAGER}.value", "value": "{id}"}, id="value"),
        pytest.param({"op": "add", "path": MANAGER, "value": {"value": "{id}"}}, id="add"),
        pytest.param({"op": "Replace", "value": {MANAGER: "{id}"}}, id="path-less-string"),
        pytest.param(
            {"op": "replace", "value": {ENTERPRISE: {"manager": {"value": "{id}"}}}},
            id="path-less-object",
        ),
    ],
)
def test_patch_sets_the_manager_in_every_shape_clients_send(scim, db, operation):
    boss = _user(scim, "boss")
    report = _user(scim, "report")

    def fill(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: fill(v) for k, v in value.items()}
        return boss["id"] if value == "{id}" else value

    response = _patch(scim, report, fill(operation))
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json()[ENTERPRISE]["manager"]["value"] == boss["id"]
    account = db.session.scalar(select(Account).where(Account.uuid == report["id"]))
    assert account.manager_id == db.session.scalar(
        select(Account.id).where(Account.uuid == boss["id"])
    )


def test_remove_and_empty_value_clear_the_manager_with_a_change_event(scim, db):
    boss = _user(scim, "boss")
    report = _user(scim, "report", {"value": boss["id"]})
    assert _patch(scim, report, {"op": "remove", "path": MANAGER}).status_code == 200
    assert _manager_of(scim, report) is None
    account = db.session.scalar(select(Account).where(Account.uuid == report["id"]))
    event = db.session.scalars(
        select(ChangeEvent)
        .where(ChangeEvent.object_id == str(account.id))
        .order_by(ChangeEvent.id.desc())
    ).first()
    assert event.action == "updated" and event.changes == {"manager_id": None}
    assert event.origin == f"scim:{scim.client_id}"
    _patch(scim, report, {"op": "replace", "path": MANAGER, "value": boss["id"]})
    assert _manager_of(scim, report)["value"] == boss["id"]
    # Entra clears a manager by replacing it with an empty value.
    assert _patch(scim, report, {"op": "Replace", "path": MANAGER, "value": ""}).status_code == 200
    assert _manager_of(scim, report) is None


def test_put_sets_and_clears_the_manager_only_when_the_extension_is_sent(scim):
    boss = _user(scim, "boss")
    report = _user(scim, "report")
    body = new_user("report", active=True, schemas=[USER, ENTERPRISE])
    body[ENTERPRISE] = {"manager": {"value": boss["id"]}}
    assert scim("PUT", f"/Users/{report['id']}", body).status_code == 200
    assert _manager_of(scim, report)["value"] == boss["id"]
    # A client that does not send the enterprise extension leaves the manager alone.
    assert scim("PUT", f"/Users/{report['id']}", new_user("report", active=True)).status_code == 200
    assert _manager_of(scim, report)["value"] == boss["id"]
    body[ENTERPRISE] = {}
    assert scim("PUT", f"/Users/{report['id']}", body).status_code == 200
    assert _manager_of(scim, report) is None


def test_filter_by_manager_value_is_sql(scim):
    boss = _user(scim, "boss")
    other = _user(scim, "other")
    for name in ("ann", "bob"):
        _user(scim, name, {"value": boss["id"]})
    _user(scim, "cid", {"value": other["id"]})

    def names(query: str) -> list[str]:
        response = scim("GET", "/Users", query_string={"filter": query, "sortBy": "userName"})
        assert response.status_code == 200, response.get_data(as_text=True)
        return [r["userName"] for r in response.get_json()["Resources"]]

    assert names(f'{MANAGER}.value eq "{boss["id"]}"') == ["ann", "bob"]
    assert names(f'{MANAGER} eq "{other["id"]}"') == ["cid"]
    assert names(f'{MANAGER}.displayName eq "other"') == ["cid"]
    assert names(f"{MANAGER} pr") == ["ann", "bob", "cid"]
    assert names(f'{MANAGER}.value eq "nobody"') == []
    refused = scim("GET", "/Users", query_string={"filter": f'{MANAGER}.$ref eq "x"'})
    assert refused.status_code == 400 and refused.get_json()["scimType"] == "invalidFilter"


def test_unknown_self_and_looping_managers_are_refused_with_nothing_written(scim, db):
    top = _user(scim, "top")
    middle = _user(scim, "middle", {"value": top["id"]})
    bottom = _user(scim, "bottom", {"value": middle["id"]})

    unknown = scim(
        "POST",
        "/Users",
        {**new_user("x", active=True), ENTERPRISE: {"manager": {"value": "no"}}},
        headers={"Accept-Language": "en"},
    )
    assert (
        unknown.status_code == 400 and "manager: no user with id no" in unknown.get_json()["detail"]
    )
    assert db.session.scalar(select(Account).where(Account.username == "x")) is None
    own = _patch(scim, top, {"op": "replace", "path": MANAGER, "value": top["id"]})
    assert own.status_code == 400 and own.get_json()["scimType"] == "invalidValue"
    assert "its own manager" in own.get_json()["detail"]
    loop = _patch(
        scim,
        top,
        {"op": "replace", "path": "title", "value": "CEO"},
        {"op": "replace", "path": MANAGER, "value": bottom["id"]},
    )
    assert loop.status_code == 400 and loop.get_json()["scimType"] == "invalidValue"
    assert "manager: bottom already reports to this account" in loop.get_json()["detail"]
    after = scim("GET", f"/Users/{top['id']}").get_json()
    assert "title" not in after and ENTERPRISE not in after  # nothing half-written


def test_deleting_a_manager_clears_it_for_the_reports_with_events(scim, db):
    boss = _user(scim, "boss")
    report = _user(scim, "report", {"value": boss["id"]})
    version = scim("GET", f"/Users/{report['id']}").get_json()["meta"]["version"]
    assert scim("DELETE", f"/Users/{boss['id']}").status_code == 204
    after = scim("GET", f"/Users/{report['id']}").get_json()
    assert ENTERPRISE not in after and after["meta"]["version"] != version
    account = db.session.scalar(select(Account).where(Account.uuid == report["id"]))
    events = db.session.scalars(
        select(ChangeEvent.changes).where(ChangeEvent.object_id == str(account.id))
    ).all()
    assert {"manager_id": None} in events


def test_schemas_document_announces_manager(client):
    enterprise = client.get(f"/scim/v2/Schemas/{ENTERPRISE}").get_json()
    manager = next(a for a in enterprise["attributes"] if a["name"] == "manager")
    subs = {s["name"]: s for s in manager["subAttributes"]}
    assert set(subs) == {"value", "$ref", "displayName"}
    assert subs["value"]["mutability"] == "readWrite" and subs["value"]["caseExact"] is True
    assert subs["displayName"]["mutability"] == "readOnly"
    assert subs["displayName"]["returned"] == subs["$ref"]["returned"] == "request"


def test_directory_service_refuses_loops_directly(app, db):
    english = app.test_request_context(headers={"Accept-Language": "en"})
    english.push()
    a = service.create_account("system", username="a")
    b = service.create_account("system", username="b", manager_id=a.id)
    c = service.create_account("system", username="c", manager_id=b.id)
    with pytest.raises(ValidationFailed) as refused:
        service.update_account("system", a.id, manager_id=c.id)
    assert "cannot form a loop" in refused.value.fields["manager_id"]
    with pytest.raises(ValidationFailed):
        service.create_account("system", username="d", manager_id=999999)
    assert service.update_account("system", c.id, manager_id=a.id).manager_id == a.id
    assert service.update_account("system", c.id, manager_id=None).manager_id is None
    english.pop()


def test_concurrent_opposite_manager_changes_cannot_make_a_loop(app, db):
    """A under B and B under A at the same moment: one wins, the other is refused."""
    first = service.create_account("system", username="first").id
    second = service.create_account("system", username="second").id
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def manage(account_id: int, manager_id: int) -> None:
        with app.app_context():
            barrier.wait()
            try:
                service.update_account("system", account_id, manager_id=manager_id)
                outcomes.append("set")
            except ValidationFailed:
                outcomes.append("refused")
            finally:
                db.session.remove()

    threads = [
        threading.Thread(target=manage, args=(first, second)),
        threading.Thread(target=manage, args=(second, first)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["refused", "set"]
    db.session.expire_all()
    managers = {a.id: a.manager_id for a in db.session.scalars(select(Account))}
    assert (managers[first], managers[second]) in ((second, None), (None, first))
