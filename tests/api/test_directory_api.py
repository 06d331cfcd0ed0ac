"""The /api/v1 directory endpoints: RFC 9110 semantics, problem+json, change events."""

from __future__ import annotations

from sqlalchemy import select

from idaas.directory import service
from idaas.events.models import ChangeEvent


def _events(db, object_type: str) -> list[tuple[str, str]]:
    rows = db.session.scalars(
        select(ChangeEvent).where(ChangeEvent.object_type == object_type).order_by(ChangeEvent.id)
    )
    return [(row.action, row.origin) for row in rows]


def test_account_create_update_delete_per_rfc9110(api, db):
    created = api(
        "POST", "/accounts", {"username": "bob", "display_name": "Bob", "email": "Bob@Example.com"}
    )
    assert created.status_code == 201
    body = created.get_json()
    location = created.headers["Location"]
    assert location == f"/api/v1/accounts/{body['id']}"
    assert created.headers["ETag"] == '"1"'
    assert "password" not in body and body["email"] == "Bob@example.com"

    fetched = api("GET", location.removeprefix("/api/v1"))
    assert fetched.status_code == 200 and fetched.headers["ETag"] == '"1"'
    assert (
        api("GET", f"/accounts/{body['id']}", headers={"If-None-Match": '"1"'}).status_code == 304
    )

    path = f"/accounts/{body['id']}"
    updated = api("PATCH", path, {"title": "Engineer"}, headers={"If-Match": '"1"'})
    assert updated.status_code == 200
    assert updated.headers["ETag"] == '"2"' and updated.get_json()["title"] == "Engineer"

    stale = api("PATCH", path, {"title": "Manager"}, headers={"If-Match": '"1"'})
    assert stale.status_code == 412
    assert stale.mimetype == "application/problem+json"
    assert stale.get_json()["type"] == "urn:idaas:problem:version-conflict"
    weak = api("PATCH", path, {"title": "Manager"}, headers={"If-Match": 'W/"2"'})
    assert weak.status_code == 412  # If-Match uses the strong comparison (RFC 9110 §13.1.1)
    assert api("GET", path).get_json()["title"] == "Engineer"

    assert api("DELETE", path, headers={"If-Match": '"1"'}).status_code == 412
    deleted = api("DELETE", path, headers={"If-Match": '"2"'})
    assert deleted.status_code == 204 and deleted.get_data() == b""
    assert api("GET", path).status_code == 404

    origin = f"api:{api.client_id}"
    assert _events(db, "account") == [("created", origin), ("updated", origin), ("deleted", origin)]


def test_department_create_update_move_delete(api, db):
    root = api("POST", "/departments", {"name": "Head office"})
    assert root.status_code == 201
    root_id = root.get_json()["id"]
    assert root.headers["Location"] == f"/api/v1/departments/{root_id}"
    child = api("POST", "/departments", {"name": "R&D", "parent_id": root_id})
    child_id = child.get_json()["id"]
    assert child.get_json()["path"] == f"/{root_id}/{child_id}/"
    etag = child.headers["ETag"]

    renamed = api(
        "PATCH", f"/departments/{child_id}", {"name": "Research"}, headers={"If-Match": etag}
    )
    assert renamed.status_code == 200
    assert (
        api(
            "PATCH", f"/departments/{child_id}", {"name": "Again"}, headers={"If-Match": etag}
        ).status_code
        == 412
    )

    other = api("POST", "/departments", {"name": "Branch"}).get_json()["id"]
    before_move = api("GET", f"/departments/{child_id}").headers["ETag"]
    moved = api(
        "POST",
        f"/departments/{root_id}/move",
        {"parent_id": other},
        headers={"If-Match": api("GET", f"/departments/{root_id}").headers["ETag"]},
    )
    assert moved.status_code == 200 and moved.get_json()["parent_id"] == other
    # The child's path changed with its ancestor, so its (strong) ETag changed too.
    assert api("GET", f"/departments/{child_id}").headers["ETag"] != before_move

    tree = api("GET", "/departments/tree").get_json()["items"]
    assert [n["name"] for n in tree] == ["Branch"]
    assert tree[0]["children"][0]["children"][0]["name"] == "Research"
    assert [d["id"] for d in api("GET", f"/departments?parent={root_id}").get_json()["items"]] == [
        child_id
    ]
    assert api("GET", f"/departments/{root_id}/children").get_json()["items"][0]["id"] == child_id

    not_empty = api("DELETE", f"/departments/{root_id}")
    assert not_empty.status_code == 422 and "department" in not_empty.get_json()["fields"]
    assert api("DELETE", f"/departments/{child_id}").status_code == 204
    origin = f"api:{api.client_id}"
    assert set(_events(db, "department")) == {
        ("created", origin),
        ("updated", origin),
        ("moved", origin),
        ("deleted", origin),
    }


