"""Stream mode on the wire (dingtalk-api.md §6.6): connections/open, frames, acks, SYSTEM topics.

A raw `websockets` client talks to the sandbox over loopback, so every frame shape is checked as
sent; `tests/dingtalk/test_stream.py` drives idaas's own consumer.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect

from tests.sandbox.fixtures import LiveSandbox, start_sandbox

EVENT_HEADERS = {
    "appId",
    "connectionId",
    "contentType",
    "messageId",
    "time",
    "topic",
    "eventType",
    "eventId",
    "eventBornTime",
    "eventCorpId",
    "eventUnifiedAppId",
}


@pytest.fixture
def sandbox() -> Iterator[LiveSandbox]:
    """A small corp; Stream settings at their defaults (5 s ack deadline, 3 sends)."""
    yield from start_sandbox(departments=2, users=5)


def open_body(sandbox: LiveSandbox, **override: Any) -> dict[str, Any]:
    """A §6.6 step 1 body for the sandbox's default app."""
    app = sandbox.state.default_app
    return {
        "clientId": app.app_key,
        "clientSecret": app.app_secret,
        "subscriptions": [{"type": "EVENT", "topic": "*"}],
        "ua": "test/1.0",
        "localIp": "127.0.0.1",
        **override,
    }


def open_ticket(sandbox: LiveSandbox, http: httpx.Client) -> dict[str, str]:
    """POST connections/open and return {endpoint, ticket}."""
    response = http.post(sandbox.url + "/v1.0/gateway/connections/open", json=open_body(sandbox))
    assert response.status_code == 200, response.text
    return dict(response.json())


def ws_connect(opened: dict[str, str]) -> ClientConnection:
    """Connect to `{endpoint}?ticket=` (§6.6 step 2)."""
    return connect(f"{opened['endpoint']}?ticket={opened['ticket']}", proxy=None, open_timeout=5)


def recv(ws: ClientConnection, timeout: float = 5) -> dict[str, Any]:
    """The next frame as a dict."""
    return dict(json.loads(ws.recv(timeout=timeout)))


def registered(ws: ClientConnection) -> str:
    """Read CONNECTED then REGISTERED; return the connection id."""
    topics = []
    for _ in range(2):
        frame = recv(ws)
        assert frame["specVersion"] == "1.0" and frame["type"] == "SYSTEM"
        topics.append(frame["headers"]["topic"])
    assert topics == ["CONNECTED", "REGISTERED"]
    return str(frame["headers"]["connectionId"])


def ack(frame: dict[str, Any], status: str = "SUCCESS") -> str:
    """The §6.6 step 4 ack of a frame."""
    return json.dumps(
        {
            "code": 200,
            "headers": {
                "contentType": "application/json",
                "messageId": frame["headers"]["messageId"],
            },
            "message": "OK",
            "data": json.dumps({"status": status}),
        }
    )


def wait_stream(sandbox: LiveSandbox, check: Any, timeout: float = 5) -> dict[str, Any]:
    """Poll GET /_sandbox/stream until `check(state)` holds (the ack travels asynchronously)."""
    deadline = time.monotonic() + timeout
    while True:
        state = sandbox.get("/stream")
        if check(state) or time.monotonic() > deadline:
            return dict(state)
        time.sleep(0.02)


def test_open_refuses_bad_credentials_and_bodies(sandbox: LiveSandbox, http: httpx.Client) -> None:
    """§6.6/§8.2: a wrong secret is 400 invalidClientIdOrSecret; no subscriptions or a form body
    is 400 MissingParameter; each with {code, message, requestid}."""
    url = sandbox.url + "/v1.0/gateway/connections/open"
    wrong = http.post(url, json=open_body(sandbox, clientSecret="nope"))
    assert wrong.status_code == 400
    body = wrong.json()
    assert body["code"] == "invalidClientIdOrSecret" and body["message"] and body["requestid"]
    assert wrong.headers["x-acs-request-id"] == body["requestid"]
    empty = http.post(url, json=open_body(sandbox, subscriptions=[]))
    assert (empty.status_code, empty.json()["code"]) == (400, "MissingParameter")
    form = http.post(url, data={"clientId": "x"})
    assert (form.status_code, form.json()["code"]) == (400, "MissingParameter")


def test_ticket_is_single_use(sandbox: LiveSandbox, http: httpx.Client) -> None:
    """§6.6 steps 1-2: a ws:// endpoint on the sandbox; the ticket connects once, then 401."""
    opened = open_ticket(sandbox, http)
    assert opened["endpoint"] == sandbox.url.replace("http://", "ws://") + "/connect"
    with ws_connect(opened) as ws:
        registered(ws)
        with pytest.raises(InvalidStatus) as refused:
            ws_connect(opened)
    assert refused.value.response.status_code == 401
    body = json.loads(refused.value.response.body or b"{}")
    assert body["code"] == "invalidTicket" and body["requestid"]


