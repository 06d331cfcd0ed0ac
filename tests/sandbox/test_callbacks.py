"""Event push from the sandbox to a verifying receiver (dingtalk-api.md §6.1-§6.5)."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from idaas.dingtalk import errors
from idaas.dingtalk.client import DingTalkClient
from idaas.dingtalk.crypto import generate_aes_key, normalise_event
from tests.sandbox.fixtures import LiveSandbox, Receiver

AES_KEY = "4g5j64qlyl3zvetqxz5jiocdr586fn2zvjpa8zls3ij"


def console(sandbox: LiveSandbox, receiver: Receiver, **extra: Any) -> dict[str, Any]:
    """Register the receiver console-style (owner key = AppKey) and expect its check_url."""
    app_key = sandbox.state.default_app.app_key
    receiver.expect("tok123", AES_KEY, app_key)
    sub = sandbox.post(
        "/callbacks", {"url": receiver.url, "token": "tok123", "aes_key": AES_KEY, **extra}
    )
    assert sub["owner_key"] == app_key and sub["mode"] == "console"
    return sub


def wait_status(sandbox: LiveSandbox, count: int, timeout: float = 10) -> list[dict[str, Any]]:
    """Wait until `count` deliveries are no longer pending."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done = [
            d
            for d in sandbox.get("/callbacks/deliveries")["deliveries"]
            if d["status"] != "pending"
        ]
        if len(done) >= count:
            return done
        time.sleep(0.05)
    raise AssertionError("deliveries still pending")


def test_console_subscription_gets_every_contact_event(
    live_sandbox: LiveSandbox, receiver: Receiver
) -> None:
    """Each control-API change fires its event, encrypted for the AppKey (§6.1 A, §6.5)."""
    console(live_sandbox, receiver)
    assert receiver.wait_for(1)[0] == {"EventType": "check_url"}
    dept = live_sandbox.post("/departments", {"name": "新部门", "parent_id": 1})["dept_id"]
    live_sandbox.control.patch(f"/departments/{dept}", json={"name": "改名部门"})
    user = live_sandbox.post(
        "/users", {"name": "新同事", "mobile": "13800000001", "dept_id_list": [dept]}
    )["userid"]
    live_sandbox.control.patch(f"/users/{user}", json={"title": "经理"})
    live_sandbox.control.delete(f"/users/{user}")
    live_sandbox.control.delete(f"/departments/{dept}")
    events = receiver.wait_for(7)[1:]
    assert [e["EventType"] for e in events] == [
        "org_dept_create",
        "org_dept_modify",
        "user_add_org",
        "user_modify_org",
        "user_leave_org",
        "org_dept_remove",
    ]
    assert events[0]["DeptId"] == [dept] and events[2]["UserId"] == [user]
    assert all(e["CorpId"] == live_sandbox.state.corp_id for e in events)
    assert isinstance(events[0]["TimeStamp"], int)


def test_replayed_and_tampered_pushes_are_refused(
    live_sandbox: LiveSandbox, receiver: Receiver, http: httpx.Client
) -> None:
    """A real sandbox push replayed, or with a tampered signature, is refused (§6.2, §6.3)."""
    console(live_sandbox, receiver)
    receiver.wait_for(1)
    query, body = receiver.queries[0], receiver.bodies[0]
    assert http.post(receiver.url, params=query, json=body).status_code == 400
    live_sandbox.post("/departments", {"name": "篡改部", "parent_id": 1})
    receiver.wait_for(2)
    query, body = receiver.queries[1], receiver.bodies[1]
    forged = {**query, "signature": "f" * 40, "msg_signature": "f" * 40, "nonce": "other"}
    assert http.post(receiver.url, params=forged, json=body).status_code == 400
    assert receiver.refusals == ["ReplayedCallback", "BadSignature"]
    assert len(receiver.events) == 2


def test_api_writes_fire_events_too(
    live_sandbox: LiveSandbox, receiver: Receiver, dingtalk: DingTalkClient
) -> None:
    """Writes through topapi (§5) fire the same events as the admin console."""
    console(live_sandbox, receiver, tags=["user_add_org"])
    created = dingtalk.create_user("接口用户", "13800000002", [1])
    events = receiver.wait_for(2)
    assert events[1] == {**events[1], "EventType": "user_add_org", "UserId": [created["userid"]]}


@pytest.mark.parametrize("param", ["both", "signature", "msg_signature"])
@pytest.mark.parametrize("casing", ["legacy", "current"])
def test_push_variants(
    live_sandbox: LiveSandbox, receiver: Receiver, param: str, casing: str
) -> None:
    """§6.2/§6.5 UNVERIFIED names and casings: the verifier accepts every variant."""
    live_sandbox.post(
        "/variants",
        {
            "push_signature_param": param,
            "event_casing": casing,
            "push_timestamp_unit": "s" if casing == "current" else "ms",
        },
    )
    console(live_sandbox, receiver)
    userid = next(iter(live_sandbox.state.users))
    live_sandbox.control.patch(f"/users/{userid}", json={"title": "总监"})
    event = receiver.wait_for(2)[1]
    query = receiver.queries[-1]
    assert ("signature" in query) is (param in ("both", "signature"))
    assert ("msg_signature" in query) is (param in ("both", "msg_signature"))
    assert len(query["timestamp"]) == (10 if casing == "current" else 13)
    assert normalise_event(event)["user_ids"] == [userid]
    assert ("userId" in event) is (casing == "current")
    assert ("UserId" in event) is (casing == "legacy")