def test_validation_errors_are_problem_documents_with_fields(api):
    bad = api("POST", "/accounts", {"username": "", "email": "nope", "extra": 1})
    assert bad.status_code == 422
    problem = bad.get_json()
    assert bad.mimetype == "application/problem+json"
    assert problem["type"] == "urn:idaas:problem:validation-failed"
    assert problem["status"] == 422
    assert {"username", "extra"} <= set(problem["fields"])

    service_level = api("POST", "/accounts", {"username": "carol", "email": "not-an-email"})
    assert service_level.status_code == 422 and "email" in service_level.get_json()["fields"]
    api("POST", "/accounts", {"username": "dave"})
    duplicate = api("POST", "/accounts", {"username": "DAVE"})
    assert duplicate.status_code == 422 and "username" in duplicate.get_json()["fields"]

    assert api("POST", "/accounts", data="{", content_type="application/json").status_code == 400
    assert (
        api(
            "POST", "/accounts", data="username=x", content_type="application/x-www-form-urlencoded"
        ).status_code
        == 415
    )
    too_big = api("POST", "/groups", {"name": "x", "description": "y" * (1024 * 1024)})
    assert too_big.status_code == 413
    assert api("GET", "/accounts/99999999999").status_code == 404
    assert api("GET", "/accounts/0").status_code == 404
    nul = api("POST", "/departments", {"name": "a\u0000b"})
    assert nul.status_code == 422 and "name" in nul.get_json()["fields"]
    huge = api("POST", "/departments", {"name": "x", "parent_id": 2**40})
    assert huge.status_code == 422 and "parent_id" in huge.get_json()["fields"]
    missing_parent = api("POST", "/departments", {"name": "x", "parent_id": 12345})
    assert missing_parent.status_code == 422
    assert api("GET", "/accounts?limit=0").status_code == 400
    assert api("GET", "/accounts?department=77").status_code == 400


def test_account_list_filters_and_cursor_pagination(api):
    dept = api("POST", "/departments", {"name": "Ops"}).get_json()["id"]
    group = api("POST", "/groups", {"name": "On call"}).get_json()["id"]
    role = api(
        "POST",
        "/roles",
        {
            "code": "ops.admin",
            "name": "Ops admin",
            "permissions": [{"resource": "hosts", "action": "reboot"}],
        },
    )
    role_id = role.get_json()["id"]
    ids = []
    for n in range(5):
        body = {"username": f"user{n}", "display_name": f"User {n}"}
        if n % 2 == 0:
            body["memberships"] = [{"department_id": dept}]
        ids.append(api("POST", "/accounts", body).get_json()["id"])
    api("POST", f"/accounts/{ids[1]}/disable")
    assert api("PUT", f"/groups/{group}/members/{ids[3]}").status_code == 204
    assert api("PUT", f"/roles/{role_id}/members/{ids[4]}").status_code == 204

    seen, cursor, pages = [], None, 0
    while True:
        query = "/accounts?limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = api("GET", query)
        data = page.get_json()
        seen += [a["id"] for a in data["items"]]
        pages += 1
        cursor = data["next_cursor"]
        if cursor:
            assert 'rel="next"' in page.headers["Link"]
        else:
            break
    assert seen == ids and pages == 3

    def usernames(query: str) -> list[str]:
        return [a["username"] for a in api("GET", "/accounts?" + query).get_json()["items"]]

    assert usernames(f"department={dept}") == ["user0", "user2", "user4"]
    assert usernames("status=disabled") == ["user1"]
    assert usernames(f"group={group}") == ["user3"]
    assert usernames(f"role={role_id}") == ["user4"]
    assert usernames("q=USER2") == ["user2"]
    tampered = api("GET", "/accounts?cursor=" + ("x" * 20))
    assert tampered.status_code == 400 and "cursor" in tampered.get_json()["fields"]

    members = api("GET", f"/departments/{dept}/members").get_json()["items"]
    assert [m["username"] for m in members] == ["user0", "user2", "user4"]
    assert [a["username"] for a in api("GET", f"/groups/{group}/members").get_json()["items"]] == [
        "user3"
    ]
    assert api("GET", f"/accounts/{ids[4]}/roles").get_json()["items"][0]["code"] == "ops.admin"
    assert api("GET", f"/accounts/{ids[4]}/permissions").get_json()["items"] == [
        {"resource": "hosts", "action": "reboot"}
    ]


