"""`idaas serve` runs the production server (gunicorn) on the configured database."""

import httpx

from tests.support.serving import clean_env, init, serve


def test_serve_runs_gunicorn_workers(tmp_path):
    env = clean_env(tmp_path)
    init(env, "Serve-Boss-Pass-1")
    with serve(env, workers=2) as server:
        ready = server.wait_for("/readyz")
        assert ready is not None and ready.status_code == 200, "gunicorn did not answer"
        statuses = {httpx.get(f"{server.url}/healthz").status_code for _ in range(12)}
        assert statuses == {200}
        metrics = httpx.get(f"{server.url}/metrics").text
        # Both workers' counts add up (Prometheus multiprocess mode).
        assert 'endpoint="ops.healthz",method="GET",status="200"} 12.0' in metrics
    assert "Booting worker" in server.output
    assert "Serve-Boss-Pass-1" not in server.output
