"""Fixtures shared by the DingTalk client, sandbox and browser tests: a live sandbox and a client.

Everything goes over real HTTP: the sandbox runs in a LiveServer thread on loopback, the client
uses a real `httpx.Client`, and callback receivers are LiveServers too.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from flask import Flask, jsonify, request

from idaas.dingtalk.client import DingTalkApp, DingTalkClient
from idaas.dingtalk.crypto import CallbackCrypto, CallbackCryptoError, CallbackVerifier
from idaas.sandbox.dingtalk import create_sandbox_app
from idaas.sandbox.dingtalk.state import Sandbox
from tests.support.live import LiveServer


def fast_live(app: Any) -> LiveServer:
    """A LiveServer that notices shutdown within 50 ms (the default poll is 0.5 s)."""
    server = LiveServer(app)
    server.thread = threading.Thread(
        target=lambda: server.server.serve_forever(poll_interval=0.05), daemon=True
    )
    return server


@dataclass
class LiveSandbox:
    """A sandbox served on loopback: the state, its URL and a control-API client."""

    state: Sandbox
    url: str
    control: httpx.Client

    def post(self, path: str, json: Any = None) -> Any:
        """POST to the control API and return the JSON answer (asserting success)."""
        response = self.control.post(path, json=json)
        assert response.status_code == 200, response.text
        return response.json()

    def get(self, path: str) -> Any:
        """GET from the control API."""
        response = self.control.get(path)
        assert response.status_code == 200, response.text
        return response.json()

    def client(self, http: httpx.Client, **kwargs: Any) -> DingTalkClient:
        """A DingTalk client for the sandbox's default app, all three bases pointed here."""
        app = self.state.default_app
        return DingTalkClient(
            http,
            DingTalkApp(app.app_key, app.app_secret, app.agent_id, self.state.corp_id),
            oapi_base=self.url,
            api_base=self.url,
            login_base=self.url,
            **kwargs,
        )


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    """A real HTTP client (no proxies from the environment)."""
    with httpx.Client(timeout=10, trust_env=False) as client:
        yield client


def start_sandbox(departments: int = 8, users: int = 60, seed: int = 7) -> Iterator[LiveSandbox]:
    """Seed a sandbox and serve it on loopback until the generator is closed."""
    state = Sandbox()
    state.seed(departments=departments, users=users, seed=seed)
    state.dispatcher.retry_delays = [0.2, 0.4]
    app = create_sandbox_app(state)
    with (
        fast_live(app) as server,
        httpx.Client(base_url=server.url + "/_sandbox", timeout=10, trust_env=False) as control,
    ):
        state.base_url = server.url
        yield LiveSandbox(state, server.url, control)
    state.close()


@pytest.fixture
def live_sandbox() -> Iterator[LiveSandbox]:
    """A small seeded corp (8 departments, 60 users) on a loopback port."""
    yield from start_sandbox()


@pytest.fixture
def dingtalk(live_sandbox: LiveSandbox, http: httpx.Client) -> DingTalkClient:
    """The idaas DingTalk client pointed at the live sandbox."""
    return live_sandbox.client(http)


@dataclass
class Receiver:
    """A callback endpoint that verifies pushes with `CallbackVerifier` and records events."""

    url: str = ""
    verifier: CallbackVerifier | None = None
    events: list[dict[str, Any]] = field(default_factory=list)
    queries: list[dict[str, str]] = field(default_factory=list)
    bodies: list[dict[str, Any]] = field(default_factory=list)
    refusals: list[str] = field(default_factory=list)
    fail_next: int = 0
    delay: float = 0.0
    answer: Callable[[CallbackVerifier], Any] | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def expect(self, token: str, aes_key: str, owner_key: str) -> None:
        """Verify future pushes with these settings."""
        self.verifier = CallbackVerifier(CallbackCrypto(token, aes_key, owner_key))

    def wait_for(self, count: int, timeout: float = 10.0) -> list[dict[str, Any]]:
        """Wait until `count` events (check_url included) have been accepted."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.events) >= count:
                    return list(self.events)
            time.sleep(0.02)
        raise AssertionError(f"only {len(self.events)} of {count} events arrived")


def receiver_app(receiver: Receiver) -> Flask:
    """The receiver's WSGI app: verify, then answer the encrypted `success` (§6.2)."""
    app = Flask("receiver")

    @app.post("/cb")
    def callback() -> Any:
        """Receive one DingTalk push."""
        assert receiver.verifier is not None
        with receiver.lock:
            receiver.queries.append(dict(request.args))
            receiver.bodies.append(dict(request.get_json(silent=True) or {}))
            if receiver.fail_next > 0:
                receiver.fail_next -= 1
                return jsonify({"errcode": 1}), 500
        if receiver.delay:
            time.sleep(receiver.delay)
        try:
            event = receiver.verifier.open(request.args, request.get_json() or {})
        except CallbackCryptoError as error:
            with receiver.lock:
                receiver.refusals.append(type(error).__name__)
            return jsonify({"error": error.message}), 400
        with receiver.lock:
            receiver.events.append(event)
        if receiver.answer is not None:
            return jsonify(receiver.answer(receiver.verifier))
        return jsonify(receiver.verifier.reply("success"))

    return app


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A live callback receiver on loopback."""
    state = Receiver()
    with fast_live(receiver_app(state)) as server:
        state.url = server.url + "/cb"
        yield state
