"""Filters (RFC 7644 §3.4.2.2), sorting, paging and attribute selection, in SQL."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from idaas.directory import service
from idaas.directory.models import Account
from idaas.extensions import db as database
from idaas.scim.server import mappings
from idaas.scim.server.filters import apply_filter
from tests.scim.conftest import ENTERPRISE, GROUP, IDAAS, PATCH, new_user


@pytest.fixture
def people(scim):
    """Four users with varied attributes, one group, one department."""
    sales = service.create_department("system", name="Sales")
    specs = [
        ("alice", "Alice Wang", "alice@example.com", "E-1", "Engineer", True, "ext-A"),
        ("bob", "Bob Li", "bob@Example.org", "e-2", "Manager", True, "ext-b"),
        ("carol", "Carol Zhang", None, None, "engineer", False, None),
        ("dave_x", "Dave%Sun", "dave@example.com", "E-4", None, True, "ext-D"),
    ]
    made = {}
    for name, display, email, number, title, active, external in specs:
        body = new_user(
            name,
            active=active,
            displayName=display,
            schemas=["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE, IDAAS],
        )
        if email:
            body["emails"] = [{"value": email, "type": "work"}]
        if title:
            body["title"] = title
        if external:
            body["externalId"] = external
        body[ENTERPRISE] = {"employeeNumber": number}
        if name in ("alice", "carol"):
            body[IDAAS] = {"departments": [{"value": str(sales.id), "title": "Rep"}]}
        response = scim("POST", "/Users", body)
        assert response.status_code == 201, response.get_data(as_text=True)
        made[name] = response.get_json()
    group = scim(
        "POST",
        "/Groups",
        {"schemas": [GROUP], "displayName": "Admins", "members": [{"value": made["bob"]["id"]}]},
    ).get_json()
    return {"users": made, "group": group, "sales": sales}


def _names(scim, query: str, **params) -> list[str]:
    response = scim("GET", "/Users", query_string={"filter": query, **params})
    assert response.status_code == 200, (query, response.get_data(as_text=True))
    return sorted(r["userName"] for r in response.get_json()["Resources"])


CASES = [
    ('userName eq "ALICE"', ["alice"]),  # caseExact false
    ('userName ne "alice"', ["bob", "carol", "dave_x"]),
    ('userName co "A"', ["carol", "dave_x", "alice"]),
    ('userName sw "b"', ["bob"]),
    ('userName ew "_x"', ["dave_x"]),  # `_` is not a LIKE wildcard here
    ('displayName co "%"', ["dave_x"]),  # neither is `%`
    ('userName gt "bob"', ["carol", "dave_x"]),
    ('userName ge "bob"', ["bob", "carol", "dave_x"]),
    ('userName lt "bob"', ["alice"]),
    ('userName le "bob"', ["alice", "bob"]),
    ("title pr", ["alice", "bob", "carol"]),
    ("not (title pr)", ["dave_x"]),
    ('title eq "ENGINEER"', ["alice", "carol"]),
    ('externalId eq "ext-A"', ["alice"]),
    ('externalId eq "EXT-A"', []),  # caseExact true
    ("externalId pr", ["alice", "bob", "dave_x"]),
    ('emails co "example.com"', ["alice", "dave_x"]),
    ('emails.value ew "EXAMPLE.ORG"', ["bob"]),
    ('emails[type eq "work" and value co "@example.com"]', ["alice", "dave_x"]),
    ('emails[type eq "home"]', []),
    ('emails[type eq "work"].value eq "bob@example.org"', ["bob"]),  # Entra's form
    ("active eq false", ["carol"]),
    ("active eq true and title pr", ["alice", "bob"]),
    ('active eq true and (title eq "manager" or userName eq "dave_x")', ["bob", "dave_x"]),
    ('title eq "engineer" or userName eq "bob" and active eq true', ["alice", "bob", "carol"]),
    (f'{ENTERPRISE}:employeeNumber eq "E-1"', ["alice"]),
    (f'{ENTERPRISE}:employeeNumber eq "e-1"', []),  # declared caseExact
    (f'{ENTERPRISE}:employeeNumber sw "E-"', ["alice", "dave_x"]),
    ('urn:ietf:params:scim:schemas:core:2.0:User:userName eq "bob"', ["bob"]),
    ('meta.resourceType eq "User"', ["alice", "bob", "carol", "dave_x"]),
    ('meta.created gt "2000-01-01T00:00:00Z"', ["alice", "bob", "carol", "dave_x"]),
    ('meta.lastModified lt "2000-01-01T00:00:00Z"', []),
    ("name.givenName pr", []),
]


def test_filter_grammar(scim, people):
    """Every operator, grouping, not, value paths and per-attribute case-exactness."""
    for query, expected in CASES:
        assert _names(scim, query) == sorted(expected), query


def test_filters_on_references(scim, people):
    bob = people["users"]["bob"]
    group_id = people["group"]["id"]
    assert _names(scim, f'groups.value eq "{group_id}"') == ["bob"]
    assert _names(scim, f'groups[value eq "{group_id}" and display eq "admins"]') == ["bob"]
    sales = people["sales"].id
    assert _names(scim, f'{IDAAS}:departments.value eq "{sales}"') == ["alice", "carol"]
    assert _names(scim, f'{IDAAS}:departments[display eq "sales" and title eq "Rep"]') == [
        "alice",
        "carol",
    ]
    groups = scim("GET", "/Groups", query_string={"filter": f'members.value eq "{bob["id"]}"'})
    assert [g["displayName"] for g in groups.get_json()["Resources"]] == ["Admins"]
    groups = scim("GET", "/Groups", query_string={"filter": 'displayName eq "ADMINS"'})
    assert groups.get_json()["totalResults"] == 1


def test_filters_on_custom_attributes(scim, people):
    """The idaas extension's `attributes` filter in SQL over the stored JSON (names exact,
    values compared as text without case, whatever their type)."""
    for key, kind in (("cost_center", "string"), ("grade", "integer"), ("remote", "boolean")):
        service.define_attribute("system", target="account", key=key, label=key, type=kind)
    values = {
        "alice": {"cost_center": "CC-Berlin", "grade": "7", "remote": "true"},
        "bob": {"cost_center": "cc-beijing", "grade": "12"},
        "carol": {"remote": "false"},
    }
    for name, attributes in values.items():
        body = {
            "schemas": [PATCH],
            "Operations": [
                {
                    "op": "add",
                    "path": f"{IDAAS}:attributes",
                    "value": [{"name": k, "value": v} for k, v in attributes.items()],
                }
            ],
        }
        response = scim("PATCH", f"/Users/{people['users'][name]['id']}", body)
        assert response.status_code == 200, response.get_data(as_text=True)
    cases = [
        (f'{IDAAS}:attributes[name eq "cost_center" and value eq "cc-berlin"]', ["alice"]),
        (f'{IDAAS}:attributes[name eq "cost_center" and value sw "CC-B"]', ["alice", "bob"]),
        (f'{IDAAS}:attributes[name eq "Cost_Center" and value pr]', []),  # names: caseExact
        (f'{IDAAS}:attributes[name eq "grade" and value eq "12"]', ["bob"]),
        (f'{IDAAS}:attributes[name eq "remote" and value eq "true"]', ["alice"]),
        (f'{IDAAS}:attributes[name eq "remote" and value eq "false"]', ["carol"]),
        (f'{IDAAS}:attributes.name eq "grade"', ["alice", "bob"]),
        (f'{IDAAS}:attributes.value co "beijing"', ["bob"]),
        (f"{IDAAS}:attributes pr", ["alice", "bob", "carol"]),
        (f'not ({IDAAS}:attributes[name eq "remote"])', ["bob", "dave_x"]),
        (f'{IDAAS}:attributes[name eq "grade" and value eq "7"] and active eq true', ["alice"]),
    ]
    for query, expected in cases:
        assert _names(scim, query) == sorted(expected), query


@pytest.mark.parametrize(
    "query",
    [
        'nickName eq "x"',  # not an attribute idaas stores
        'userName eq "x" and',  # syntax
        "userName eq",
        'emails[type eq "work"',
        'userName xx "a"',
        "active gt true",  # ordering on a boolean
        "userName eq 1",
        f'{IDAAS}:attributes.label eq "x"',  # custom attributes have a name and a value
    ],
)
def test_unsupported_filters_are_400_invalid_filter(scim, people, query):
    response = scim("GET", "/Users", query_string={"filter": query})
    assert response.status_code == 400, (query, response.get_data(as_text=True))
    assert response.get_json()["scimType"] in ("invalidFilter", "invalidPath", "invalidValue")


def test_sorting_paging_and_attributes(scim, people, app):
    descending = scim(
        "GET", "/Users", query_string={"sortBy": "userName", "sortOrder": "descending"}
    ).get_json()
    assert [r["userName"] for r in descending["Resources"]] == ["dave_x", "carol", "bob", "alice"]
    by_mail = scim("GET", "/Users", query_string={"sortBy": "emails.value"}).get_json()
    assert by_mail["Resources"][-1]["userName"] in ("carol", "alice", "bob", "dave_x")
    page = scim(
        "GET", "/Users", query_string={"sortBy": "userName", "startIndex": 2, "count": 2}
    ).get_json()
    assert (page["totalResults"], page["startIndex"], page["itemsPerPage"]) == (4, 2, 2)
    assert [r["userName"] for r in page["Resources"]] == ["bob", "carol"]
    zero = scim("GET", "/Users", query_string={"count": 0}).get_json()
    assert zero["totalResults"] == 4 and zero["Resources"] == []
    app.config["SCIM_MAX_RESULTS"] = 3
    capped = scim("GET", "/Users", query_string={"count": 50}).get_json()
    assert capped["itemsPerPage"] == 3 and capped["totalResults"] == 4
    only = scim("GET", "/Users", query_string={"attributes": "userName"}).get_json()
    assert set(only["Resources"][0]) == {"id", "schemas", "userName"}
    without = scim("GET", "/Users", query_string={"excludedAttributes": "emails,meta"}).get_json()
    assert all("emails" not in r and "meta" not in r for r in without["Resources"])
    bad_sort = scim("GET", "/Users", query_string={"sortBy": "password"})
    assert bad_sort.status_code == 400


def test_post_search(scim, people):
    response = scim(
        "POST",
        "/Users/.search",
        {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
            "filter": 'title eq "engineer"',
            "attributes": ["userName"],
            "sortBy": "userName",
            "count": 1,
        },
    )
    body = response.get_json()
    assert response.status_code == 200, body
    assert body["totalResults"] == 2 and [r["userName"] for r in body["Resources"]] == ["alice"]
    assert scim("GET", "/Users/.search").status_code == 405


def test_user_name_lookup_uses_the_unique_index(app, scim):
    """`userName eq` is an index lookup on `username_key`, not a scan."""
    translator = mappings.users("scim:x", database.engine.dialect.name)
    from scim2_models import SearchRequest

    from idaas.scim.resources import UserResource

    tree = SearchRequest[UserResource](filter='userName eq "bjensen"').filter.ast
    query = apply_filter(select(Account), translator, tree)
    compiled = query.compile(database.engine, compile_kwargs={"literal_binds": True})
    with database.engine.connect() as connection:
        if connection.dialect.name == "sqlite":
            plan = " ".join(
                str(row) for row in connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}")
            )
            assert "USING INDEX" in plan and "SCAN" not in plan.replace("SCAN CONSTANT", ""), plan
        else:
            connection.exec_driver_sql("SET enable_seqscan = off")
            plan = " ".join(str(row) for row in connection.exec_driver_sql(f"EXPLAIN {compiled}"))
            assert "Index" in plan, plan


def test_patch_is_visible_to_filters(scim, people):
    alice = people["users"]["alice"]
    scim(
        "PATCH",
        f"/Users/{alice['id']}",
        {
            "schemas": [PATCH],
            "Operations": [{"op": "replace", "path": "userName", "value": "alicia"}],
        },
    )
    assert _names(scim, 'userName eq "alicia"') == ["alicia"]
