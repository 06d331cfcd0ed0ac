"""`POST /Bulk` (RFC 7644 §3.7): bulkId references, failOnErrors, limits."""

from __future__ import annotations

import json

from sqlalchemy import func, select

from idaas.directory.models import Account, GroupMember
from tests.scim.conftest import GROUP, PATCH, SCIM, USER

BULK = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"


def _user_op(bulk_id: str, name: str) -> dict:
    return {
        "method": "POST",
        "path": "/Users",
        "bulkId": bulk_id,
        "data": {"schemas": [USER], "userName": name, "active": True},
    }


def test_bulk_with_references(scim, db):
    body = {
        "schemas": [BULK],
        "Operations": [
            {
                "method": "POST",
                "path": "/Groups",
                "bulkId": "g",
                "data": {
                    "schemas": [GROUP],
                    "displayName": "Team",
                    "members": [{"value": "bulkId:u1"}],
                },
            },
            _user_op("u1", "one"),
            {
                "method": "POST",
                "path": "/Groups",
                "bulkId": "g2",
                "data": {
                    "schemas": [GROUP],
                    "displayName": "Team",
                    "members": [{"value": "bulkId:u1"}],
                },
            },
            {
                "method": "PATCH",
                "path": "/Users/bulkId:u1",
                "data": {
                    "schemas": [PATCH],
                    "Operations": [{"op": "replace", "path": "title", "value": "T"}],
                },
            },
            {"method": "DELETE", "path": "/Users/nope"},
        ],
    }
    response = scim("POST", "/Bulk", body)
    assert response.status_code == 200, response.get_data(as_text=True)
    results = response.get_json()["Operations"]
    statuses = [r["status"] for r in results]
    # The forward reference cannot be resolved yet; the rest runs in order.
    assert statuses == ["400", "201", "201", "200", "404"]
    assert results[0]["response"]["scimType"] == "invalidValue"
    assert results[1]["location"].endswith("/Users/" + results[1]["location"].rsplit("/", 1)[1])
    assert results[1]["version"] == 'W/"1"' and results[3]["version"] == 'W/"2"'
    assert db.session.scalar(select(func.count()).select_from(GroupMember)) == 1


def test_fail_on_errors_stops(scim, db):
    body = {
        "schemas": [BULK],
        "failOnErrors": 1,
        "Operations": [
            _user_op("a", "dup"),
            _user_op("b", "dup"),
            _user_op("c", "never"),
        ],
    }
    results = scim("POST", "/Bulk", body).get_json()["Operations"]
    assert [r["status"] for r in results] == ["201", "409"]
    assert results[1]["response"]["scimType"] == "uniqueness"
    assert db.session.scalar(select(Account).where(Account.username == "never")) is None


def test_bulk_limits(scim, app):
    ops = [_user_op(f"u{i}", f"user{i}") for i in range(1001)]
    response = scim("POST", "/Bulk", {"schemas": [BULK], "Operations": ops})
    assert response.status_code == 413 and response.mimetype == SCIM
    app.config["SCIM_BULK_MAX_PAYLOAD"] = 2000
    big = {"schemas": [BULK], "Operations": [_user_op("x", "x" * 10)] * 30}
    assert len(json.dumps(big)) > 2000
    response = scim("POST", "/Bulk", big)
    assert response.status_code == 413
    assert response.get_json()["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]


def test_bulk_route_allows_more_than_the_global_limit(scim, app):
    """The global MAX_CONTENT_LENGTH does not cap Bulk: its own maxPayloadSize does."""
    app.config["MAX_CONTENT_LENGTH"] = 1000
    ops = [_user_op(f"u{i}", f"big{i}") for i in range(20)]
    body = {"schemas": [BULK], "Operations": ops}
    assert len(json.dumps(body)) > 1000
    response = scim("POST", "/Bulk", body)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert {r["status"] for r in response.get_json()["Operations"]} == {"201"}
    too_big = scim("POST", "/Users", {"schemas": [USER], "userName": "x" * 2000, "active": True})
    assert too_big.status_code == 413 and too_big.mimetype == SCIM


def test_bulk_bad_shapes(scim):
    assert scim("POST", "/Bulk", {"schemas": [BULK]}).status_code == 400
    assert scim("GET", "/Bulk").status_code == 405
    results = scim(
        "POST",
        "/Bulk",
        {
            "schemas": [BULK],
            "Operations": [
                "nonsense",
                {"method": "GET", "path": "/Users"},
                {"method": "POST", "path": "/Users", "data": {}},
                {"method": "POST", "path": "/Elsewhere", "bulkId": "q", "data": {}},
                {"method": "PUT", "path": "/Users", "data": {}},
            ],
        },
    ).get_json()["Operations"]
    assert [r["status"] for r in results] == ["400"] * 5
