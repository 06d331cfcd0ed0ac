"""`/api/v1/deliveries`, `/api/v1/jobs` (scopes, replay, cancel) and the engine's metrics."""

from __future__ import annotations

from typing import Any

import tests.events.jobkinds  # noqa: F401
from idaas.directory import service
from idaas.events.worker import Worker
from tests.api.conftest import api_as  # noqa: F401
from tests.events.conftest import FAST_RETRIES, hook


def test_deliveries_api_lists_inspects_and_replays_dead_letters(
    make_app: Any,
    recorder: Any,
    api_as: Any,  # noqa: F811
) -> None:
    rec, url = recorder
    rec.answer = lambda request, n: (410, {}, 0.0) if n == 0 else (200, {}, 0.0)
    from flask import current_app

    current_app.config.update(EVENTS_WEBHOOKS=hook(url), **FAST_RETRIES)
    service.create_department("admin:1", name="Dead")
    Worker(current_app._get_current_object()).drain()  # type: ignore[attr-defined]

    assert api_as("directory:read")("GET", "/deliveries").status_code == 403
    api = api_as("deliveries:admin")
    listed = api("GET", "/deliveries?status=dead").get_json()["items"]
    assert [(d["status"], d["last_status"]) for d in listed] == [("dead", 410)]
    one = api("GET", f"/deliveries/{listed[0]['id']}").get_json()
    assert one["uid"] == listed[0]["uid"] and one["last_error"].startswith("PermanentFailure")
    assert api("GET", "/deliveries/999999").status_code == 404
    assert api("GET", "/deliveries?status=bogus").status_code == 400

    replayed = api("POST", f"/deliveries/{one['id']}/replay")
    assert replayed.status_code == 200 and replayed.get_json()["status"] == "pending"
    assert api("POST", f"/deliveries/{one['id']}/replay").status_code == 409
    Worker(current_app._get_current_object()).drain()  # type: ignore[attr-defined]
    assert [h.delivery for h in rec.delivered()] == [one["uid"]]
    assert api("GET", f"/deliveries/{one['id']}").get_json()["status"] == "delivered"


def test_jobs_api_starts_shows_and_cancels(app: Any, api_as: Any, tmp_path: Any) -> None:  # noqa: F811
    assert api_as("deliveries:admin")("GET", "/jobs").status_code == 403
    api = api_as("jobs:admin")
    bad = api("POST", "/jobs", json={"kind": "no.such"})
    assert bad.status_code == 422 and "kind" in bad.get_json()["fields"]
    created = api(
        "POST",
        "/jobs",
        json={"kind": "test.squares", "params": {"n": 3, "log": str(tmp_path / "l")}},
    )
    assert created.status_code == 201, created.get_json()
    job = created.get_json()
    assert created.headers["Location"].endswith(f"/api/v1/jobs/{job['id']}")
    Worker(app, run_deliveries=False, run_scheduler=False).drain()
    done = api("GET", f"/jobs/{job['id']}").get_json()
    assert done["status"] == "succeeded" and done["result"] == {"sum": 5, "items": 3}
    assert done["progress"] == {
        "total": 3,
        "done": 3,
        "failed": 0,
        "step": "squares",
        "message": "summing",
    }
    queued = api("POST", "/jobs", json={"kind": "test.squares", "params": {"n": 3}}).get_json()
    cancelled = api("POST", f"/jobs/{queued['id']}/cancel").get_json()
    assert cancelled["status"] == "cancelled"
    assert [j["status"] for j in api("GET", "/jobs").get_json()["items"]] == [
        "cancelled",
        "succeeded",
    ]
    assert api("GET", "/jobs/424242").status_code == 404


def test_openapi_describes_the_engine_operations(client: Any) -> None:
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    for path in (
        "/api/v1/deliveries",
        "/api/v1/deliveries/{delivery_id}/replay",
        "/api/v1/jobs",
        "/api/v1/jobs/{job_id}/cancel",
    ):
        assert path in paths, sorted(paths)


def test_metrics_report_pending_lag_outcomes_dead_letters_and_jobs(
    make_app: Any, recorder: Any
) -> None:
    rec, url = recorder
    rec.answer = lambda request, n: (400, {}, 0.0) if n == 0 else (200, {}, 0.0)
    app = make_app(EVENTS_WEBHOOKS=hook(url), **FAST_RETRIES)
    with app.app_context():
        service.create_department("admin:1", name="One")
        app.extensions["idaas_clock"].advance(30)
        text = app.test_client().get("/metrics").get_data(as_text=True)
        assert "idaas_deliveries_pending 1.0" in text
        lag = float(text.split("\nidaas_deliveries_oldest_pending_seconds ")[1].split()[0])
        assert 29 <= lag <= 60
        Worker(app).drain()
        service.create_department("admin:1", name="Two")
        Worker(app).drain()
        from idaas.events import jobs

        jobs.start("test.squares", {"n": 1})
        text = app.test_client().get("/metrics").get_data(as_text=True)
    assert "idaas_deliveries_dead 1.0" in text and "idaas_deliveries_pending 0.0" in text
    assert 'idaas_deliveries{status="delivered",target_type="webhook"} 1.0' in text
    assert 'idaas_delivery_attempts_total{outcome="dead",target_type="webhook"} 1.0' in text
    assert 'idaas_delivery_attempts_total{outcome="delivered",target_type="webhook"} 1.0' in text
    assert 'idaas_jobs{kind="test.squares",status="queued"} 1.0' in text
