"""Employees: account/add, query, get, modify, delete (contract §4)."""

from __future__ import annotations

import re

import pytest

from tests.industry.conftest import Gateway, make_gateway_client

ADD = "/industry/user/account/add"
QUERY = "/industry/user/account/query"
GET = "/industry/user/account/get"
MODIFY = "/industry/user/account/modify"
DELETE = "/industry/user/account/delete"
AUID = re.compile(r"^[0-9a-f]{40}$")
ORG_ID = re.compile(r"^[0-9A-F]{32}$")


@pytest.fixture
def setup(gateway):
    """An app id, two organisations and a role, made through the API."""
    app_id = gateway.app_key
    root = gateway.data(
        "/industry/user/organization/add", {"appId": app_id, "organizationName": "公司"}
    )
    plant = gateway.data(
        "/industry/user/organization/add",
        {"appId": app_id, "organizationName": "工厂", "parentId": root},
    )
    role = gateway.data("/industry/user/role/add", {"appId": app_id, "roleName": "车间主管"})
    return {"appId": app_id, "root": root, "plant": plant, "role": role}


def _add(gateway, setup, **extra):
    params = {"appId": setup["appId"], "phone": "13900001111", "nickName": "张三", **extra}
    return gateway.data(ADD, params)


def _code(document):
    return document["code"], document["message"]


def test_add_returns_the_employee(gateway, setup):
    data = _add(
        gateway,
        setup,
        email="zs@example.com",
        workNumber="E001",
        loginName="zhangsan",
        organizationIds=[setup["plant"]],
        roleCodes=[setup["role"]],
    )
    assert set(data) == {"auid", "phone", "email", "nickName", "loginName", "orgList", "roleList"}
    assert AUID.match(data["auid"])
    assert data["phone"] == "13900001111" and data["nickName"] == "张三"
    assert data["loginName"] == "zhangsan" and data["email"] == "zs@example.com"
    assert data["orgList"] == [{"organizationId": setup["plant"], "organizationName": "工厂"}]
    assert data["roleList"] == [{"roleCode": setup["role"], "roleName": "车间主管"}]


def test_add_errors_change_nothing(gateway, setup):
    from idaas.directory.models import Account
    from idaas.extensions import db

    for params in (
        {"appId": setup["appId"], "nickName": "x"},  # phone missing
        {"appId": setup["appId"], "phone": "13900001111"},  # nickName missing
        {"phone": "13900001111", "nickName": "x"},  # appId missing
        {"appId": "no-such-app", "phone": "13900001111", "nickName": "x"},
        {"appId": setup["appId"], "phone": "not a phone", "nickName": "x"},
        {"appId": setup["appId"], "phone": "13900001111", "nickName": "x", "roleCodes": ["nope"]},
        {
            "appId": setup["appId"],
            "phone": "13900001111",
            "nickName": "x",
            "organizationIds": ["F" * 32],
        },
        {"appId": setup["appId"], "phone": "13900001111", "nickName": "x", "roleCodes": "SI"},
    ):
        document = gateway.call(ADD, params)
        assert _code(document) == (460, "request parameter error."), params
        assert document["data"] is None and document["localizedMsg"]
    assert db.session.scalar(db.select(db.func.count()).select_from(Account)) == 0
    _add(gateway, setup)
    duplicate = gateway.call(
        ADD, {"appId": setup["appId"], "phone": "139 0000 1111", "nickName": "y"}
    )
    assert duplicate["code"] == 460 and "phone" in duplicate["localizedMsg"]


def test_query_pages_and_filters(gateway, setup):
    for i in range(12):
        _add(
            gateway,
            setup,
            phone=f"1390000{i:04d}",
            nickName=f"工人{i}",
            organizationIds=[setup["plant"]] if i % 2 else [],
            roleCodes=[setup["role"]] if i < 3 else [],
        )
    page = gateway.data(QUERY, {})
    assert (page["total"], page["pageNo"], page["pageSize"]) == (12, 1, 10)
    assert len(page["data"]) == 10
    item = page["data"][0]
    assert set(item) == {
        "auid",
        "nickName",
        "phone",
        "email",
        "loginName",
        "workNumber",
        "admin",
        "main",
        "roleList",
        "orgList",
    }
    second = gateway.data(QUERY, {"pageNo": 2, "pageSize": 10})
    assert len(second["data"]) == 2
    assert {a["auid"] for a in page["data"]}.isdisjoint(a["auid"] for a in second["data"])
    assert gateway.data(QUERY, {"keyWord": "工人1"})["total"] == 3  # 1, 10, 11
    assert gateway.data(QUERY, {"organizationId": setup["plant"]})["total"] == 6
    assert gateway.data(QUERY, {"organizationId": setup["root"]})["total"] == 6  # subtree
    assert gateway.data(QUERY, {"roleCode": setup["role"]})["total"] == 3
    for bad in ({"pageSize": 0}, {"pageSize": 10_000}, {"pageNo": "x"}, {"roleCode": "nope"}):
        assert gateway.call(QUERY, bad)["code"] == 460


def test_query_forbidden_without_grant(client, setup):
    key, secret = make_gateway_client(scopes=("directory:read",), name="ungranted")
    document = Gateway(client, key, secret).call(QUERY, {})
    assert _code(document) == (403, "request forbidden.")
    assert document["localizedMsg"].startswith("请求没有权限")


