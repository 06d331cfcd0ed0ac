"""With IDAAS_REDIS_URL set, sign-in throttling counters are shared by separate app processes."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid

import httpx
import pytest

from tests.conftest import CHEAP_ARGON2, free_port

SERVE = (
    "import sys; from werkzeug.serving import make_server; from idaas import create_app; "
    "make_server('127.0.0.1', int(sys.argv[1]), create_app(), threaded=True).serve_forever()"
)


@pytest.fixture
def other_process(redis_url, database_url, instance_dir):
    """A second idaas process on loopback sharing the database and Redis; yields (url, prefix)."""
    prefix = f"test-{uuid.uuid4().hex[:8]}"
    port = free_port()
    env = {
        **os.environ,
        "IDAAS_ENV": "testing",
        "IDAAS_INSTANCE_PATH": str(instance_dir),
        "IDAAS_DATABASE_URL": database_url,
        "IDAAS_REDIS_URL": redis_url,
        "IDAAS_RATELIMIT_KEY_PREFIX": prefix,
        "IDAAS_LOGIN_RATE_LIMIT_IP": "4/minute",
        "IDAAS_LOCKOUT_THRESHOLD": "0",
        "IDAAS_WTF_CSRF_ENABLED": "false",
        **{f"IDAAS_{key}": str(value) for key, value in CHEAP_ARGON2.items()},
    }
    log = instance_dir / "other-process.log"
    with log.open("wb") as output:  # a file, not a pipe: a full pipe would stall the server
        process = subprocess.Popen(
            [sys.executable, "-c", SERVE, str(port)], env=env, stdout=output, stderr=output
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60  # a loaded CI machine imports slowly
        while True:
            try:
                httpx.get(f"{url}/login", timeout=1)
                break
            except httpx.TransportError:
                if process.poll() is not None or time.monotonic() > deadline:
                    process.kill()
                    process.wait(timeout=10)
                    raise RuntimeError(log.read_text() or "server did not start") from None
                time.sleep(0.1)
        yield url, prefix
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_throttling_is_shared_between_two_app_processes(make_app, redis_url, other_process):
    url, prefix = other_process
    app = make_app(
        REDIS_URL=redis_url,
        RATELIMIT_STORAGE_URI=redis_url,
        RATELIMIT_KEY_PREFIX=prefix,
        LOGIN_RATE_LIMIT_IP="4/minute",
        LOCKOUT_THRESHOLD=0,
    )
    here = app.test_client()
    form = {"identifier": "nobody", "password": "Wrong-Password-1"}

    def local():
        return here.post("/login", data=form, environ_base={"REMOTE_ADDR": "127.0.0.1"})

    with httpx.Client(base_url=url, timeout=10) as there:
        assert local().status_code == 200
        assert there.post("/login", data=form).status_code == 200
        assert local().status_code == 200
        assert there.post("/login", data=form).status_code == 200
        # four attempts from 127.0.0.1 in total, split over two processes: the limit is reached
        assert there.post("/login", data=form).status_code == 429
        assert local().status_code == 429
