"""`idaas serve` on SQLite runs the worker as a thread of its gunicorn workers (the default)."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from tests.events.recorder import Recorder, serve
from tests.support import serving


@pytest.mark.slow
def test_idaas_serve_on_sqlite_delivers_with_its_embedded_worker(tmp_path: Any) -> None:
    rec = Recorder()
    with serve(rec) as receiver:
        hooks = [{"name": "hook", "url": receiver.url, "events": ["department.*"]}]
        env = serving.clean_env(tmp_path, IDAAS_EVENTS_WEBHOOKS=json.dumps(hooks))
        serving.init(env, "Embedded-Pass-1")
        with serving.serve(env, workers=2) as server:
            server.wait_for("/readyz")
            # A change committed by another process (the CLI): the embedded workers poll for it.
            made = serving.idaas(env, "departments", "create", "--name", "Embedded", "--json")
            assert made.returncode == 0, made.stderr
            rec.wait_for(lambda r: len(r.delivered()) == 1, timeout=20)
            time.sleep(1.5)  # both gunicorn workers had a chance: still exactly one delivery
    [hit] = rec.hits
    assert hit.body["type"] == "department.created" and hit.body["changes"]["name"] == "Embedded"
