"""How many SQL statements a SCIM request costs: constant per page (no N+1), linear per Bulk
operation with one commit. A change that adds a query per user fails here, not in production."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event

from idaas.directory import service
from tests.scim.conftest import GROUP, IDAAS, PATCH, USER

BULK = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"


@contextmanager
def statements(db: Any) -> Iterator[list[str]]:
    """The statements the engine runs inside the block, less SAVEPOINT / RELEASE and the
    signing keys' cache (loaded once, re-checked on a timer: not the request's doing)."""
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        text = statement.lstrip().upper()
        if (
            text.startswith(("SAVEPOINT", "RELEASE"))
            or "OIDC_KEY_STATE" in text
            or "FROM SIGNING_KEY" in text
        ):
            return
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", record)


def _rich_users(scim: Any, count: int) -> list[dict[str, Any]]:
    """`count` users, each with an externalId, a department, a group and custom attributes."""
    sales = service.create_department("system", name=f"Sales {count}")
    service.define_attribute(
        "system", target="account", key=f"grade{count}", label="G", type="string"
    )
    made = []
    for n in range(count):
        body = {
            "schemas": [USER, IDAAS],
            "userName": f"u{count}-{n}",
            "active": True,
            "externalId": f"x{count}-{n}",
            IDAAS: {
                "departments": [{"value": str(sales.id)}],
                "attributes": [{"name": f"grade{count}", "value": str(n)}],
            },
        }
        response = scim("POST", "/Users", body)
        assert response.status_code == 201, response.get_data(as_text=True)
        made.append(response.get_json())
    members = [{"value": user["id"]} for user in made]
    group = {"schemas": [GROUP], "displayName": f"Team {count}", "members": members}
    assert scim("POST", "/Groups", group).status_code == 201
    return made


class Counted(int):
    """A statement count that shows the statements when an assertion on it fails."""

    seen: list[str]

    def __repr__(self) -> str:
        return f"{int(self)} statements: " + "\n".join(" ".join(s.split())[:120] for s in self.seen)


def _count(scim: Any, db: Any, method: str, path: str, body: Any = None, **kwargs: Any) -> int:
    with statements(db) as seen:
        response = scim(method, path, body, **kwargs)
    assert response.status_code in (200, 201), response.get_data(as_text=True)
    counted = Counted(len(seen))
    counted.seen = seen
    return counted


def test_pages_cost_the_same_whatever_their_size(scim, db):
    """A page of 2 users and a page of 20 (with departments, groups, externalIds, custom
    attributes) run the same statements: auth, page, memberships, facts, departments,
    and a COUNT only when the page is full."""
    _rich_users(scim, 2)
    _rich_users(scim, 20)
    small = _count(scim, db, "GET", "/Users", query_string={"filter": 'userName sw "u2-"'})
    large = _count(scim, db, "GET", "/Users", query_string={"filter": 'userName sw "u20-"'})
    assert small == large <= 5
    full = _count(scim, db, "GET", "/Users", query_string={"count": 5})
    assert full == small + 1  # the COUNT(*) for totalResults


@pytest.mark.parametrize(
    "query", ['userName eq "u3-1"', 'externalId eq "x3-1"', 'emails[value eq "none@x"]']
)
def test_a_lookup_is_a_handful_of_statements(scim, db, query):
    """Entra's and Okta's lookups: at most auth, the row, memberships, facts, departments (x2)."""
    _rich_users(scim, 3)
    assert _count(scim, db, "GET", "/Users", query_string={"filter": query}) <= 6


def test_a_lookup_that_misses_needs_no_count(scim, db):
    """Entra asks whether a user exists before creating it: a miss is auth and one query."""
    assert _count(scim, db, "GET", "/Users", query_string={"filter": 'userName eq "nobody"'}) == 2


def test_get_and_patch_statement_budget(scim, db):
    user = _rich_users(scim, 3)[0]
    assert _count(scim, db, "GET", f"/Users/{user['id']}") <= 6
    body = {"schemas": [PATCH], "Operations": [{"op": "replace", "path": "title", "value": "T"}]}
    # auth, the row with its memberships, facts and departments (read), the write (update, event,
    # fan-out targets, audit), the response's row, memberships, facts and departments (was 14)
    assert _count(scim, db, "PATCH", f"/Users/{user['id']}", body) <= 13


def test_group_pages_do_not_load_members_one_by_one(scim, db):
    _rich_users(scim, 2)
    _rich_users(scim, 20)
    statements_per_page = {
        _count(scim, db, "GET", "/Groups", query_string={"filter": f'displayName eq "Team {n}"'})
        for n in (2, 20)
    }
    assert len(statements_per_page) == 1


def test_bulk_statements_grow_linearly_with_one_commit(scim, db):
    """Each POST costs the same few statements; the whole request commits once."""

    def run(size: int, tag: str) -> tuple[int, int]:
        commits: list[int] = []
        listener = lambda connection: commits.append(1)  # noqa: E731
        event.listen(db.engine, "commit", listener)
        ops = [
            {
                "method": "POST",
                "path": "/Users",
                "bulkId": f"b{n}",
                "data": {"schemas": [USER], "userName": f"{tag}{n}", "active": True},
            }
            for n in range(size)
        ]
        try:
            count = _count(scim, db, "POST", "/Bulk", {"schemas": [BULK], "Operations": ops})
        finally:
            event.remove(db.engine, "commit", listener)
        return count, len(commits)

    five, five_commits = run(5, "five")
    fifteen, fifteen_commits = run(15, "fifteen")
    per_operation = (fifteen - five) / 10
    # attribute definitions, the username check, the account, its change event and audit row;
    # the fan-out targets are read once per request, not once per operation (was 7).
    assert per_operation <= 5 and five_commits == fifteen_commits == 1
    assert sum("FROM provisioning_target" in s for s in fifteen.seen) == 1  # type: ignore[attr-defined]


def test_bulk_patches_cost_six_statements_each(scim, db):
    """A Bulk PATCH reads the account once and the fan-out targets once per request."""
    users = _rich_users(scim, 12)

    def run(size: int) -> int:
        operations = [
            {
                "method": "PATCH",
                "path": f"/Users/{user['id']}",
                "data": {
                    "schemas": [PATCH],
                    "Operations": [{"op": "replace", "path": "title", "value": f"T{size}"}],
                },
            }
            for user in users[:size]
        ]
        return _count(scim, db, "POST", "/Bulk", {"schemas": [BULK], "Operations": operations})

    five, twelve = run(5), run(12)
    # The account with its memberships, its facts and their departments, the update, its change
    # event and audit row: 6 (was 9: memberships apart, fan-out targets per operation).
    assert (twelve - five) / 7 <= 6
