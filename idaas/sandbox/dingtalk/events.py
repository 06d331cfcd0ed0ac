"""Event delivery: HTTP push with real callback crypto (dingtalk-api.md §6.2-§6.5) and Stream
mode over WebSocket (§6.6).

HTTP push (`Dispatcher`): a single background thread delivers events in order; an answer that is
not an encrypted `success` within 1.5 s is retried after `retry_delays`, then recorded as failed
(and, for the corp-level `register_call_back` subscription, listed by
`get_call_back_failed_result`).

Stream (`StreamHub`): the same contact events go, as EVENT frames, to apps that opened a Stream
connection; each must be acked (see `StreamHub`). The sockets themselves are served by `api.py`.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import httpx

from idaas.dingtalk.crypto import CallbackCrypto, CallbackCryptoError, random_nonce

if TYPE_CHECKING:
    from idaas.sandbox.dingtalk.state import Sandbox, Subscription

ACK_DEADLINE = 1.5


#: User fields a `user_modify_org` diffInfo reports, by their camelCase name in the push (§6.5).
DIFF_FIELDS = {
    "name": "name",
    "email": "email",
    "org_email": "orgEmail",
    "job_number": "jobNumber",
    "title": "title",
    "work_place": "workPlace",
    "hired_date": "hiredDate",
    "manager_userid": "managerUserid",
    "telephone": "telephone",
    "remark": "remark",
    "mobile": "mobile",
    "state_code": "stateCode",
    "dept_id_list": "deptIdList",
}


def diff_info(before: Any, after: Any) -> dict[str, Any]:
    """The `diffInfo` of a user_modify_org push: prev and curr of the fields that changed (§6.5)."""
    changed = [k for k in DIFF_FIELDS if getattr(before, k) != getattr(after, k)]
    return {
        "prev": {DIFF_FIELDS[k]: getattr(before, k) for k in changed},
        "curr": {DIFF_FIELDS[k]: getattr(after, k) for k in changed},
        "userid": after.userid,
    }


def stream_data(
    casing: str, stamp: int, user_ids: list[str] | None, dept_ids: list[int] | None
) -> dict[str, Any]:
    """An EVENT frame's `data` in the casing the `stream_casing` variant chooses (§6.5, §6.6)."""
    legacy = casing == "legacy"
    data: dict[str, Any] = {}
    if casing != "bare":
        data["TimeStamp" if legacy else "timeStamp"] = stamp if legacy else str(stamp)
    if user_ids is not None:
        data["UserId" if legacy else "userId"] = list(user_ids)
    if dept_ids is not None:
        data["DeptId" if legacy else "deptId"] = list(dept_ids)
    return data


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


# ---------------------------------------------------------------------- Stream mode (§6.6)

STREAM_ACK_TIMEOUT = 5.0
STREAM_MAX_TRIES = 3
TICKET_LIFETIME = 90.0
DISCONNECT_REASON = "persistent connection is timeout"


class WebSocket(Protocol):
    """What the hub needs from a server-side WebSocket (`simple_websocket.Server`)."""

    connected: bool

    def send(self, data: str) -> None: ...

    def close(self, reason: int | None = None, message: str | None = None) -> None: ...


@dataclass
class StreamTicket:
    """A single-use `connections/open` ticket (§6.6 step 1)."""

    value: str
    app_key: str
    subscriptions: list[dict[str, str]]
    expires_at: float
    ua: str = ""
    local_ip: str = ""