def test_event_frame_shape_and_ack(sandbox: LiveSandbox, http: httpx.Client) -> None:
    """§6.5/§6.6: a contact change arrives as an EVENT frame; a SUCCESS ack settles it."""
    userid = next(iter(sandbox.state.users))
    app_key = sandbox.state.default_app.app_key
    with ws_connect(open_ticket(sandbox, http)) as ws:
        connection_id = registered(ws)
        sandbox.control.patch(f"/users/{userid}", json={"title": "架构师"}).raise_for_status()
        frame = recv(ws)
        assert frame["specVersion"] == "1.0" and frame["type"] == "EVENT"
        headers = frame["headers"]
        assert set(headers) == EVENT_HEADERS
        assert headers["eventType"] == headers["topic"] == "user_modify_org"
        assert headers["eventCorpId"] == sandbox.state.corp_id
        assert headers["appId"] == headers["eventUnifiedAppId"] == app_key
        assert headers["connectionId"] == connection_id
        assert headers["contentType"] == "application/json"
        assert headers["eventBornTime"].isdigit() and headers["time"].isdigit()
        data = json.loads(frame["data"])
        assert data["userId"] == [userid] and data["timeStamp"].isdigit()
        ws.send(ack(frame))
        state = wait_stream(sandbox, lambda s: s["deliveries"]["acked"] == 1)
        assert state["deliveries"] == {"pending": 0, "acked": 1, "failed": 0}
        (event,) = state["events"]
        assert event["message_id"] == headers["messageId"] and len(event["attempts"]) == 1
        assert event["acks"] == [{"connection": connection_id, "code": 200, "status": "SUCCESS"}]
        dept = sandbox.post("/departments", {"name": "流式部", "parent_id": 1})
        frame = recv(ws)
        assert frame["headers"]["eventType"] == "org_dept_create"
        assert json.loads(frame["data"])["deptId"] == [dept["dept_id"]]
        ws.send(ack(frame))
        summary = sandbox.get("/state")["stream"]
        assert [c["id"] for c in summary["connections"]] == [connection_id]


def test_later_and_unacked_events_are_redelivered(sandbox: LiveSandbox, http: httpx.Client) -> None:
    """§6.6 step 4: LATER, or no ack in time, sends the same event again; after max_tries
    sends without an ack it is failed."""
    with ws_connect(open_ticket(sandbox, http)) as ws:
        registered(ws)
        created = sandbox.post("/users", {"name": "流", "mobile": "13900001111"})
        first = recv(ws)
        ws.send(ack(first, "LATER"))
        again = recv(ws)
        assert again["headers"]["messageId"] == first["headers"]["messageId"]
        assert again["headers"]["eventId"] == first["headers"]["eventId"]
        assert json.loads(again["data"])["userId"] == [created["userid"]]
        ws.send(ack(again))
        state = wait_stream(sandbox, lambda s: s["deliveries"]["acked"] == 1)
        (event,) = state["events"]
        assert event["status"] == "acked" and len(event["attempts"]) == 2
        assert [a["status"] for a in event["acks"]] == ["LATER", "SUCCESS"]

        sandbox.post("/stream/settings", {"ack_timeout": 0.2, "max_tries": 2})
        sandbox.control.delete(f"/users/{created['userid']}").raise_for_status()
        ignored = [recv(ws), recv(ws)]  # never acked: sent again after 0.2 s, then given up
        assert {f["headers"]["eventType"] for f in ignored} == {"user_leave_org"}
        assert ignored[0]["headers"]["messageId"] == ignored[1]["headers"]["messageId"]
        state = wait_stream(sandbox, lambda s: s["deliveries"]["failed"] == 1)
        assert state["deliveries"] == {"pending": 0, "acked": 1, "failed": 1}
        assert len(state["events"][1]["attempts"]) == 2


def test_ping_must_be_echoed(sandbox: LiveSandbox, http: httpx.Client) -> None:
    """§6.6 step 5: a SYSTEM ping; the echo (same headers and data) counts as a pong."""
    with ws_connect(open_ticket(sandbox, http)) as ws:
        connection_id = registered(ws)
        pinged = sandbox.post("/stream/ping", {})["pinged"]
        frame = recv(ws)
        assert frame["type"] == "SYSTEM" and frame["headers"]["topic"] == "ping"
        assert pinged == {connection_id: frame["headers"]["messageId"]}
        assert "opaque" in json.loads(frame["data"])
        echo = {"code": 200, "headers": frame["headers"], "message": "OK", "data": frame["data"]}
        ws.send(json.dumps(echo))
        state = wait_stream(sandbox, lambda s: s["connections"][0]["pongs"] == 1)
        assert state["connections"][0]["pings_sent"] == 1


def test_disconnect_frame_then_close(sandbox: LiveSandbox, http: httpx.Client) -> None:
    """§6.6 step 5: `disconnect` carries the documented reason and the socket then closes."""
    with ws_connect(open_ticket(sandbox, http)) as ws:
        connection_id = registered(ws)
        assert sandbox.post("/stream/disconnect", {}) == {"disconnected": [connection_id]}
        frame = recv(ws)
        assert frame["type"] == "SYSTEM" and frame["headers"]["topic"] == "disconnect"
        assert json.loads(frame["data"]) == {"reason": "persistent connection is timeout"}
        with pytest.raises(ConnectionClosed):
            ws.recv(timeout=5)
    (conn,) = sandbox.get("/stream")["connections"]
    assert conn["closed"] and conn["close_reason"].startswith("disconnect")
    missing = sandbox.control.post("/stream/ping", json={"connection": connection_id})
    assert missing.status_code == 404
