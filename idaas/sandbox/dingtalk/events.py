"""HTTP push of events to subscribers with real callback crypto (dingtalk-api.md §6.2-§6.5).

A single background thread delivers events in order; an answer that is not an encrypted
`success` within 1.5 s is retried after `retry_delays`, then recorded as failed (and, for the
corp-level `register_call_back` subscription, listed by `get_call_back_failed_result`).
"""

from __future__ import annotations

import heapq
import itertools
import json
import threading
import time
from typing import TYPE_CHECKING, Any

import httpx

from idaas.dingtalk.crypto import CallbackCrypto, CallbackCryptoError, random_nonce

if TYPE_CHECKING:
    from idaas.sandbox.dingtalk.state import Sandbox, Subscription

ACK_DEADLINE = 1.5


class Dispatcher:
    """Delivers queued events to subscriptions from one daemon thread."""

    def __init__(
        self, sandbox: Sandbox, retry_delays: tuple[float, ...] = (1.0, 3.0, 10.0)
    ) -> None:
        self.sandbox = sandbox
        self.retry_delays = list(retry_delays)
        self.deliveries: list[dict[str, Any]] = []
        self._queue: list[tuple[float, int, dict[str, Any]]] = []
        self._seq = itertools.count()
        self._cv = threading.Condition()
        self._thread: threading.Thread | None = None
        self._closed = False
        self._http: httpx.Client | None = None
        self._http_lock = threading.Lock()

    def http(self) -> httpx.Client:
        """The push HTTP client (1.5 s deadline), created on first use."""
        with self._http_lock:
            if self._http is None:
                self._http = httpx.Client(timeout=ACK_DEADLINE, trust_env=False)
            return self._http

    def close(self) -> None:
        """Stop the thread and close the HTTP client."""
        with self._cv:
            self._closed = True
            self._cv.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=5)
        with self._http_lock:
            if self._http is not None:
                self._http.close()
                self._http = None

    def snapshot(self) -> list[dict[str, Any]]:
        """A consistent copy of every delivery record."""
        with self._cv:
            return [{**d, "attempts": list(d["attempts"])} for d in self.deliveries]

    def enqueue(self, sub: Subscription, payload: dict[str, Any]) -> dict[str, Any]:
        """Queue one event for one subscription; return its delivery record."""
        delivery: dict[str, Any] = {
            "id": len(self.deliveries) + 1,
            "subscription": sub.id,
            "event_type": payload.get("EventType"),
            "payload": payload,
            "status": "pending",
            "attempts": [],
        }
        with self._cv:
            self.deliveries.append(delivery)
            heapq.heappush(self._queue, (time.monotonic(), next(self._seq), delivery))
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, daemon=True, name="dingtalk-sandbox-push"
                )
                self._thread.start()
            self._cv.notify_all()
        return delivery

    def _run(self) -> None:
        while True:
            with self._cv:
                while not self._closed and (
                    not self._queue or self._queue[0][0] > time.monotonic()
                ):
                    timeout = self._queue[0][0] - time.monotonic() if self._queue else None
                    self._cv.wait(timeout)
                if self._closed:
                    return
                _, _, delivery = heapq.heappop(self._queue)
            sub = self.sandbox.subscriptions.get(delivery["subscription"])
            if sub is None:
                delivery["status"] = "cancelled"
                continue
            ok, error = self.push(sub, delivery["payload"])
            with self._cv:
                delivery["attempts"].append({"ok": ok, "error": error})
                tries = len(delivery["attempts"])
                if ok:
                    delivery["status"] = "delivered"
                    continue
                if tries <= len(self.retry_delays):
                    due = time.monotonic() + self.retry_delays[tries - 1]
                    heapq.heappush(self._queue, (due, next(self._seq), delivery))
                    continue
                delivery["status"] = "failed"
            if sub.mode == "legacy":
                self._record_failed(delivery["payload"])

    def _record_failed(self, payload: dict[str, Any]) -> None:
        tag = str(payload.get("EventType"))
        ids = payload.get("UserId") or payload.get("userId")
        key = "userid"
        if ids is None:
            ids, key = payload.get("DeptId") or payload.get("deptId") or [], "deptid"
        with self.sandbox.lock:
            self.sandbox.failed_events.append(
                {
                    "call_back_tag": tag,
                    "event_time": int(self.sandbox.now() * 1000),
                    tag: {key: ids, "corpid": self.sandbox.corp_id},
                }
            )

    def push(self, sub: Subscription, payload: dict[str, Any]) -> tuple[bool, str | None]:
        """POST one encrypted event and check the encrypted `success` answer (§6.2, §6.3)."""
        crypto = CallbackCrypto(sub.token, sub.aes_key, sub.owner_key)
        variants = self.sandbox.variants
        encrypted = crypto.encrypt(json.dumps(payload, ensure_ascii=False, separators=(",", ":")))
        now = self.sandbox.now()
        timestamp = str(int(now * 1000) if variants["push_timestamp_unit"] == "ms" else int(now))
        nonce = random_nonce(8)
        signature = crypto.signature(timestamp, nonce, encrypted)
        params = {"timestamp": timestamp, "nonce": nonce}
        style = variants["push_signature_param"]
        if style in ("both", "signature"):
            params["signature"] = signature
        if style in ("both", "msg_signature"):
            params["msg_signature"] = signature
        started = time.monotonic()
        try:
            response = self.http().post(sub.url, params=params, json={"encrypt": encrypted})
        except httpx.HTTPError as error:
            return False, f"{type(error).__name__}: no answer within {ACK_DEADLINE} s"
        elapsed = time.monotonic() - started
        if elapsed > ACK_DEADLINE:
            return False, f"answered after {elapsed:.2f} s (limit {ACK_DEADLINE} s)"
        if response.status_code != 200:
            return False, f"HTTP {response.status_code}"
        try:
            body = response.json()
            if not isinstance(body, dict):
                raise ValueError("not an object")
            answer = crypto.open(body)
        except (ValueError, CallbackCryptoError) as error:
            return False, f"answer is not an encrypted success: {error}"
        if answer != "success":
            return False, f"answer decrypted to {answer[:40]!r}, not 'success'"
        return True, None