def test_get_one_employee_and_the_main_account(gateway, setup, admin):
    created = _add(gateway, setup, workNumber="E9", loginName="worker9")
    data = gateway.data(GET, {"appId": setup["appId"], "employeeId": created["auid"]})
    assert set(data) == {
        "auid",
        "phone",
        "email",
        "nickName",
        "admin",
        "main",
        "workNumber",
        "loginName",
    }
    assert data["auid"] == created["auid"] and data["workNumber"] == "E9"
    assert data["admin"] is False and data["main"] is False
    main = gateway.data(GET, {})
    assert main["loginName"] == "root" and main["main"] is True and main["admin"] is True


def test_get_errors(gateway, setup):
    missing = gateway.call(GET, {"employeeId": "0" * 40})
    assert _code(missing) == (107313, "the user is not exist")
    assert missing["localizedMsg"] == "人员不存在或已删除"
    no_main = gateway.call(GET, {})
    assert _code(no_main) == (102126, "tenant not fund")
    unknown_app = gateway.call(GET, {"appId": "unknown-app"})
    assert unknown_app["code"] == 102126
    assert gateway.call(GET, {"employeeId": 42})["code"] == 460


def test_get_by_dingtalk_identity(gateway, setup):
    from idaas.directory import service

    created = _add(gateway, setup)
    account = service.find_by_identifier("13900001111")
    service.link_identity(
        "system",
        account.id,
        provider="dingtalk",
        tenant="ding-corp",
        subject="u-1",
        linked_via="import",
    )
    params = {"source": "DINGDING", "corpId": "ding-corp", "userId": "u-1"}
    assert gateway.data(GET, params)["auid"] == created["auid"]
    gone = gateway.call(GET, {**params, "userId": "u-2"})
    assert gone["code"] == 107313
    assert gateway.call(GET, {**params, "source": "WECHAT"})["code"] == 460


def test_modify_keeps_what_is_omitted(gateway, setup):
    created = _add(
        gateway,
        setup,
        email="a@example.com",
        organizationIds=[setup["plant"]],
        roleCodes=[setup["role"]],
    )
    params = {
        "appId": setup["appId"],
        "auid": created["auid"],
        "nickName": "李四",
        "phone": "13243430000",
    }
    data = gateway.data(MODIFY, params)
    assert set(data) == {"auid", "nickName", "phone", "email", "orgList", "roleList"}
    assert data["nickName"] == "李四" and data["phone"] == "13243430000"
    assert data["email"] == "a@example.com"
    assert [o["organizationId"] for o in data["orgList"]] == [setup["plant"]]
    assert [r["roleCode"] for r in data["roleList"]] == [setup["role"]]
    cleared = gateway.data(
        MODIFY, {**params, "organizationIds": [setup["root"]], "roleCodes": [], "email": ""}
    )
    assert [o["organizationId"] for o in cleared["orgList"]] == [setup["root"]]
    assert cleared["roleList"] == [] and cleared["email"] is None


def test_modify_errors(gateway, setup):
    created = _add(gateway, setup)
    base = {
        "appId": setup["appId"],
        "auid": created["auid"],
        "nickName": "x",
        "phone": "13900001111",
    }
    assert gateway.call(MODIFY, {**base, "auid": "f" * 40})["code"] == 107313
    for bad in (
        {k: v for k, v in base.items() if k != "nickName"},
        {k: v for k, v in base.items() if k != "phone"},
        {**base, "roleCodes": ["nope"]},
        {**base, "organizationIds": ["zz"]},
        {**base, "appId": "nope"},
    ):
        assert gateway.call(MODIFY, bad)["code"] == 460, bad
    assert gateway.data(GET, {"employeeId": created["auid"]})["nickName"] == "张三"


def test_delete_in_batch_or_not_at_all(gateway, setup):
    first = _add(gateway, setup)["auid"]
    second = _add(gateway, setup, phone="13900002222", nickName="b")["auid"]
    refused = gateway.call(DELETE, {"appId": setup["appId"], "auids": [first, "e" * 40]})
    assert refused["code"] == 460 and "e" * 40 in refused["localizedMsg"]
    assert gateway.data(GET, {"employeeId": first})["auid"] == first
    assert gateway.data(DELETE, {"appId": setup["appId"], "auids": [first, second]}) == [
        first,
        second,
    ]
    assert gateway.call(GET, {"employeeId": first})["code"] == 107313
    assert gateway.call(DELETE, {"appId": setup["appId"]})["code"] == 460
    assert gateway.call(DELETE, {"appId": setup["appId"], "auids": []})["code"] == 460


def test_delete_refuses_accounts_another_authority_owns(gateway, setup):
    from idaas.directory import service

    account = service.create_account(
        "scim:hr", username="hr1", mobile="13700000000", source="scim:hr"
    )
    from idaas.industry.mapping import auid_of

    document = gateway.call(DELETE, {"appId": setup["appId"], "auids": [auid_of(account)]})
    assert _code(document) == (403, "request forbidden.")
    assert service.get_account(account.id) is not None


def test_auid_is_stable_and_opaque(gateway, setup):
    created = _add(gateway, setup)
    again = gateway.data(QUERY, {})["data"][0]["auid"]
    assert created["auid"] == again
    tampered = created["auid"][:-1] + ("0" if created["auid"][-1] != "0" else "1")
    assert gateway.call(GET, {"employeeId": tampered})["code"] == 107313
    assert ORG_ID.match(setup["plant"])
