"""The audit log: filtered cursor-paged query, CSV/JSON export, CLI, /api/v1/audit, console."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timedelta
from typing import Any

import pytest

from idaas import audit
from idaas.audit import query
from idaas.extensions import db as database


@pytest.fixture
def rows(app: Any) -> list[Any]:
    """Seven audit rows across actors, actions, targets, outcomes and three days."""
    base = datetime(2026, 11, 1, 8, 0, 0)
    made = []
    for i, (actor, action, target, outcome) in enumerate(
        [
            ("admin:1", "account.updated", "account:7", "success"),
            ("admin:1", "account.deleted", "account:8", "success"),
            ("admin:2", "department.created", "department:3", "success"),
            ("user:7", "auth.login", "account:7", "failure"),
            ("user:7", "auth.login", "account:7", "success"),
            ("api:abc", "account.updated", "account:7", "success"),
            ("anonymous", "auth.login", None, "denied"),
        ]
    ):
        row = audit.record(actor, action, target, outcome, {"n": i, "note": "=SUM(A1)"})
        row.occurred_at = base + timedelta(hours=8 * i)
        made.append(row)
    database.session.commit()
    return made


def ids(found: list[Any]) -> list[int]:
    return [r.id for r in found]


def test_filters(rows: list[Any]) -> None:
    f = query.AuditFilter.parse
    assert ids(query.page(f({"actor": "admin:1"}))) == [rows[1].id, rows[0].id]
    assert len(query.page(f({"actor": "admin:*"}))) == 3
    assert len(query.page(f({"action": "auth.*"}))) == 3
    assert ids(query.page(f({"target": "account:7"}))) == [
        rows[5].id,
        rows[4].id,
        rows[3].id,
        rows[0].id,
    ]
    assert len(query.page(f({"target": "department"}))) == 1
    assert ids(query.page(f({"outcome": "failure"}))) == [rows[3].id]
    window = f({"since": "2026-11-01T16:00", "until": "2026-11-02T08:00"})
    assert ids(query.page(window)) == [rows[2].id, rows[1].id]
    # A time with an offset is converted to UTC: 08:00+08:00 is 00:00Z.
    assert ids(query.page(f({"since": "2026-11-03T08:00+08:00"}))) == [rows[6].id, rows[5].id]


def test_bad_filters_are_named(app: Any) -> None:
    with pytest.raises(query.InvalidFilter) as caught:
        query.AuditFilter.parse({"since": "yesterday"})
    assert caught.value.field == "since"
    with pytest.raises(query.InvalidFilter):
        query.AuditFilter.parse({"outcome": "maybe"})


def test_cursor_paging_newest_first(rows: list[Any]) -> None:
    flt = query.AuditFilter()
    first = query.page(flt, limit=3)
    second = query.page(flt, before_id=first[-1].id, limit=3)
    third = query.page(flt, before_id=second[-1].id, limit=3)
    assert ids(first + second + third) == sorted(ids(rows), reverse=True)


def test_csv_export_is_filtered_and_formula_safe(rows: list[Any]) -> None:
    text = "".join(query.export_csv(query.AuditFilter.parse({"actor": "user:7"})))
    parsed = list(csv.DictReader(io.StringIO(text)))
    assert [int(r["id"]) for r in parsed] == [rows[3].id, rows[4].id]
    assert json.loads(parsed[0]["details"])["note"] == "=SUM(A1)"  # inside JSON: not a formula
    assert all(not r["actor"].startswith("=") for r in parsed)


def test_json_lines_export(rows: list[Any]) -> None:
    lines = list(query.export_json_lines(query.AuditFilter.parse({"outcome": "denied"})))
    assert [json.loads(x)["actor"] for x in lines] == ["anonymous"]


def test_cli_list_show_export(runner: Any, rows: list[Any], tmp_path: Any) -> None:
    listed = runner.invoke(args=["audit", "list", "--actor", "admin:*", "--json"])
    assert listed.exit_code == 0, listed.output
    assert [r["id"] for r in json.loads(listed.output)] == [rows[2].id, rows[1].id, rows[0].id]
    shown = runner.invoke(args=["audit", "show", str(rows[3].id), "--json"])
    assert json.loads(shown.output)["outcome"] == "failure"
    assert runner.invoke(args=["audit", "show", "999999"]).exit_code != 0
    target = tmp_path / "audit.csv"
    exported = runner.invoke(args=["audit", "export", "--action", "auth.*", "-o", str(target)])
    assert exported.exit_code == 0, exported.output
    with target.open(encoding="utf-8") as exported_file:
        assert len(list(csv.DictReader(exported_file))) == 3
    bad = runner.invoke(args=["audit", "list", "--since", "soon"])
    assert bad.exit_code == 2 and "--since" in bad.output


def test_api_audit_needs_audit_read(api_as: Any, rows: list[Any]) -> None:
    assert api_as("directory:read")("GET", "/audit").status_code == 403
    api = api_as("audit:read")
    first = api("GET", "/audit?limit=4&action=auth.*")
    assert first.status_code == 200
    body = first.get_json()
    assert [i["id"] for i in body["items"]] == [rows[6].id, rows[4].id, rows[3].id]
    assert body["next_cursor"] is None
    paged = api("GET", "/audit?limit=2&action=auth.*")
    cursor = paged.get_json()["next_cursor"]
    second = api("GET", f"/audit?limit=2&action=auth.*&cursor={cursor}")
    assert [i["id"] for i in second.get_json()["items"]] == [rows[3].id]
    assert second.get_json()["next_cursor"] is None
    assert 'rel="next"' in paged.headers["Link"]
    bad = api("GET", "/audit?since=not-a-time")
    assert bad.status_code == 400 and "since" in bad.get_json()["fields"]


def test_console_filters_detail_and_export(admin_client: Any, admin: Any, rows: list[Any]) -> None:
    page = admin_client.get("/admin/audit?actor=user:7").get_data(as_text=True)
    assert page.count("auth.login") == 2 and "department.created" not in page
    bad = admin_client.get("/admin/audit?since=tomorrow-ish")
    assert bad.status_code == 400 and "a-since-error" in bad.get_data(as_text=True)
    detail = admin_client.get(f"/admin/audit/{rows[0].id}").get_data(as_text=True)
    assert "account.updated" in detail and "=SUM(A1)" in detail
    export = admin_client.get("/admin/audit/export.csv?outcome=failure")
    assert export.status_code == 200 and export.mimetype == "text/csv"
    assert len(list(csv.DictReader(io.StringIO(export.get_data(as_text=True))))) == 1
    exported = query.page(query.AuditFilter.parse({"action": "audit.exported"}))
    assert exported[0].actor == f"admin:{admin.id}"
    assert exported[0].details["filters"] == {"outcome": "failure"}
