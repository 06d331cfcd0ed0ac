"""The /api/v1 endpoints, the CLI, /metrics, SourceOwned explanations and connection removal."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from sqlalchemy import func, select

from idaas.audit.models import AuditEvent
from idaas.directory.models import Account, ExternalReference
from idaas.events.models import ChangeEvent, Job
from idaas.extensions import db
from tests.api.conftest import Api
from tests.dingtalk_sync.support import full_import
from tests.oidc.helpers import fetch_token, make_client


def work(app: Any) -> None:
    """Let the worker (`idaas worker` in production) run every queued job to its end."""
    deadline = time.monotonic() + 120
    while db.session.scalar(
        select(func.count(Job.id)).where(Job.status.in_(("queued", "running")))
    ):
        assert time.monotonic() < deadline, "jobs did not end"
        db.session.rollback()
        time.sleep(0.05)
    db.session.expire_all()


@pytest.fixture
def api(sync_app: Any, leak_guard: Any) -> Api:
    """An API client with directory:read and directory:write against `sync_app`."""
    http = sync_app.test_client()
    client_id, secret = make_client(
        "directory:read", "directory:write", "jobs:admin", leak_guard=leak_guard
    )
    return Api(http, client_id, fetch_token(http, client_id, secret))


def test_api_preview_remove_confirm_status_and_source_owned(
    sandbox: Any, conn: Any, api: Api, sync_app: Any
) -> None:
    first = sorted(sandbox.state.users)[6]
    sandbox.state.users[first].mobile = None
    shown = api("GET", "/dingtalk/connections/corp/sync/settings")
    assert shown.status_code == 200
    callback = shown.json["callback"]
    assert callback["url"].endswith("/callbacks/dingtalk/corp") and len(callback["aes_key"]) == 43
    bad = api("PATCH", "/dingtalk/connections/corp/sync/settings", json={"delete_percent": 900})
    assert bad.status_code == 422 and "delete_percent" in bad.json["fields"]
    preview = api("POST", "/dingtalk/connections/corp/sync/preview")
    assert preview.status_code == 202, preview.json
    job = preview.json["job"]
    assert preview.headers["Location"] == job["url"] == f"/api/v1/jobs/{job['id']}"
    assert job["kind"] == "dingtalk.preview"
    assert job["status"] in ("queued", "running", "succeeded")  # the worker may have it already
    work(sync_app)
    assert api("GET", f"/jobs/{job['id']}").json["status"] == "succeeded"
    run = api("GET", f"/dingtalk/connections/corp/sync/runs/{preview.json['id']}").json
    assert run["status"] == "previewed" and run["counts"]["invalid_by_kind"] == {"no_mobile": 1}
    rows = api("GET", f"/dingtalk/connections/corp/sync/runs/{run['id']}/rows?invalid=true")
    assert [r["external_id"] for r in rows.json["items"]] == [first]
    removed = api(
        "POST", f"/dingtalk/connections/corp/sync/runs/{run['id']}/remove", json={"invalid": True}
    )
    assert removed.json == {"removed": 1}
    started = api("POST", f"/dingtalk/connections/corp/sync/runs/{run['id']}/confirm", json={})
    assert started.status_code == 202 and started.json["job"]["kind"] == "dingtalk.apply"
    work(sync_app)
    applied = api("GET", f"/jobs/{started.json['job']['id']}").json
    progress = applied["progress"]
    assert applied["status"] == "succeeded" and progress["done"] == progress["total"] > 249, applied
    done = api("GET", f"/dingtalk/connections/corp/sync/runs/{run['id']}")
    assert done.json["status"] == "applied"
    again = api("POST", f"/dingtalk/connections/corp/sync/runs/{run['id']}/confirm", json={})
    assert again.status_code == 409
    status = api("GET", "/dingtalk/connections/corp/status").json
    assert status["last_import_run"] == run["id"]
    assert status["calls_today"]["topapi/v2/user/list"] >= 1
    account = db.session.scalar(
        select(Account).where(Account.username == sorted(sandbox.state.users)[8])
    )
    refused = api("PATCH", f"/accounts/{account.id}", json={"display_name": "改名"})
    assert refused.status_code == 409
    assert refused.json["type"] == "urn:idaas:problem:source-owned"
    assert "dingtalk:corp" in refused.json["fields"]["display_name"]
    metrics = sync_app.test_client().get("/metrics").get_data(as_text=True)
    assert 'idaas_dingtalk_sync_pending_events{connection="corp"} 0.0' in metrics
    assert 'idaas_dingtalk_sync_calls_today{api="topapi/v2/user/list",connection="corp"}' in metrics
    spec = sync_app.test_client().get("/api/v1/openapi.json").get_json()
    assert any(p.endswith("/sync/preview") for p in spec["paths"]), sorted(spec["paths"])

    refused_delete = api("DELETE", "/dingtalk/connections/corp")
    assert refused_delete.status_code == 409 and refused_delete.json["type"].endswith(
        "choice-required"
    )
    kept = api("DELETE", "/dingtalk/connections/corp?imported=keep")
    assert kept.status_code == 204
    db.session.expire_all()
    assert db.session.get(Account, account.id).source == "local"
    assert db.session.get(Account, account.id).status == "active"
    assert (
        db.session.scalar(
            select(AuditEvent).where(AuditEvent.action == "dingtalk.connection.deleted")
        ).details["imported"]
        == "keep"
    )


def test_cli_preview_apply_status_and_disable_on_removal(
    sandbox: Any, conn: Any, sync_app: Any
) -> None:
    runner = sync_app.test_cli_runner()
    preview = runner.invoke(args=["sync", "dingtalk", "preview", "corp", "--here", "--json"])
    assert preview.exit_code == 0, preview.output
    run = json.loads(preview.output)
    assert run["status"] == "previewed" and run["counts"]["actions"]["account.create"] == 250
    applied = runner.invoke(
        args=["sync", "dingtalk", "confirm", "corp", "--here", str(run["id"]), "--json"]
    )
    assert applied.exit_code == 0, applied.output
    assert json.loads(applied.output)["status"] == "applied"
    status = runner.invoke(args=["sync", "dingtalk", "status", "corp", "--json"])
    assert json.loads(status.output)["last_import_run"] == run["id"]
    again = runner.invoke(args=["sync", "dingtalk", "apply", "corp", "--here"])
    assert again.exit_code == 0 and "applied" in again.output
    sandbox.post(
        "/faults", {"errors": [{"endpoint": "topapi/v2/department/listsub", "errcode": 60011}]}
    )
    failing = runner.invoke(args=["sync", "dingtalk", "reconcile", "corp", "--here"])
    assert failing.exit_code == 1 and "通讯录只读权限" in failing.output
    blocked = runner.invoke(args=["sync", "dingtalk", "remove-connection", "corp"])
    assert blocked.exit_code != 0 and "keep" in blocked.output
    gone = runner.invoke(
        args=["sync", "dingtalk", "remove-connection", "corp", "--imported", "disable", "--json"]
    )
    assert gone.exit_code == 0, gone.output
    assert json.loads(gone.output)["disabled"] == 250
    db.session.expire_all()
    assert set(db.session.scalars(select(Account.status))) == {"disabled"}


def test_old_connection_remove_command_asks_keep_or_disable(
    sandbox: Any, conn: Any, sync_app: Any
) -> None:
    full_import(conn)
    runner = sync_app.test_cli_runner()
    blocked = runner.invoke(args=["dingtalk", "connections", "remove", "corp"])
    assert blocked.exit_code != 0 and "keep" in blocked.output
    assert db.session.scalar(select(func.count(Account.id)).where(Account.source == "local")) == 0
    kept = runner.invoke(args=["dingtalk", "connections", "remove", "corp", "--imported", "keep"])
    assert kept.exit_code == 0, kept.output
    db.session.expire_all()
    accounts = list(db.session.scalars(select(Account)))
    assert {(a.source, a.status) for a in accounts} == {("local", "active")}
    assert db.session.scalar(select(func.count(ExternalReference.id))) == 0
    released = db.session.scalar(
        select(func.count(ChangeEvent.id)).where(
            ChangeEvent.object_type == "account", ChangeEvent.action == "updated"
        )
    )
    assert released == len(accounts)
    assert (
        db.session.scalar(
            select(func.count(AuditEvent.id)).where(
                AuditEvent.action == "dingtalk.connection.deleted"
            )
        )
        == 1
    )


def test_sync_gauges_are_in_metrics_in_multiprocess_mode(
    conn: Any, sync_app: Any, tmp_path: Any, monkeypatch: Any
) -> None:
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    metrics = sync_app.test_client().get("/metrics").get_data(as_text=True)
    assert 'idaas_dingtalk_sync_pending_events{connection="corp"} 0.0' in metrics
    assert "idaas_jobs" in metrics  # the engine's gauges, reported the same way
