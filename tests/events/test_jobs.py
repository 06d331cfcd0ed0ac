"""Jobs: progress, checkpoint and resume after kill -9, cancel, CLI and API."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

import tests.events.jobkinds  # noqa: F401  (registers test.squares)
from idaas.events import jobs
from idaas.events.worker import Worker
from tests.events import procs


def _job(app: Any, job_id: int) -> dict[str, Any]:
    from idaas.extensions import db

    with app.app_context():
        data = jobs.job_to_dict(jobs.get(job_id))
        db.session.remove()
        return data


def _wait(app: Any, job_id: int, predicate: Any, timeout: float = 30) -> dict[str, Any]:
    deadline = time.time() + timeout
    while time.time() < deadline:
        data = _job(app, job_id)
        if predicate(data):
            return data
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} never got there: {data}")


@pytest.mark.slow
def test_a_job_killed_half_way_resumes_from_its_checkpoint_with_the_same_result(
    make_app: Any, database_url: str, tmp_path: Path
) -> None:
    lease = 3  # short, so the test is quick; long enough that a live worker's beat keeps it
    app = make_app(EVENTS_JOB_LEASE_SECONDS=lease)
    n = 40
    with app.app_context():
        reference = jobs.start("test.squares", {"n": n, "log": str(tmp_path / "a.log")}).id
    Worker(app, run_deliveries=False, run_scheduler=False).drain()
    expected = _job(app, reference)
    assert expected["status"] == "succeeded"
    assert expected["result"] == {"sum": sum(i * i for i in range(n)), "items": n}

    log = tmp_path / "b.log"
    with app.app_context():
        job_id = jobs.start("test.squares", {"n": n, "delay": 0.05, "log": str(log)}).id
    env = procs.env_for(database_url, EVENTS_JOB_LEASE_SECONDS=lease)
    first = procs.spawn(env, "--no-scheduler", preload="tests.events.jobkinds")
    half = _wait(app, job_id, lambda d: d["progress"]["done"] >= n // 2)
    procs.kill9(first)
    assert half["status"] == "running" and half["checkpoint"]["next"] >= n // 2

    second = procs.spawn(env, "--no-scheduler", preload="tests.events.jobkinds")
    try:
        runner = app.test_cli_runner()
        waited = runner.invoke(args=["jobs", "wait", str(job_id), "--timeout", "30", "--json"])
    finally:
        procs.stop(second)
    assert waited.exit_code == 0, waited.output
    done = json.loads(waited.output)
    assert done["status"] == "succeeded" and done["attempts"] == 2
    assert done["result"] == expected["result"]
    assert done["progress"] == {**done["progress"], "total": n, "done": n}
    processed = [int(line) for line in log.read_text().split()]
    assert sorted(set(processed)) == list(range(n))
    assert len(processed) <= n + 1  # resumed: at most the item in flight ran twice


def test_cancel_stops_a_running_job_and_a_queued_one_at_once(make_app: Any, tmp_path: Path) -> None:
    app = make_app()
    with app.app_context():
        running = jobs.start("test.squares", {"n": 500, "delay": 0.02, "log": str(tmp_path / "l")})
        running_id = running.id
    worker = Worker(app, run_deliveries=False, run_scheduler=False).start()
    try:
        _wait(app, running_id, lambda d: d["progress"]["done"] >= 3)
        runner = app.test_cli_runner()
        result = runner.invoke(args=["jobs", "cancel", str(running_id), "--json"])
        assert result.exit_code == 0 and json.loads(result.output)["cancel_requested"]
        ended = _wait(app, running_id, lambda d: d["status"] == "cancelled", timeout=10)
        assert ended["progress"]["done"] < 500 and ended["finished_at"]
    finally:
        worker.stop()
    with app.app_context():
        queued_id = jobs.start("test.squares", {"n": 5, "log": str(tmp_path / "q")}).id
    runner = app.test_cli_runner()
    runner.invoke(args=["jobs", "cancel", str(queued_id)])
    assert _job(app, queued_id)["status"] == "cancelled"
    listed = json.loads(runner.invoke(args=["jobs", "list", "--json"]).output)
    assert {j["id"]: j["status"] for j in listed} == {
        running_id: "cancelled",
        queued_id: "cancelled",
    }
    waited = runner.invoke(args=["jobs", "wait", str(queued_id)])
    assert waited.exit_code == 1


def test_a_failing_handler_fails_the_job_with_its_error(make_app: Any) -> None:
    app = make_app()
    with app.app_context():
        job_id = jobs.start("test.squares", {"n": 2}).id  # no `log`: KeyError
    Worker(app, run_deliveries=False, run_scheduler=False).drain()
    data = _job(app, job_id)
    assert data["status"] == "failed" and data["error"].startswith("KeyError")


def test_unknown_job_kinds_are_refused(make_app: Any) -> None:
    app = make_app()
    result = app.test_cli_runner().invoke(args=["jobs", "start", "no.such.kind"])
    assert result.exit_code != 0 and "unknown job kind" in result.output
