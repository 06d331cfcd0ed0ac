"""Users, Groups and Departments over /scim/v2: CRUD, errors, ETags, change events."""

from __future__ import annotations

import json

from sqlalchemy import select

from idaas.directory import service
from idaas.directory.models import Account
from idaas.events.models import ChangeEvent
from tests.scim.conftest import DEPARTMENT, ENTERPRISE, GROUP, IDAAS, PATCH, SCIM, USER, new_user


def _error(response, status, scim_type=None):
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == SCIM
    body = response.get_json()
    assert body["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
    assert body["status"] == str(status)
    assert body.get("scimType") == scim_type
    return body


def test_user_create_read_replace_delete(scim, db):
    department = service.create_department("system", name="Sales")
    created = scim(
        "POST",
        "/Users",
        new_user(
            "bjensen",
            active=True,
            externalId="hr-001",
            displayName="Babs Jensen",
            name={"givenName": "Barbara", "familyName": "Jensen"},
            emails=[{"value": "bjensen@example.com", "type": "work"}],
            phoneNumbers=[{"value": "13800138000", "type": "mobile"}],
            title="Tour Guide",
            preferredLanguage="en",
            schemas=[USER, ENTERPRISE, IDAAS],
            **{
                ENTERPRISE: {"employeeNumber": "E-701"},
                IDAAS: {"departments": [{"value": str(department.id), "title": "Lead"}]},
            },
        ),
    )
    assert created.status_code == 201, created.get_data(as_text=True)
    user = created.get_json()
    assert created.headers["Location"] == user["meta"]["location"]
    assert created.headers["ETag"] == user["meta"]["version"] == 'W/"1"'
    assert user["userName"] == "bjensen" and user["externalId"] == "hr-001"
    assert user["phoneNumbers"] == [{"value": "+8613800138000", "type": "mobile"}]
    assert user[ENTERPRISE]["employeeNumber"] == "E-701"
    assert user[IDAAS]["departments"] == [
        {"value": str(department.id), "primary": True, "title": "Lead"}
    ]
    account = db.session.scalar(select(Account).where(Account.uuid == user["id"]))
    assert (account.given_name, account.family_name, account.email) == (
        "Barbara",
        "Jensen",
        "bjensen@example.com",
    )

    asked = scim("GET", f"/Users/{user['id']}?attributes={ENTERPRISE}:department,userName")
    body = asked.get_json()
    assert body["userName"] == "bjensen" and body[ENTERPRISE]["department"] == "Sales"
    assert "emails" not in body

    replaced = scim(
        "PUT",
        f"/Users/{user['id']}",
        new_user("bjensen", active=False, emails=[{"value": "babs@example.com"}]),
    )
    assert replaced.status_code == 200, replaced.get_data(as_text=True)
    after = replaced.get_json()
    assert after["active"] is False and after["emails"] == [
        {"value": "babs@example.com", "type": "work"}
    ]
    assert "title" not in after and "externalId" not in after
    assert after[IDAAS]["departments"][0]["value"] == str(department.id)  # extension untouched

    assert scim("DELETE", f"/Users/{user['id']}").status_code == 204
    _error(scim("GET", f"/Users/{user['id']}"), 404)


def test_writes_are_change_events_with_the_clients_origin(scim, db):
    """A SCIM write is a change event tagged `scim:<client_id>` (DESIGN §2), which the
    delivery engine uses to never echo the change back to this client."""
    made = scim("POST", "/Users", new_user("echo", active=True)).get_json()
    scim(
        "PATCH",
        f"/Users/{made['id']}",
        {"schemas": [PATCH], "Operations": [{"op": "replace", "path": "title", "value": "X"}]},
    )
    events = list(db.session.scalars(select(ChangeEvent).order_by(ChangeEvent.id)))
    assert [(e.action, e.origin) for e in events] == [
        ("created", f"scim:{scim.client_id}"),
        ("updated", f"scim:{scim.client_id}"),
    ]


def test_uniqueness_is_409(scim):
    assert scim("POST", "/Users", new_user("dup", active=True)).status_code == 201
    body = _error(scim("POST", "/Users", new_user("DUP", active=True)), 409, "uniqueness")
    assert "userName" in body["detail"]
    scim("POST", "/Users", new_user("a1", active=True, externalId="x-1"))
    _error(scim("POST", "/Users", new_user("a2", active=True, externalId="x-1")), 409, "uniqueness")


def test_dingtalk_owned_fields_are_400_mutability(scim):
    account = service.create_account(
        "dingtalk:main", username="dt-user", display_name="钉钉用户", source="dingtalk:main"
    )
    change = {
        "schemas": [PATCH],
        "Operations": [{"op": "replace", "path": "displayName", "value": "Other"}],
    }
    path = f"/Users/{account.uuid}"
    body = _error(scim("PATCH", path, change, headers={"Accept-Language": "en"}), 400, "mutability")
    assert "DingTalk owns" in body["detail"] and "displayName" in body["detail"]
    body = _error(
        scim("PATCH", path, change, headers={"Accept-Language": "zh-CN"}), 400, "mutability"
    )
    assert "由钉钉管理" in body["detail"]
    assert service.get_account(account.id).display_name == "钉钉用户"


def test_malformed_and_wrong_media_type(scim, client):
    response = scim.http.post(
        "/scim/v2/Users",
        data="{not json",
        content_type=SCIM,
        headers={"Authorization": f"Bearer {scim.token}"},
    )
    _error(response, 400, "invalidSyntax")
    response = scim.http.post(
        "/scim/v2/Users",
        data=json.dumps(new_user()),
        content_type="text/plain",
        headers={"Authorization": f"Bearer {scim.token}"},
    )
    _error(response, 415)
    response = scim.http.post(
        "/scim/v2/Users",
        data="[1, 2]",
        content_type="application/json",
        headers={"Authorization": f"Bearer {scim.token}"},
    )
    _error(response, 400, "invalidSyntax")


def test_unknown_paths_methods_and_me(scim):
    _error(scim("GET", "/Nothing"), 404)
    _error(scim("GET", "/Users/not-a-user"), 404)
    _error(scim("GET", "/Groups/abc"), 404)
    response = scim("DELETE", "/Users")
    _error(response, 405)
    assert response.headers["Allow"] == "GET, POST"
    _error(scim("POST", "/ServiceProviderConfig", {}), 405)
    _error(scim("GET", "/Me"), 501)
    _error(scim("POST", "/.search", {"schemas": []}), 501)


def test_etags(scim):
    made = scim("POST", "/Users", new_user("etag", active=True))
    user = made.get_json()
    url = f"/Users/{user['id']}"
    etag = made.headers["ETag"]
    not_modified = scim("GET", url, headers={"If-None-Match": etag})
    assert not_modified.status_code == 304
    assert scim("GET", url, headers={"If-None-Match": 'W/"99"'}).status_code == 200
    change = {"schemas": [PATCH], "Operations": [{"op": "replace", "path": "title", "value": "A"}]}
    _error(scim("PATCH", url, change, headers={"If-Match": 'W/"99"'}), 412)
    assert "title" not in scim("GET", url).get_json()
    ok = scim("PATCH", url, change, headers={"If-Match": etag})
    assert ok.status_code == 200 and ok.headers["ETag"] == 'W/"2"'
    _error(scim("DELETE", url, headers={"If-Match": etag}), 412)
    assert scim("DELETE", url, headers={"If-Match": "*"}).status_code == 204


def test_groups_crud_and_members(scim):
    alice = scim("POST", "/Users", new_user("alice", active=True)).get_json()
    bob = scim("POST", "/Users", new_user("bob", active=True)).get_json()
    made = scim(
        "POST",
        "/Groups",
        {"schemas": [GROUP], "displayName": "Ops", "members": [{"value": alice["id"]}]},
    )
    assert made.status_code == 201, made.get_data(as_text=True)
    group = made.get_json()
    assert [m["value"] for m in group["members"]] == [alice["id"]]
    user = scim("GET", f"/Users/{alice['id']}").get_json()
    assert user["groups"][0]["value"] == group["id"]
    replaced = scim(
        "PUT",
        f"/Groups/{group['id']}",
        {"schemas": [GROUP], "displayName": "Ops 2", "members": [{"value": bob["id"]}]},
    ).get_json()
    assert replaced["displayName"] == "Ops 2"
    assert [m["value"] for m in replaced["members"]] == [bob["id"]]
    _error(
        scim(
            "POST",
            "/Groups",
            {
                "schemas": [GROUP],
                "displayName": "Nested",
                "members": [{"value": group["id"], "type": "Group"}],
            },
        ),
        400,
        "invalidValue",
    )
    _error(scim("POST", "/Groups", {"schemas": [GROUP], "displayName": "ops 2"}), 409, "uniqueness")
    assert scim("DELETE", f"/Groups/{group['id']}").status_code == 204


def test_departments_with_parent_reference(scim):
    root = scim("POST", "/Departments", {"schemas": [DEPARTMENT], "displayName": "HQ"})
    assert root.status_code == 201, root.get_data(as_text=True)
    root_id = root.get_json()["id"]
    child = scim(
        "POST",
        "/Departments",
        {"schemas": [DEPARTMENT], "displayName": "R&D", "parent": {"value": root_id}},
    ).get_json()
    assert child["parent"] == {"value": root_id}
    assert child["path"] == f"/{root_id}/{child['id']}/"
    found = scim("GET", f'/Departments?filter=parent eq "{root_id}"').get_json()
    assert [d["id"] for d in found["Resources"]] == [child["id"]]
    moved = scim(
        "PATCH",
        f"/Departments/{child['id']}",
        {"schemas": [PATCH], "Operations": [{"op": "remove", "path": "parent"}]},
    ).get_json()
    assert "parent" not in moved and moved["path"] == f"/{child['id']}/"
    _error(scim("DELETE", f"/Departments/{root_id}x"), 404)


def test_discovery_tells_what_the_server_does(scim, client):
    config = client.get("/scim/v2/ServiceProviderConfig").get_json()
    assert config["bulk"] == {"supported": True, "maxOperations": 1000, "maxPayloadSize": 1048576}
    assert config["filter"] == {"supported": True, "maxResults": 200}
    types = client.get("/scim/v2/ResourceTypes").get_json()
    assert {t["name"] for t in types["Resources"]} == {"User", "Group", "Department"}
    schemas = client.get("/scim/v2/Schemas").get_json()
    user = next(s for s in schemas["Resources"] if s["id"] == USER)
    names = {a["name"] for a in user["attributes"]}
    assert "nickName" not in names and "addresses" not in names  # not stored: not announced
    group = client.get(f"/scim/v2/Schemas/{GROUP}").get_json()
    member = next(a for a in group["attributes"] if a["name"] == "members")
    assert {s["name"] for s in member["subAttributes"]} == {"value", "$ref", "type", "display"}


def test_cost_center_is_announced_as_not_stored_and_never_half_kept(scim, client, app):
    """idaas has no costCenter: /Schemas says so, a sent one is ignored by default (Entra's
    and Okta's mappings may send one) and refused with SCIM_UNKNOWN_ATTRIBUTES=forbid."""
    enterprise = client.get(f"/scim/v2/Schemas/{ENTERPRISE}").get_json()
    assert "costCenter" not in {a["name"] for a in enterprise["attributes"]}
    assert "not costCenter" in enterprise["description"]
    body = new_user("managed", active=True, schemas=[USER, ENTERPRISE])
    body[ENTERPRISE] = {"employeeNumber": "M-1", "costCenter": "4130"}
    created = scim("POST", "/Users", body)
    assert created.status_code == 201, created.get_data(as_text=True)
    assert "costCenter" not in created.get_json()[ENTERPRISE]
    app.config["SCIM_UNKNOWN_ATTRIBUTES"] = "forbid"
    body["userName"] = "refused"
    _error(scim("POST", "/Users", body), 400, "invalidSyntax")
    assert (
        scim("GET", "/Users", query_string={"filter": 'userName eq "refused"'}).get_json()[
            "totalResults"
        ]
        == 0
    )
