"""Shared replay stores: a replay sent to a second process is refused (Redis and database)."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import httpx
import pytest

from idaas.dingtalk.crypto import CallbackCrypto, generate_aes_key
from tests.events import procs


@pytest.fixture(params=["database", "redis"])
def backend(request: pytest.FixtureRequest) -> dict[str, Any]:
    """Settings for the replay store under test."""
    if request.param == "redis":
        return {"REDIS_URL": request.getfixturevalue("redis_url")}
    return {}


def _server(env: dict[str, str], token: str, aes_key: str, owner: str) -> tuple[Any, str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.events.callback_server", token, aes_key, owner],
        env=env,
        cwd=procs.ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    assert process.stdout is not None
    port = int(process.stdout.readline())
    return process, f"http://127.0.0.1:{port}/"


def _post(url: str, envelope: dict[str, str]) -> httpx.Response:
    query = {k: envelope[k] for k in ("msg_signature", "nonce")}
    query["timestamp"] = envelope["timeStamp"]
    return httpx.post(url, params=query, json={"encrypt": envelope["encrypt"]}, timeout=10)


def test_a_callback_replayed_to_a_second_process_is_refused(
    make_app: Any, database_url: str, backend: dict[str, Any]
) -> None:
    make_app(**backend)  # the schema, emptied afterwards
    token, aes_key, owner = "tok-123", generate_aes_key(), "ding-corp"
    crypto = CallbackCrypto(token, aes_key, owner)
    env = procs.env_for(database_url, **backend)
    if "REDIS_URL" in backend:
        env["IDAAS_REDIS_URL"] = backend["REDIS_URL"]
    first, first_url = _server(env, token, aes_key, owner)
    second, second_url = _server(env, token, aes_key, owner)
    try:
        envelope = crypto.seal(json.dumps({"EventType": "user_add_org", "UserId": ["u1"]}))
        accepted = _post(first_url, envelope)
        assert accepted.status_code == 200, accepted.text
        assert accepted.json()["event"]["EventType"] == "user_add_org"
        replayed = _post(second_url, envelope)
        assert replayed.status_code == 403 and replayed.json() == {"code": 900003}
        fresh = crypto.seal(json.dumps({"EventType": "user_leave_org", "UserId": ["u1"]}))
        assert _post(second_url, fresh).status_code == 200
        assert _post(first_url, fresh).status_code == 403
    finally:
        for process in (first, second):
            process.kill()
            process.wait(timeout=10)
            assert process.stdout is not None
            process.stdout.close()


def test_database_store_reuses_expired_entries_and_counts_once(make_app: Any) -> None:
    from idaas import replay
    from idaas.extensions import utcnow

    app = make_app()
    with app.app_context():
        from idaas.extensions import db

        with db.engine.begin() as connection:
            assert replay.record(connection, "t", "v", 60, utcnow())
            assert not replay.record(connection, "t", "v", 60, utcnow())
            from datetime import timedelta

            later = utcnow() + timedelta(seconds=61)  # controlled clock: after the TTL
            assert replay.record(connection, "t", "v", 60, later)
            assert not replay.record(connection, "t", "v", 60, later)


def test_an_oidc_nonce_is_refused_by_another_app_after_its_code_is_pruned(
    make_app: Any, backend: dict[str, Any]
) -> None:
    """The nonce outlives the code row: pruning codes does not reopen the nonce."""
    from sqlalchemy import delete

    from idaas import replay
    from idaas.oidc.models import AuthorizationCode

    one, two = make_app(**backend), make_app(**backend)
    with one.app_context():
        from idaas.directory import service
        from idaas.extensions import db, utcnow

        account = service.create_account(
            "system", username="nonce-user", display_name="N", password="Correct-Horse-42"
        )
        code = AuthorizationCode(
            code_hash="h" * 64,
            client_id="client-1",
            account_id=account.id,
            redirect_uri="https://rp.example.com/cb",
            scope="openid",
            nonce="n-0123456789",
            auth_time=0,
            expires_at=utcnow(),
        )
        db.session.add(code)
        db.session.commit()
        db.session.execute(delete(AuthorizationCode))
        db.session.commit()
    with two.app_context():
        from idaas.oidc.service import nonce_used

        assert replay.nonce_seen("client-1", "n-0123456789")
        assert nonce_used("client-1", "n-0123456789")
        assert not nonce_used("client-2", "n-0123456789")