def test_disable_enable_memberships_groups_roles_and_attributes(api):
    account = api("POST", "/accounts", {"username": "erin"})
    account_id = account.get_json()["id"]
    disabled = api("POST", f"/accounts/{account_id}/disable", headers={"If-Match": '"1"'})
    assert disabled.status_code == 200 and disabled.get_json()["status"] == "disabled"
    assert api("POST", f"/accounts/{account_id}/enable").get_json()["status"] == "active"

    a = api("POST", "/departments", {"name": "A"}).get_json()["id"]
    b = api("POST", "/departments", {"name": "B"}).get_json()["id"]
    etag = api("GET", f"/accounts/{account_id}/memberships").headers["ETag"]
    replaced = api(
        "PUT",
        f"/accounts/{account_id}/memberships",
        {"memberships": [{"department_id": a}, {"department_id": b, "is_primary": True}]},
        headers={"If-Match": etag},
    )
    assert replaced.status_code == 200
    assert replaced.get_json()["items"][0] == {
        "department_id": b,
        "is_primary": True,
        "sort_order": 0,
        "title": None,
    }

    group = api("POST", "/groups", {"name": "Readers", "description": "Book club"})
    group_id = group.get_json()["id"]
    assert (
        api(
            "PATCH",
            f"/groups/{group_id}",
            {"name": "Writers"},
            headers={"If-Match": group.headers["ETag"]},
        ).get_json()["name"]
        == "Writers"
    )
    api("PUT", f"/groups/{group_id}/members/{account_id}")
    assert api("GET", f"/accounts/{account_id}/groups").get_json()["items"][0]["id"] == group_id
    assert api("DELETE", f"/groups/{group_id}/members/{account_id}").status_code == 204
    assert api("DELETE", f"/groups/{group_id}").status_code == 204

    role = api("POST", "/roles", {"code": "auditor", "name": "Auditor"}).get_json()
    patched = api(
        "PATCH", f"/roles/{role['id']}", {"permissions": [{"resource": "audit", "action": "read"}]}
    )
    assert patched.get_json()["permissions"] == [{"resource": "audit", "action": "read"}]
    assert [r["code"] for r in api("GET", "/roles").get_json()["items"]] == ["auditor"]
    assert api("DELETE", f"/roles/{role['id']}").status_code == 204

    definition = api(
        "POST",
        "/attribute-definitions",
        {"target": "account", "key": "cost_center", "label": "Cost center", "type": "string"},
    )
    assert definition.status_code == 201
    definition_id = definition.get_json()["id"]
    with_attr = api("PATCH", f"/accounts/{account_id}", {"attributes": {"cost_center": "C-1"}})
    assert with_attr.get_json()["attributes"] == {"cost_center": "C-1"}
    unknown = api("PATCH", f"/accounts/{account_id}", {"attributes": {"nope": "x"}})
    assert unknown.status_code == 422 and "attributes.nope" in unknown.get_json()["fields"]
    assert (
        api(
            "PATCH", f"/attribute-definitions/{definition_id}", {"label": "Cost centre"}
        ).get_json()["label"]
        == "Cost centre"
    )
    assert len(api("GET", "/attribute-definitions?target=account").get_json()["items"]) == 1
    assert api("DELETE", f"/attribute-definitions/{definition_id}").status_code == 204


def test_fields_owned_by_dingtalk_are_a_409(api):
    account = service.create_account("dingtalk:main", username="frank", source="dingtalk:main")
    refused = api("PATCH", f"/accounts/{account.id}", {"display_name": "Frank"})
    assert refused.status_code == 409
    assert refused.get_json()["type"] == "urn:idaas:problem:source-owned"
    assert "display_name" in refused.get_json()["fields"]


def test_account_manager_is_read_and_written_by_id(api, db):
    boss = api("POST", "/accounts", {"username": "boss"}).get_json()
    assert boss["manager_id"] is None
    report = api("POST", "/accounts", {"username": "report", "manager_id": boss["id"]})
    assert report.status_code == 201 and report.get_json()["manager_id"] == boss["id"]
    report_id = report.get_json()["id"]
    english = {"Accept-Language": "en"}
    loop = api("PATCH", f"/accounts/{boss['id']}", {"manager_id": report_id}, headers=english)
    assert loop.status_code == 422
    assert "cannot form a loop" in loop.get_json()["fields"]["manager_id"]
    own = api("PATCH", f"/accounts/{boss['id']}", {"manager_id": boss["id"]})
    assert own.status_code == 422 and "manager_id" in own.get_json()["fields"]
    unknown = api("POST", "/accounts", {"username": "x", "manager_id": 999999})
    assert unknown.status_code == 422 and "manager_id" in unknown.get_json()["fields"]
    cleared = api("PATCH", f"/accounts/{report_id}", {"manager_id": None})
    assert cleared.status_code == 200 and cleared.get_json()["manager_id"] is None
    changes = db.session.scalars(
        select(ChangeEvent.changes).where(ChangeEvent.object_id == str(report_id))
    ).all()
    assert changes[-1] == {"manager_id": None} and changes[0]["manager_id"] == boss["id"]
