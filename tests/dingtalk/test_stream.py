"""idaas's Stream consumer against the live sandbox over loopback (dingtalk-api.md §6.6)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from idaas.dingtalk.client import DingTalkApp, DingTalkClient
from idaas.dingtalk.crypto import normalise_event
from idaas.dingtalk.errors import InvalidCredentials
from idaas.dingtalk.stream import StreamConsumer, StreamEvent
from tests.sandbox.fixtures import LiveSandbox, start_sandbox


class Inbox:
    """Collects handled events; `wait(n)` blocks until n have arrived."""

    def __init__(self, fail_first: int = 0) -> None:
        self.events: list[StreamEvent] = []
        self.fail_first = fail_first
        self.calls = 0
        self.cv = threading.Condition()

    def __call__(self, event: StreamEvent) -> None:
        with self.cv:
            self.calls += 1
            if self.calls <= self.fail_first:
                raise RuntimeError("not ready yet")
            self.events.append(event)
            self.cv.notify_all()

    def wait(self, count: int, timeout: float = 5) -> list[StreamEvent]:
        with self.cv:
            assert self.cv.wait_for(lambda: len(self.events) >= count, timeout), self.events
            return list(self.events)


@pytest.fixture
def sandbox() -> Iterator[LiveSandbox]:
    """A small corp; Stream settings at their defaults (5 s ack deadline, LATER resent at once)."""
    yield from start_sandbox(departments=2, users=5)


@pytest.fixture
def consume(
    sandbox: LiveSandbox, http: httpx.Client
) -> Iterator[Callable[[Inbox], StreamConsumer]]:
    """Start consumers for the sandbox's default app; all are stopped after the test."""
    started: list[StreamConsumer] = []

    def start(inbox: Inbox) -> StreamConsumer:
        consumer = StreamConsumer(sandbox.client(http), inbox, retry_delay=0.05).start()
        started.append(consumer)
        assert consumer.wait_connected(1)
        return consumer

    yield start
    for consumer in started:
        consumer.stop()


def wait_stream(sandbox: LiveSandbox, check: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    """Poll GET /_sandbox/stream until `check` holds (acks travel after the handler returns)."""
    deadline = time.monotonic() + 5
    while True:
        state = dict(sandbox.get("/stream"))
        if check(state) or time.monotonic() > deadline:
            return state
        time.sleep(0.02)


def test_event_is_received_and_acked(
    sandbox: LiveSandbox, consume: Callable[[Inbox], StreamConsumer]
) -> None:
    """A user change reaches the handler as a StreamEvent, then is acked SUCCESS."""
    inbox = Inbox()
    consumer = consume(inbox)
    userid = next(iter(sandbox.state.users))
    sandbox.control.patch(f"/users/{userid}", json={"title": "工程师"}).raise_for_status()
    (event,) = inbox.wait(1)
    assert event.event_type == "user_modify_org" and event.corp_id == sandbox.state.corp_id
    assert event.event_id and event.born_ms and event.headers["connectionId"]
    assert event.headers["connectionId"] == consumer.connection_id
    normal = normalise_event(event.payload())
    assert normal["event_type"] == "user_modify_org" and normal["user_ids"] == [userid]
    assert normal["corp_id"] == sandbox.state.corp_id and normal["timestamp"]
    state = wait_stream(sandbox, lambda s: s["deliveries"]["acked"] == 1)
    assert state["deliveries"] == {"pending": 0, "acked": 1, "failed": 0}


def test_failing_handler_acks_later_and_gets_the_event_again(
    sandbox: LiveSandbox, consume: Callable[[Inbox], StreamConsumer]
) -> None:
    """A handler that raises makes the consumer ack LATER; the redelivery then succeeds."""
    inbox = Inbox(fail_first=1)
    consume(inbox)
    dept = sandbox.post("/departments", {"name": "重试部", "parent_id": 1})
    (event,) = inbox.wait(1)
    assert normalise_event(event.payload())["dept_ids"] == [dept["dept_id"]]
    state = wait_stream(sandbox, lambda s: s["deliveries"]["acked"] == 1)
    (delivery,) = state["events"]
    assert [a["status"] for a in delivery["acks"]] == ["LATER", "SUCCESS"]
    assert inbox.calls == 2


def test_ping_is_answered(sandbox: LiveSandbox, consume: Callable[[Inbox], StreamConsumer]) -> None:
    """SYSTEM ping frames are echoed, which the sandbox counts as pongs."""
    consume(Inbox())
    sandbox.post("/stream/ping", {})
    sandbox.post("/stream/ping", {})
    state = wait_stream(sandbox, lambda s: s["connections"][0]["pongs"] == 2)
    assert state["connections"][0]["pongs"] == 2 and state["connections"][0]["bad_frames"] == 0


@pytest.mark.parametrize("frame", [True, False], ids=["disconnect", "dropped"])
def test_reconnects_and_keeps_receiving(
    sandbox: LiveSandbox, consume: Callable[[Inbox], StreamConsumer], frame: bool
) -> None:
    """A `disconnect` frame, or a socket dropped without one, leads to a fresh
    connections/open and connection; events keep arriving."""
    inbox = Inbox()
    consumer = consume(inbox)
    first = consumer.connection_id
    sandbox.post("/stream/disconnect", {"frame": frame})
    assert consumer.wait_connected(2)
    assert consumer.connection_id != first
    sandbox.post("/users", {"name": "重连", "mobile": "13900002222"})
    (event,) = inbox.wait(1)
    assert event.event_type == "user_add_org"
    assert event.headers["connectionId"] == consumer.connection_id
    conns = sandbox.get("/stream")["connections"]
    assert [c["closed"] for c in conns] == [True, False]
    assert sandbox.state.calls["v1.0/gateway/connections/open"] == 2


def test_open_with_a_wrong_secret_is_invalid_credentials(
    sandbox: LiveSandbox, http: httpx.Client
) -> None:
    """connections/open with a wrong AppSecret raises InvalidCredentials (§8.2)."""
    app = sandbox.state.default_app
    client = DingTalkClient(
        http,
        DingTalkApp(app.app_key, "wrong", app.agent_id, sandbox.state.corp_id),
        oapi_base=sandbox.url,
        api_base=sandbox.url,
        login_base=sandbox.url,
    )
    with pytest.raises(InvalidCredentials) as refused:
        client.open_stream_connection()
    assert refused.value.code == "invalidClientIdOrSecret" and refused.value.status == 400


def test_stop_ends_a_consumer_that_cannot_connect(sandbox: LiveSandbox, http: httpx.Client) -> None:
    """While DingTalk refuses, the consumer backs off and retries; stop() still ends it."""
    app = sandbox.state.default_app
    client = DingTalkClient(
        http,
        DingTalkApp(app.app_key, "wrong", app.agent_id, sandbox.state.corp_id),
        api_base=sandbox.url,
    )
    consumer = StreamConsumer(client, Inbox(), retry_delay=0.05).start()
    deadline = time.monotonic() + 5
    while sandbox.state.calls["v1.0/gateway/connections/open"] < 2:
        assert time.monotonic() < deadline, "the consumer did not retry"
        time.sleep(0.02)
    assert consumer.sessions == 0
    started = time.monotonic()
    consumer.stop()
    assert time.monotonic() - started < 2
    assert consumer._thread is not None and not consumer._thread.is_alive()
