"""Roles and resource permissions: role/add, modify, delete, all/list, get/setroleperm (§6)."""

from __future__ import annotations

import json

from tests.industry.conftest import Gateway, make_gateway_client

ADD = "/industry/user/role/add"
MODIFY = "/industry/user/role/modify"
DELETE = "/industry/user/role/delete"
LIST = "/industry/user/role/all/list"
GET_PERM = "/industry/user/role/getroleperm"
SET_PERM = "/industry/user/role/setroleperm"


def test_add_list_modify_delete(gateway):
    app_id = gateway.app_key
    code = gateway.data(ADD, {"appId": app_id, "roleName": "车间主管"})
    assert isinstance(code, str) and code
    assert gateway.data(LIST, {"appId": app_id}) == [{"roleCode": code, "roleName": "车间主管"}]
    assert gateway.data(MODIFY, {"appId": app_id, "roleCode": code, "roleName": "维修工"}) == code
    assert gateway.data(LIST, {})[0]["roleName"] == "维修工"
    assert gateway.data(DELETE, {"appId": app_id, "roleCode": code}) == code
    assert gateway.data(LIST, {}) == []


def test_role_errors(gateway, admin):
    app_id = gateway.app_key
    for path, params in (
        (ADD, {"appId": app_id}),
        (ADD, {"roleName": "x"}),
        (ADD, {"appId": app_id, "roleName": "x" * 300}),
        (MODIFY, {"appId": app_id, "roleCode": "nope", "roleName": "x"}),
        (MODIFY, {"appId": app_id, "roleCode": "idaas.admin"}),
        (DELETE, {"appId": app_id, "roleCode": "nope"}),
        (LIST, {"appId": "unknown-app"}),
    ):
        assert gateway.call(path, params)["code"] == 460, (path, params)
    preset = gateway.call(DELETE, {"appId": app_id, "roleCode": "idaas.admin"})
    assert (preset["code"], preset["message"]) == (403, "request forbidden.")
    assert "idaas.admin" in [r["roleCode"] for r in gateway.data(LIST, {})]


def test_list_needs_the_grant(app, client):
    key, secret = make_gateway_client(scopes=("audit:read",), name="x")
    assert Gateway(client, key, secret).call(LIST, {})["code"] == 403


def test_set_and_get_role_permissions(gateway):
    app_id = gateway.app_key
    first = gateway.data(ADD, {"appId": app_id, "roleName": "ISV2"})
    second = gateway.data(ADD, {"appId": app_id, "roleName": "访客"})
    long_code = "5229c466" * 4 + "#demo_851FB5EF" + "A" * 24 + "_a103"
    appended = json.dumps(["demo_page", long_code])
    assert (
        gateway.data(SET_PERM, {"appId": app_id, "roleCode": first, "appendResListStr": appended})
        == first
    )
    raw = gateway.data(GET_PERM, {"appId": app_id, "roleCodeList": json.dumps([first])})
    assert isinstance(raw, str)  # the contract returns it JSON-encoded (§6.5, §9.2)
    document = json.loads(raw)
    assert document["total"] == 1
    entry = document["dataList"][0]
    assert (
        entry["roleCode"] == first and entry["roleName"] == "ISV2" and entry["tenantId"] == app_id
    )
    assert {p["resCode"] for p in entry["permList"]} == {"demo_page", long_code}
    assert set(entry["permList"][0]) == {"resCode", "resName", "actionCode", "actionName"}
    everyone = json.loads(gateway.data(GET_PERM, {"appId": app_id}))
    assert everyone["total"] == 2
    assert {e["roleCode"]: len(e["permList"]) for e in everyone["dataList"]} == {
        first: 2,
        second: 0,
    }
    gateway.data(
        SET_PERM,
        {"appId": app_id, "roleCode": first, "canceledResListStr": json.dumps(["demo_page"])},
    )
    after = json.loads(
        gateway.data(GET_PERM, {"appId": app_id, "roleCodeList": json.dumps([first])})
    )
    assert [p["resCode"] for p in after["dataList"][0]["permList"]] == [long_code]


def test_permissions_are_scoped_to_the_application(gateway, client):
    other_key, other_secret = make_gateway_client(name="second app")
    role = gateway.data(ADD, {"appId": gateway.app_key, "roleName": "r"})
    gateway.data(
        SET_PERM, {"appId": gateway.app_key, "roleCode": role, "appendResListStr": '["page"]'}
    )
    other = Gateway(client, other_key, other_secret)
    seen = json.loads(other.data(GET_PERM, {"appId": other_key}))
    assert seen["dataList"][0]["permList"] == []


def test_permission_errors(gateway, admin):
    app_id = gateway.app_key
    role = gateway.data(ADD, {"appId": app_id, "roleName": "r"})
    for path, params in (
        (GET_PERM, {}),
        (GET_PERM, {"appId": app_id, "roleCodeList": "not json"}),
        (GET_PERM, {"appId": app_id, "roleCodeList": json.dumps(["nope"])}),
        (SET_PERM, {"appId": app_id, "roleCode": role, "appendResListStr": "[1, 2]"}),
        (SET_PERM, {"appId": app_id, "roleCode": role, "appendResListStr": '["has space"]'}),
        (SET_PERM, {"appId": app_id, "roleCode": "nope", "appendResListStr": '["a"]'}),
        (SET_PERM, {"appId": "nope", "roleCode": role, "appendResListStr": '["a"]'}),
        (
            SET_PERM,
            {
                "appId": app_id,
                "roleCode": role,
                "appendResListStr": '["a"]',
                "canceledResListStr": '["a"]',
            },
        ),
    ):
        assert gateway.call(path, params)["code"] == 460, (path, params)
    admin_role = gateway.call(
        SET_PERM, {"appId": app_id, "roleCode": "idaas.admin", "appendResListStr": '["a"]'}
    )
    assert admin_role["code"] == 403
    assert json.loads(gateway.data(GET_PERM, {"appId": app_id}))["total"] == 2
