"""Preview flags every kind of invalid row; removed rows are not imported; kill -9 resumes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from typing import Any

from sqlalchemy import func, select

from idaas.dingtalk.sync import runs, settings
from idaas.dingtalk.sync.models import SyncRow
from idaas.directory import service
from idaas.directory.models import Account, ExternalReference
from idaas.events.models import Job
from idaas.events.worker import Worker
from idaas.extensions import db
from tests.dingtalk_login.support import sandbox_config
from tests.dingtalk_sync.support import (
    apply,
    directory_view,
    full_import,
    preview,
    sandbox_view,
)


def _people(sandbox: Any) -> list[Any]:
    return sorted(sandbox.state.users.values(), key=lambda u: u.userid)[5:]


def test_preview_flags_each_invalid_kind_changes_nothing_and_removed_rows_stay_out(
    sandbox: Any, conn: Any
) -> None:
    people = _people(sandbox)
    no_mobile, bad_email, email_user, mobile_user, number_user, rule_user = people[:6]
    no_mobile.mobile = None
    bad_email.email = "not-an-email"
    service.create_account("system", username="local-email", email=email_user.email)
    service.create_account("system", username="local-mobile", mobile=mobile_user.mobile)
    service.create_account(
        "system", username="local-number", employee_number=number_user.job_number
    )
    rule_user.job_number = "X-1"
    settings.save(
        "cli:test",
        conn,
        {
            "mapping": [
                {
                    "source": "job_number",
                    "target": "attributes.staff_no",
                    "transform": "regex",
                    "pattern": r"E\d{6}",
                }
            ]
        },
    )
    service.define_attribute("system", target="account", key="staff_no", label="No", type="string")
    sandbox.post(
        "/faults",
        {"errors": [{"endpoint": "topapi/v2/user/list", "errcode": 50004, "skip": 6, "times": 1}]},
    )
    accounts_before = db.session.scalar(select(func.count(Account.id)))
    run = preview(conn)
    sandbox.control.delete("/faults")
    assert run.status == "previewed"
    kinds = run.counts["invalid_by_kind"]
    for kind in (
        "no_mobile",
        "invalid_email",
        "email_taken",
        "mobile_taken",
        "employee_number_taken",
        "attribute_rule",
        "outside_scope",
    ):
        assert kinds.get(kind, 0) >= 1, (kind, kinds)
    rows = {r.external_id: r for r in runs.rows_of(run, invalid=True, limit=1000)}
    assert rows[no_mobile.userid].errors[0]["kind"] == "no_mobile"
    assert "手机号码信息" in rows[no_mobile.userid].errors[0]["message"]
    assert rows[rule_user.userid].errors[0]["kind"] == "attribute_rule"
    assert rows[email_user.userid].errors[0]["kind"] == "email_taken"
    refused = [r for r in rows.values() if r.object_type == "department"]
    assert refused and "visible range" in refused[0].errors[0]["message"]
    assert db.session.scalar(select(func.count(Account.id))) == accounts_before
    removed = runs.remove_invalid("cli:test", run)
    assert removed == run.counts["invalid"]
    apply(run)
    system = settings.system_of(conn)
    imported = set(
        db.session.scalars(
            select(ExternalReference.external_id).where(
                ExternalReference.system == system, ExternalReference.object_type == "account"
            )
        )
    )
    for user in (no_mobile, bad_email, email_user, mobile_user, number_user, rule_user):
        assert user.userid not in imported
    assert len(imported) > 100


def test_kill_minus_9_half_way_resumes_and_ends_identical(
    sandbox: Any, conn: Any, base_config: dict[str, Any], sync_app: Any
) -> None:
    sync_app.extensions["test_worker"].stop()  # only the worker in the child runs it
    run = preview(conn)
    runs.apply("cli:test", run)
    config = {
        **base_config,
        **sandbox_config(sandbox),
        "DINGTALK_SYNC_BATCH": 10,
        "EVENTS_JOB_LEASE_SECONDS": 30,
    }
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    child = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.dingtalk_sync.killable_apply",
            json.dumps(config),
        ],
        env=env,
    )
    total = run.total
    deadline = time.monotonic() + 60
    applied = 0
    while time.monotonic() < deadline:
        with db.engine.connect() as connection:
            applied = connection.execute(
                select(func.count(SyncRow.id)).where(
                    SyncRow.run_id == run.id, SyncRow.applied.is_(True)
                )
            ).scalar_one()
        if applied >= total // 2 or child.poll() is not None:
            break
        time.sleep(0.02)
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    assert 0 < applied < total, (applied, total)
    # The killed worker's lease runs out; another worker takes the job over from its checkpoint.
    sync_app.extensions["idaas_clock"].advance(60)
    Worker(sync_app, run_deliveries=False, run_scheduler=False).drain()
    db.session.expire_all()
    finished = runs.get_run(run.id)
    job = db.session.get(Job, finished.job_id)
    assert job.status == "succeeded" and job.attempts == 2, (job.status, job.error)
    assert finished.status == "applied"
    assert directory_view(settings.system_of(conn)) == sandbox_view(sandbox)
    assert db.session.scalar(select(func.count(Account.id))) == len(sandbox.state.users)
    again = full_import(conn)
    assert again.total == 0