@dataclass
class StreamConnection:
    """One live (or closed) Stream WebSocket of an app."""

    id: str
    app_key: str
    subscriptions: list[dict[str, str]]
    ws: WebSocket
    ua: str = ""
    opened_at: float = 0.0
    closed: bool = False
    close_reason: str | None = None
    frames_sent: int = 0
    pings_sent: int = 0
    pongs: int = 0
    bad_frames: int = 0
    ping_ids: set[str] = field(default_factory=set)
    send_lock: threading.Lock = field(default_factory=threading.Lock)

    def wants(self, event_type: str) -> bool:
        """Whether an EVENT subscription (topic `*` or the event type) covers `event_type`."""
        return any(
            s.get("type") == "EVENT" and s.get("topic") in ("*", event_type)
            for s in self.subscriptions
        )

    def public(self) -> dict[str, Any]:
        """The connection as `/_sandbox/state` shows it."""
        return {
            "id": self.id,
            "app_key": self.app_key,
            "subscriptions": self.subscriptions,
            "ua": self.ua,
            "closed": self.closed,
            "close_reason": self.close_reason,
            "frames_sent": self.frames_sent,
            "pings_sent": self.pings_sent,
            "pongs": self.pongs,
            "bad_frames": self.bad_frames,
        }


class StreamHub:
    """Stream-mode event delivery (§6.6): tickets, connections, EVENT frames and their acks.

    Each event becomes one delivery for the app, sent to one live subscribed connection. It
    must be acked `SUCCESS` within `ack_timeout`; no ack, or `LATER`, sends it again (on
    whichever connection is live then) up to `max_tries` times, after which it is `failed`.
    Deliveries wait, untried, while the app has no connection. One daemon thread handles due
    (re)sends; acks arrive on each connection's own request thread.
    """

    def __init__(
        self,
        sandbox: Sandbox,
        ack_timeout: float = STREAM_ACK_TIMEOUT,
        max_tries: int = STREAM_MAX_TRIES,
    ) -> None:
        self.sandbox = sandbox
        self.ack_timeout = ack_timeout
        self.max_tries = max_tries
        self.later_delay = 0.0
        self.tickets: dict[str, StreamTicket] = {}
        self.connections: dict[str, StreamConnection] = {}
        self.deliveries: list[dict[str, Any]] = []
        self._cv = threading.Condition()
        self._thread: threading.Thread | None = None
        self._closed = False

    # -------------------------------------------------------------- tickets and connections

    def issue_ticket(
        self, app_key: str, subscriptions: list[dict[str, str]], ua: str = "", local_ip: str = ""
    ) -> StreamTicket:
        """A fresh single-use ticket carrying the open request's subscriptions."""
        expires = time.monotonic() + TICKET_LIFETIME
        ticket = StreamTicket(uuid.uuid4().hex, app_key, subscriptions, expires, ua, local_ip)
        with self._cv:
            self.tickets[ticket.value] = ticket
        return ticket

    def redeem(self, value: str) -> StreamTicket | None:
        """The ticket, removed so it cannot be used again; None when unknown, used or expired."""
        with self._cv:
            ticket = self.tickets.pop(value, None)
        if ticket is None or time.monotonic() > ticket.expires_at:
            return None
        return ticket

    def attach(self, ticket: StreamTicket, ws: WebSocket) -> StreamConnection:
        """Register a connected socket: send CONNECTED and REGISTERED, then any waiting events."""
        conn = StreamConnection(
            uuid.uuid4().hex,
            ticket.app_key,
            ticket.subscriptions,
            ws,
            ua=ticket.ua,
            opened_at=self.sandbox.now(),
        )
        for topic in ("CONNECTED", "REGISTERED"):
            self.send(conn, self.frame(conn, "SYSTEM", topic, {}))
        with self._cv:
            self.connections[conn.id] = conn
            for delivery in self.deliveries:
                if delivery["status"] == "pending" and delivery["due"] is None:
                    delivery["due"] = time.monotonic()
            self._cv.notify_all()
        return conn

    def detach(self, conn: StreamConnection, reason: str) -> None:
        """Mark a connection closed; events awaiting its ack are resent at once, elsewhere."""
        with self._cv:
            if not conn.closed:
                conn.closed = True
                conn.close_reason = reason
            now = time.monotonic()
            for d in self.deliveries:
                if d["status"] == "pending" and d["attempts"]:
                    if d["attempts"][-1]["connection"] == conn.id and d["due"] is not None:
                        d["due"] = min(d["due"], now)
            self._cv.notify_all()

    def live(self, app_key: str | None = None) -> list[StreamConnection]:
        """Open connections, optionally of one app."""
        with self._cv:
            return [
                c
                for c in self.connections.values()
                if not c.closed and (app_key is None or c.app_key == app_key)
            ]

    # -------------------------------------------------------------------------- frames

    def frame(
        self,
        conn: StreamConnection,
        kind: str,
        topic: str,
        data: dict[str, Any],
        message_id: str | None = None,
        **headers: str,
    ) -> dict[str, Any]:
        """A server frame: specVersion, type, headers, `data` as a JSON string (§6.6 step 3)."""
        return {
            "specVersion": "1.0",
            "type": kind,
            "headers": {
                "appId": conn.app_key,
                "connectionId": conn.id,
                "contentType": "application/json",
                "messageId": message_id or uuid.uuid4().hex,
                "time": str(int(self.sandbox.now() * 1000)),
                "topic": topic,
                **headers,
            },
            "data": json.dumps(data, ensure_ascii=False, separators=(",", ":")),
        }

    def send(self, conn: StreamConnection, frame: dict[str, Any]) -> bool:
        """Send one frame; False (and the connection marked closed) when the socket is gone."""
        with conn.send_lock:
            try:
                conn.ws.send(json.dumps(frame, ensure_ascii=False))
            except Exception:  # any socket failure means the peer is gone
                self.detach(conn, "send failed")
                return False
            conn.frames_sent += 1
        return True

    def ping(self, conn: StreamConnection) -> str:
        """Send a SYSTEM `ping`; the client must echo it (§6.6 step 5). Returns its messageId."""
        frame = self.frame(conn, "SYSTEM", "ping", {"opaque": uuid.uuid4().hex})
        message_id = str(frame["headers"]["messageId"])
        with self._cv:
            conn.ping_ids.add(message_id)
            conn.pings_sent += 1
        self.send(conn, frame)
        return message_id

    def disconnect(
        self, conn: StreamConnection, reason: str = DISCONNECT_REASON, frame: bool = True
    ) -> None:
        """Send a SYSTEM `disconnect` with its reason, then close the socket (§6.6 step 5);
        without the frame it is a dropped socket."""
        if frame:
            self.send(conn, self.frame(conn, "SYSTEM", "disconnect", {"reason": reason}))
        self.detach(conn, f"disconnect: {reason}" if frame else "dropped")
        with conn.send_lock, contextlib.suppress(Exception):
            conn.ws.close()

    def receive(self, conn: StreamConnection, text: str) -> None:
        """Handle one client frame: an EVENT ack or a ping echo (§6.6 steps 4-5)."""
        try:
            frame = json.loads(text)
            message_id = str(frame["headers"]["messageId"])
            code = int(frame["code"])
        except (ValueError, TypeError, KeyError):
            with self._cv:
                conn.bad_frames += 1
            return
        with self._cv:
            if message_id in conn.ping_ids:
                conn.ping_ids.discard(message_id)
                if code == 200:
                    conn.pongs += 1
                else:
                    conn.bad_frames += 1
                return
            delivery = next((d for d in self.deliveries if d["message_id"] == message_id), None)
            if delivery is None:
                conn.bad_frames += 1
                return
            try:
                status = json.loads(frame.get("data") or "{}").get("status")
            except (ValueError, AttributeError):
                status = None
            delivery["acks"].append({"connection": conn.id, "code": code, "status": status})
            if delivery["status"] != "pending":
                return
            if code == 200 and status == "SUCCESS":
                delivery["status"] = "acked"
                delivery["due"] = None
            elif code == 200 and status == "LATER":
                delivery["due"] = time.monotonic() + self.later_delay
            else:
                conn.bad_frames += 1
            self._cv.notify_all()

    # ---------------------------------------------------------------------- events

    def publish(
        self,
        app_key: str,
        event_type: str,
        user_ids: list[str] | None = None,
        dept_ids: list[int] | None = None,
    ) -> dict[str, Any] | None:
        """Queue a contact event for the app's Stream subscribers; None when it has none."""
        with self._cv:
            # An app that has connected in Stream mode keeps receiving: events raised while it
            # reconnects wait for its next connection.
            subscribed = any(
                c.app_key == app_key and c.wants(event_type) for c in self.connections.values()
            )
            if not subscribed:
                return None
            stamp = int(self.sandbox.now() * 1000)
            data = stream_data(self.sandbox.variants["stream_casing"], stamp, user_ids, dept_ids)
            delivery: dict[str, Any] = {
                "id": len(self.deliveries) + 1,
                "app_key": app_key,
                "message_id": uuid.uuid4().hex,
                "event_id": uuid.uuid4().hex,
                "event_type": event_type,
                "born": stamp,
                "data": data,
                "status": "pending",
                "attempts": [],
                "acks": [],
                "due": time.monotonic(),
            }
            self.deliveries.append(delivery)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, daemon=True, name="dingtalk-sandbox-stream"
                )
                self._thread.start()
            self._cv.notify_all()
            return delivery

    def snapshot(self) -> list[dict[str, Any]]:
        """A copy of every Stream delivery record (without the internal due time)."""
        with self._cv:
            return [
                {
                    **{k: v for k, v in d.items() if k != "due"},
                    "attempts": list(d["attempts"]),
                    "acks": list(d["acks"]),
                }
                for d in self.deliveries
            ]

    def summary(self) -> dict[str, Any]:
        """Connections and delivery counts for `GET /_sandbox/state`."""
        with self._cv:
            counts = {"pending": 0, "acked": 0, "failed": 0}
            for d in self.deliveries:
                counts[d["status"]] = counts.get(d["status"], 0) + 1
            return {
                "connections": [c.public() for c in self.connections.values()],
                "deliveries": counts,
                "ack_timeout": self.ack_timeout,
                "max_tries": self.max_tries,
            }

    def close(self) -> None:
        """Stop the delivery thread and close every open socket."""
        with self._cv:
            self._closed = True
            self._cv.notify_all()
        for conn in self.live():
            self.detach(conn, "sandbox closed")
            with conn.send_lock, contextlib.suppress(Exception):
                conn.ws.close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _due(self) -> tuple[dict[str, Any] | None, float | None]:
        """The first due pending delivery, else how long until the next one is due."""
        now = time.monotonic()
        wait: float | None = None
        for d in self.deliveries:
            if d["status"] != "pending" or d["due"] is None:
                continue
            if d["due"] <= now:
                return d, None
            wait = d["due"] - now if wait is None else min(wait, d["due"] - now)
        return None, wait

    def _run(self) -> None:
        while True:
            with self._cv:
                delivery, wait = self._due()
                while not self._closed and delivery is None:
                    self._cv.wait(wait)
                    delivery, wait = self._due()
                if self._closed or delivery is None:
                    return
                if len(delivery["attempts"]) >= self.max_tries:
                    delivery["status"] = "failed"
                    delivery["due"] = None
                    continue
                targets = [
                    c
                    for c in self.connections.values()
                    if not c.closed
                    and c.app_key == delivery["app_key"]
                    and c.wants(delivery["event_type"])
                ]
                if not targets:
                    delivery["due"] = None  # parked until a subscriber connects
                    continue
                conn = targets[len(delivery["attempts"]) % len(targets)]
                delivery["attempts"].append(
                    {"connection": conn.id, "at": int(self.sandbox.now() * 1000)}
                )
                delivery["due"] = time.monotonic() + self.ack_timeout
            frame = self.frame(
                conn,
                "EVENT",
                delivery["event_type"],
                delivery["data"],
                message_id=delivery["message_id"],
                eventType=delivery["event_type"],
                eventId=delivery["event_id"],
                eventBornTime=str(delivery["born"]),
                eventCorpId=self.sandbox.corp_id,
                eventUnifiedAppId=conn.app_key,
            )
            if not self.send(conn, frame):
                with self._cv:
                    delivery["attempts"][-1]["error"] = "socket closed"
                    delivery["due"] = time.monotonic()
