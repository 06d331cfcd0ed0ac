"""`POST /Bulk` (RFC 7644 §3.7): bulkId references, failOnErrors, limits."""

from __future__ import annotations

import json

import pytest
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


def _commits(db):
    """A list that grows by one for every COMMIT the engine sends."""
    from sqlalchemy import event

    seen: list[int] = []
    event.listen(db.engine, "commit", lambda connection: seen.append(1))
    return seen


def test_bulk_is_one_transaction_and_a_failure_undoes_only_itself(scim, db):
    commits = _commits(db)
    body = {
        "schemas": [BULK],
        "Operations": [
            _user_op("a", "first"),
            _user_op("b", "first"),  # uniqueness: undone alone
            _user_op("c", "second"),
            {
                "method": "PATCH",
                "path": "/Users/bulkId:c",
                "data": {
                    "schemas": [PATCH],
                    "Operations": [{"op": "replace", "path": "userName", "value": "first"}],
                },
            },
        ],
    }
    results = scim("POST", "/Bulk", body).get_json()["Operations"]
    assert [r["status"] for r in results] == ["201", "409", "201", "409"]
    assert len(commits) == 1
    names = db.session.scalars(select(Account.username).order_by(Account.username)).all()
    assert names == ["first", "second"]


def test_bulk_disable_ends_the_sessions(scim, logged_in, account, db):
    """Disabling through Bulk ends the account's sessions in the Bulk's transaction."""
    from idaas.auth.models import AuthSession

    assert logged_in.get("/portal/").status_code == 200
    body = {
        "schemas": [BULK],
        "Operations": [
            {
                "method": "PATCH",
                "path": f"/Users/{account.uuid}",
                "data": {
                    "schemas": [PATCH],
                    "Operations": [{"op": "replace", "value": {"active": "False"}}],
                },
            },
            _user_op("x", "after-the-disable"),
        ],
    }
    results = scim("POST", "/Bulk", body).get_json()["Operations"]
    assert [r["status"] for r in results] == ["200", "201"]
    (row,) = db.session.scalars(select(AuthSession).where(AuthSession.account_id == account.id))
    assert row.revoked_reason == "account_disabled"
    response = logged_in.get("/portal/")
    assert response.status_code == 302 and response.location.startswith("/login")


def test_a_failed_operation_keeps_the_sessions(logged_in, account, db):
    """A savepoint that rolls back takes the signal receivers' work (ended sessions) with it."""

    from idaas.auth.models import AuthSession
    from idaas.directory import service
    from idaas.directory.service.unit import atomic, savepoint

    with atomic():
        with pytest.raises(RuntimeError), savepoint():
            service.set_status("system", account.id, "disabled")
            raise RuntimeError("a later step of the operation failed")
    db.session.expire_all()
    assert db.session.get(Account, account.id).status == "active"
    (row,) = db.session.scalars(select(AuthSession).where(AuthSession.account_id == account.id))
    assert row.revoked_at is None
    assert logged_in.get("/portal/").status_code == 200


@pytest.mark.sqlite_only
def test_sqlite_bulk_holds_the_write_lock_from_its_first_savepoint(app, db):
    """A SAVEPOINT alone starts a deferred SQLite transaction whose first write fails at once
    if another connection wrote after its reads; Bulk takes the write lock first instead, so
    other writers wait for it (here: time out) and its own writes go through."""
    import sqlite3

    from idaas.directory import service
    from idaas.directory.service.unit import atomic, savepoint

    path = db.engine.url.database
    with atomic(), savepoint():
        db.session.execute(select(Account)).all()
        other = sqlite3.connect(path, timeout=0.05)
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            other.execute("UPDATE account SET title = 'x'")
        other.close()
        service.create_account("system", username="inside-the-bulk")
    assert db.session.scalar(select(Account.username)) == "inside-the-bulk"
