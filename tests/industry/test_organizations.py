"""The organisation tree: tree/get, add, modify, delete (contract §5)."""

from __future__ import annotations

from tests.industry.conftest import Gateway, make_gateway_client

TREE = "/industry/user/organization/tree/get"
ADD = "/industry/user/organization/add"
MODIFY = "/industry/user/organization/modify"
DELETE = "/industry/user/organization/delete"


def _chain(gateway, depth):
    app_id = gateway.app_key
    ids = [gateway.data(ADD, {"appId": app_id, "organizationName": "L1"})]
    for level in range(2, depth + 1):
        ids.append(
            gateway.data(
                ADD, {"appId": app_id, "organizationName": f"L{level}", "parentId": ids[-1]}
            )
        )
    return ids


def test_tree_shape(gateway):
    ids = _chain(gateway, 3)
    sibling = gateway.data(
        ADD, {"appId": gateway.app_key, "organizationName": "质检", "parentId": ids[0]}
    )
    tree = gateway.data(TREE, {})
    assert len(tree) == 1
    root = tree[0]
    assert set(root) == {
        "organizationId",
        "organizationName",
        "order",
        "parentId",
        "leaf",
        "childList",
    }
    assert root["organizationId"] == ids[0] and root["parentId"] is None and root["leaf"] is False
    assert isinstance(root["order"], int)
    children = {c["organizationId"]: c for c in root["childList"]}
    assert set(children) == {ids[1], sibling}
    assert children[sibling]["leaf"] is True and children[sibling]["childList"] is None
    assert children[ids[1]]["parentId"] == ids[0]
    assert children[ids[1]]["childList"][0]["organizationId"] == ids[2]
    subtree = gateway.data(TREE, {"orgId": ids[1]})
    assert [n["organizationId"] for n in subtree] == [ids[1]]
    assert subtree[0]["childList"][0]["organizationId"] == ids[2]


def test_tree_shows_four_levels_of_a_deeper_tree(gateway):
    from idaas.directory import service
    from idaas.industry.mapping import department_id_of

    ids = _chain(gateway, 4)
    # A fifth level made elsewhere (e.g. imported from DingTalk) is not shown, but counted.
    service.create_department("system", name="L5", parent_id=department_id_of(ids[3]))
    node = gateway.data(TREE, {})[0]
    for expected in ids[1:]:
        node = node["childList"][0]
        assert node["organizationId"] == expected
    assert node["childList"] is None and node["leaf"] is False


def test_tree_errors(gateway, client):
    missing = gateway.call(TREE, {"orgId": "A" * 32})
    assert (missing["code"], missing["message"]) == (2115, "organization not exist")
    assert missing["localizedMsg"] == "机构已被删除"
    assert gateway.call(TREE, {"orgId": "not-an-id"})["code"] == 2115
    key, secret = make_gateway_client(scopes=("scim:read",), name="other")
    assert Gateway(client, key, secret).call(TREE, {})["code"] == 403


def test_add_rules(gateway):
    app_id = gateway.app_key
    ids = _chain(gateway, 4)
    second_root = gateway.call(ADD, {"appId": app_id, "organizationName": "另一个根"})
    assert second_root["code"] == 460 and "parentId" in second_root["localizedMsg"]
    too_deep = gateway.call(ADD, {"appId": app_id, "organizationName": "L5", "parentId": ids[3]})
    assert too_deep["code"] == 460
    for bad in (
        {"appId": app_id, "parentId": ids[0]},
        {"organizationName": "x", "parentId": ids[0]},
        {"appId": app_id, "organizationName": "x", "parentId": "B" * 32},
        {"appId": app_id, "organizationName": "a/b", "parentId": ids[0]},
        {"appId": app_id, "organizationName": "L2", "parentId": ids[0]},  # sibling name taken
    ):
        assert gateway.call(ADD, bad)["code"] == 460, bad
    assert len(gateway.data(TREE, {})) == 1


def test_modify_renames(gateway):
    ids = _chain(gateway, 2)
    params = {"appId": gateway.app_key, "organizationId": ids[1], "organizationName": "制造部"}
    assert gateway.data(MODIFY, params) == ids[1]
    assert gateway.data(TREE, {})[0]["childList"][0]["organizationName"] == "制造部"
    assert gateway.call(MODIFY, {**params, "organizationId": "C" * 32})["code"] == 460
    assert gateway.call(MODIFY, {**params, "organizationName": ""})["code"] == 460


def test_delete_rules(gateway):
    ids = _chain(gateway, 3)
    app_id = gateway.app_key
    root = gateway.call(DELETE, {"appId": app_id, "organizationId": ids[0]})
    assert root["code"] == 460
    with_children = gateway.call(DELETE, {"appId": app_id, "organizationId": ids[1]})
    assert with_children["code"] == 460
    gateway.data(
        "/industry/user/account/add",
        {"appId": app_id, "phone": "13900001111", "nickName": "a", "organizationIds": [ids[2]]},
    )
    with_members = gateway.call(DELETE, {"appId": app_id, "organizationId": ids[2]})
    assert with_members["code"] == 460
    empty = gateway.data(ADD, {"appId": app_id, "organizationName": "空", "parentId": ids[0]})
    assert gateway.data(DELETE, {"appId": app_id, "organizationId": empty}) == empty
    assert gateway.call(DELETE, {"appId": app_id, "organizationId": empty})["code"] == 460
