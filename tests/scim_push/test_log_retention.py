"""The per-target delivery log is pruned by the housekeeping job after its retention."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import time_machine
from sqlalchemy import func, select

from idaas.directory import service
from idaas.events import jobs
from idaas.events.worker import Worker
from idaas.extensions import db
from idaas.scim.push.models import ProvisioningLog
from tests.scim_push.conftest import FAST, drain, make_application, push_to

START = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


def _prune(app: Any) -> int:
    job_id = jobs.start("housekeeping.prune").id
    Worker(app, run_deliveries=False, run_scheduler=False).drain()
    job = jobs.get(job_id)
    assert job.status == "succeeded", job.error
    return int((job.result or {})["provisioning_log"])


def _logged() -> list[str]:
    rows = db.session.execute(
        select(ProvisioningLog.object_type, ProvisioningLog.object_id).order_by(ProvisioningLog.id)
    )
    return [f"{kind}:{object_id}" for kind, object_id in rows]


def test_log_entries_older_than_the_retention_are_pruned(make_app: Any, target: Any) -> None:
    app = make_app(PROVISIONING_LOG_RETENTION_DAYS=30, **FAST)
    with app.app_context():
        with time_machine.travel(START):
            application = make_application()
            push_to(application, target.url)
            old = service.create_account("admin:1", username="old")
            drain(app)
        with time_machine.travel(START + timedelta(days=20)):
            recent = service.create_account("admin:1", username="recent")
            drain(app)
        logged = _logged()
        assert f"account:{old.id}" in logged and f"account:{recent.id}" in logged
        total = len(logged)

        with time_machine.travel(START + timedelta(days=29, hours=23)):
            assert _prune(app) == 0  # nothing is 30 days old yet
        with time_machine.travel(START + timedelta(days=30, minutes=5)):
            pruned = _prune(app)
        db.session.expire_all()
        logged = _logged()
        assert pruned == total - len(logged) > 0
        assert logged and all(entry == f"account:{recent.id}" for entry in logged)
        with time_machine.travel(START + timedelta(days=51)):
            _prune(app)
        assert db.session.scalar(select(func.count()).select_from(ProvisioningLog)) == 0
