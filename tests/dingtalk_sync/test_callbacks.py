"""HTTP callbacks from the sandbox over real HTTP: every §6.5 event, both casings, refusals."""

from __future__ import annotations

import base64
import hashlib
import json
import struct
import time
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from sqlalchemy import func, select

from idaas.audit.models import AuditEvent
from idaas.dingtalk.crypto import CallbackCrypto
from idaas.dingtalk.sync import settings
from idaas.dingtalk.sync.models import SyncEvent
from idaas.directory.models import Account
from idaas.events.models import ChangeEvent
from idaas.extensions import db
from tests.dingtalk_sync.support import (
    EVENT_TYPES,
    directory_view,
    every_change,
    full_import,
    sandbox_view,
)


def _register(sandbox: Any, conn: Any, url: str, leak_guard: Any) -> Any:
    row = settings.get(conn)
    leak_guard.register(settings.aes_key(row))
    sandbox.post(
        "/callbacks",
        {
            "url": f"{url}/callbacks/dingtalk/{conn.name}",
            "token": row.callback_token,
            "aes_key": settings.aes_key(row),
        },
    )
    return row


def _wait(condition: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        db.session.expire_all()
        db.session.rollback()
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def _settled(sandbox: Any) -> bool:
    pending = db.session.scalar(
        select(func.count(SyncEvent.id)).where(SyncEvent.status == "pending")
    )
    deliveries = sandbox.get("/callbacks/deliveries")["deliveries"]
    return pending == 0 and all(d["status"] != "pending" for d in deliveries)


@pytest.mark.parametrize("casing", ["legacy", "current"])
def test_every_event_type_is_applied_over_http(
    sandbox: Any, conn: Any, idaas_url: str, leak_guard: Any, casing: str
) -> None:
    full_import(conn)
    sandbox.post("/variants", {"event_casing": casing})
    _register(sandbox, conn, idaas_url, leak_guard)
    leaver = every_change(sandbox)
    _wait(lambda: _settled(sandbox))
    view = directory_view(settings.system_of(conn))
    expected = sandbox_view(sandbox)
    expected["people"][leaver] = {**view["people"][leaver], "status": "disabled"}
    assert view == expected
    types = set(db.session.scalars(select(SyncEvent.event_type)))
    assert EVENT_TYPES <= types
    assert db.session.scalar(select(func.count()).where(SyncEvent.error.isnot(None))) == 0


def _decrypt_independently(aes_key: str, encrypted: str, owner: str) -> str:
    """§6.3 with `cryptography` directly, not idaas's crypto module."""
    key = base64.b64decode(aes_key + "=")
    decryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).decryptor()
    plain = decryptor.update(base64.b64decode(encrypted)) + decryptor.finalize()
    plain = plain[: -plain[-1]]
    length = struct.unpack(">I", plain[16:20])[0]
    assert plain[20 + length :].decode() == owner
    return plain[20 : 20 + length].decode()


def _push(
    url: str, crypto: CallbackCrypto, payload: dict[str, Any], **override: Any
) -> httpx.Response:
    timestamp = override.pop("timestamp", str(int(time.time() * 1000)))
    nonce = override.pop("nonce", "n" + str(time.time_ns()))
    encrypted = crypto.encrypt(json.dumps(payload))
    signature = override.pop("signature", crypto.signature(timestamp, nonce, encrypted))
    with httpx.Client(trust_env=False, timeout=10) as http:
        return http.post(
            url,
            params={"msg_signature": signature, "timestamp": timestamp, "nonce": nonce},
            json={"encrypt": encrypted},
        )


def test_answer_decrypts_independently_and_bad_pushes_are_refused_audited_and_change_nothing(
    sandbox: Any, conn: Any, idaas_url: str, leak_guard: Any
) -> None:
    full_import(conn)
    row = settings.get(conn)
    aes_key = settings.aes_key(row)
    leak_guard.register(aes_key)
    url = f"{idaas_url}/callbacks/dingtalk/{conn.name}"
    good = CallbackCrypto(row.callback_token, aes_key, conn.app_key)
    started = time.monotonic()
    answer = _push(url, good, {"EventType": "check_url"})
    assert time.monotonic() - started < 1.5
    assert answer.status_code == 200
    body = answer.json()
    assert _decrypt_independently(aes_key, body["encrypt"], conn.app_key) == "success"
    expected = hashlib.sha1(
        "".join(
            sorted([row.callback_token, body["timeStamp"], body["nonce"], body["encrypt"]])
        ).encode()
    ).hexdigest()
    assert body["msg_signature"] == expected

    victim = sorted(sandbox.state.users)[3]
    leave = {"EventType": "user_leave_org", "UserId": [victim], "CorpId": conn.corp_id}
    changes_before = db.session.scalar(select(func.count(ChangeEvent.id)))
    wrong_owner = CallbackCrypto(row.callback_token, aes_key, "someone-else")
    stale = str(int((time.time() - 3600) * 1000))
    refusals = [
        _push(url, good, leave, signature="0" * 40),
        _push(url, wrong_owner, leave),
        _push(url, good, leave, timestamp=stale),
    ]
    replay_ts, replay_nonce = str(int(time.time() * 1000)), "replay-nonce"
    first = _push(url, good, {"EventType": "org_change"}, timestamp=replay_ts, nonce=replay_nonce)
    assert first.status_code == 200
    refusals.append(_push(url, good, leave, timestamp=replay_ts, nonce=replay_nonce))
    assert [r.status_code for r in refusals] == [403, 403, 403, 403]
    time.sleep(0.3)
    db.session.expire_all()
    account = db.session.scalar(select(Account).where(Account.username == victim))
    assert account is not None and account.status == "active"
    assert db.session.scalar(select(func.count(ChangeEvent.id))) == changes_before
    reasons = [
        a.details["reason"]
        for a in db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "dingtalk.callback_refused")
        )
    ]
    assert sorted(reasons) == sorted(
        ["BadSignature", "OwnerKeyMismatch", "StaleTimestamp", "ReplayedCallback"]
    )