def test_register_call_back_checks_url_with_corp_id(
    live_sandbox: LiveSandbox, receiver: Receiver, dingtalk: DingTalkClient
) -> None:
    """§6.1 B: owner key = corpId; check_url is answered before register_call_back returns."""
    receiver.expect("legacy-token", AES_KEY, live_sandbox.state.corp_id)
    dingtalk.register_callback(
        receiver.url, "legacy-token", AES_KEY, ["user_add_org", "user_leave_org"]
    )
    assert receiver.events == [{"EventType": "check_url"}]
    assert dingtalk.get_callback() == {
        "call_back_tag": ["user_add_org", "user_leave_org"],
        "token": "legacy-token",
        "aes_key": AES_KEY,
        "url": receiver.url,
    }
    with pytest.raises(errors.Conflict) as error:
        dingtalk.register_callback(receiver.url, "legacy-token", AES_KEY, ["user_add_org"])
    assert error.value.errcode == 71006
    dingtalk.create_user("回调测试", "13800000003", [1])
    assert receiver.wait_for(2)[1]["EventType"] == "user_add_org"
    dingtalk.update_callback(receiver.url, "legacy-token", AES_KEY, ["org_dept_create"])
    dingtalk.delete_callback()
    assert live_sandbox.get("/state")["callbacks"] == []


def test_register_refused_when_owner_key_differs(
    live_sandbox: LiveSandbox, receiver: Receiver, dingtalk: DingTalkClient
) -> None:
    """A receiver expecting the AppKey refuses a corp-level check_url -> registration fails."""
    receiver.expect("legacy-token", AES_KEY, live_sandbox.state.default_app.app_key)
    with pytest.raises(errors.CallbackRegistrationFailed) as error:
        dingtalk.register_callback(receiver.url, "legacy-token", AES_KEY, ["user_add_org"])
    assert "check_url" in str(error.value)
    assert receiver.refusals == ["OwnerKeyMismatch"]


def test_register_validates_token_and_key(dingtalk: DingTalkClient) -> None:
    """§6.1 B: token 6-63 characters, aes_key exactly 43 alphanumerics."""
    with pytest.raises(errors.InvalidParameter):
        dingtalk.register_callback("http://127.0.0.1:9/cb", "short", AES_KEY, ["user_add_org"])
    with pytest.raises(errors.InvalidParameter):
        dingtalk.register_callback("http://127.0.0.1:9/cb", "longtoken", "x" * 42, ["a"])


def test_failed_push_is_retried_until_success(
    live_sandbox: LiveSandbox, receiver: Receiver
) -> None:
    """An answer other than an encrypted success is retried (§6.2)."""
    console(live_sandbox, receiver)
    receiver.wait_for(1)
    receiver.fail_next = 1
    live_sandbox.post("/departments", {"name": "重试部", "parent_id": 1})
    delivery = wait_status(live_sandbox, 1)[0]
    assert delivery["status"] == "delivered" and len(delivery["attempts"]) == 2
    assert delivery["attempts"][0] == {"ok": False, "error": "HTTP 500"}


def test_wrong_answer_and_slow_answer_fail(
    live_sandbox: LiveSandbox, receiver: Receiver, dingtalk: DingTalkClient
) -> None:
    """Plain `success`, or an answer after 1.5 s, is a failure; failures are listed (§6.1 B)."""
    live_sandbox.post("/callbacks/settings", {"retry_delays": [0.1]})
    receiver.expect("legacy-token", AES_KEY, live_sandbox.state.corp_id)
    dingtalk.register_callback(receiver.url, "legacy-token", AES_KEY, ["org_dept_create"])
    receiver.answer = lambda verifier: {"errcode": 0, "errmsg": "success"}
    live_sandbox.post("/departments", {"name": "失败部", "parent_id": 1})
    first = wait_status(live_sandbox, 1)[0]
    assert first["status"] == "failed" and len(first["attempts"]) == 2
    assert "not an encrypted success" in first["attempts"][0]["error"]
    failed = dingtalk.failed_callbacks()
    assert failed["has_more"] is False
    assert failed["failed_list"][0]["call_back_tag"] == "org_dept_create"
    assert dingtalk.failed_callbacks()["failed_list"] == []
    receiver.answer = None
    receiver.delay = 1.6
    live_sandbox.post("/departments", {"name": "慢部门", "parent_id": 1})
    slow = wait_status(live_sandbox, 2)[1]
    assert slow["status"] == "failed"
    assert "1.5 s" in slow["attempts"][0]["error"]


def test_console_registration_requires_success(
    live_sandbox: LiveSandbox, receiver: Receiver
) -> None:
    """A console registration whose URL does not answer check_url is refused (§6.1 A)."""
    receiver.expect("tok123", generate_aes_key(), live_sandbox.state.default_app.app_key)
    answer = live_sandbox.control.post(
        "/callbacks", json={"url": receiver.url, "token": "tok123", "aes_key": AES_KEY}
    )
    assert answer.status_code == 422 and "check_url" in answer.json()["error"]


def test_dispatcher_closes_cleanly(http: httpx.Client) -> None:
    """Closing a sandbox that never pushed anything is a no-op."""
    from idaas.sandbox.dingtalk.state import Sandbox

    Sandbox().close()
