"""A small DingTalk Stream-mode consumer: events over a WebSocket.

`StreamConsumer` opens a connection with `DingTalkClient.open_stream_connection` (the only HTTP it
needs), connects to `{endpoint}?ticket=…`, echoes SYSTEM `ping` frames, calls a handler for each
EVENT frame and acks it `SUCCESS` (or `LATER`, asking for redelivery, when the handler raises).
On a SYSTEM `disconnect` or a dropped socket it opens a fresh connection (tickets are single
use), backing off while DingTalk is unreachable. `stop()` closes the socket and ends the loop.

The socket uses `websockets`' synchronous client: widely used, maintained, typed, handles TLS
(`wss://` in production) and WebSocket keepalive itself, and needs no event loop.

DingTalk docs (under https://open.dingtalk.com/document/development/):
  configure-stream-push.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from websockets.exceptions import ConnectionClosed, WebSocketException
from websockets.sync.client import ClientConnection, connect

from idaas.dingtalk.client import DingTalkClient
from idaas.dingtalk.errors import DingTalkError

log = logging.getLogger(__name__)

EVENT_SUBSCRIPTION = {"type": "EVENT", "topic": "*"}


@dataclass(frozen=True)
class StreamEvent:
    """One EVENT frame: its headers and its decoded `data`."""

    event_type: str
    event_id: str
    corp_id: str | None
    born_ms: int | None
    data: dict[str, Any]
    headers: Mapping[str, str]

    def payload(self) -> dict[str, Any]:
        """`data` (either casing, §6.5) plus eventType, corpId and, when `data` has no time,
        eventBornTime from the headers, ready for `normalise_event`."""
        born = {"EventTime": self.born_ms} if self.born_ms is not None else {}
        return {**born, **self.data, "eventType": self.event_type, "corpId": self.corp_id}


Handler = Callable[[StreamEvent], None]


def ack(headers: Mapping[str, Any], status: str) -> str:
    """The ack of an EVENT frame: code 200, its messageId, data {"status": …}."""
    return json.dumps(
        {
            "code": 200,
            "headers": {"contentType": "application/json", "messageId": headers.get("messageId")},
            "message": "OK",
            "data": json.dumps({"status": status}),
        }
    )


def parse_event(frame: Mapping[str, Any]) -> StreamEvent:
    """A `StreamEvent` from an EVENT frame; ValueError when it is malformed."""
    headers = frame.get("headers")
    if not isinstance(headers, dict):
        raise ValueError("EVENT frame without headers")
    data = json.loads(frame.get("data") or "{}")
    if not isinstance(data, dict):
        raise ValueError("EVENT data is not a JSON object")
    born = str(headers.get("eventBornTime") or "")
    return StreamEvent(
        event_type=str(headers.get("eventType") or headers.get("topic") or ""),
        event_id=str(headers.get("eventId") or ""),
        corp_id=headers.get("eventCorpId"),
        born_ms=int(born) if born.isdigit() else None,
        data=data,
        headers=dict(headers),
    )


class StreamConsumer:
    """Receive one app's Stream events until `stop()`; run it in a thread (`start()`).

    The handler runs on the receiving thread, one event at a time and before the ack: keep it
    short (queue the work) so pings are answered and acks beat DingTalk's deadline.
    """

    def __init__(
        self,
        client: DingTalkClient,
        handler: Handler,
        *,
        subscriptions: tuple[Mapping[str, str], ...] = (EVENT_SUBSCRIPTION,),
        ua: str = "idaas-stream/0.1",
        retry_delay: float = 1.0,
        max_retry_delay: float = 60.0,
        open_timeout: float = 10.0,
    ) -> None:
        self.client = client
        self.handler = handler
        self.subscriptions = subscriptions
        self.ua = ua
        self.retry_delay = retry_delay
        self.max_retry_delay = max_retry_delay
        self.open_timeout = open_timeout
        self.sessions = 0
        self.connection_id: str | None = None
        self._stopping = threading.Event()
        self._changed = threading.Condition()
        self._ws: ClientConnection | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> StreamConsumer:
        """Run the consumer in a daemon thread."""
        self._thread = threading.Thread(target=self.run, daemon=True, name="dingtalk-stream")
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Close the socket, end `run()` and wait for the thread."""
        self._stopping.set()
        with self._changed:
            ws = self._ws
            self._changed.notify_all()
        if ws is not None:
            ws.close()
        if self._thread is not None:
            self._thread.join(timeout)

    def __enter__(self) -> StreamConsumer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def wait_connected(self, sessions: int = 1, timeout: float = 10.0) -> bool:
        """Wait until the `sessions`-th connection is up (REGISTERED received)."""
        with self._changed:
            return self._changed.wait_for(
                lambda: self.sessions >= sessions and self._ws is not None, timeout
            )

    def run(self) -> None:
        """Connect, serve, reconnect; returns after `stop()`.

        A `disconnect` frame reconnects at once; a failed open or connect, or a dropped socket,
        waits `retry_delay`, doubling up to `max_retry_delay` until a connection registers.
        """
        delay = self.retry_delay
        while not self._stopping.is_set():
            sessions = self.sessions
            asked = False
            try:
                opened = self.client.open_stream_connection(self.subscriptions, ua=self.ua)
                separator = "&" if "?" in opened["endpoint"] else "?"
                url = f"{opened['endpoint']}{separator}ticket={quote(opened['ticket'], safe='')}"
                with connect(url, proxy=None, open_timeout=self.open_timeout) as ws:
                    asked = self._serve(ws)
            except (DingTalkError, OSError, WebSocketException) as error:
                log.warning("DingTalk Stream connection failed: %s", error)
            except Exception:
                log.exception("DingTalk Stream consumer failed unexpectedly")
            finally:
                with self._changed:
                    self._ws = None
                    self._changed.notify_all()
            if self.sessions > sessions:
                delay = self.retry_delay
            if not asked and not self._stopping.is_set():
                log.info("DingTalk Stream: reconnecting in %.2f s", delay)
                self._stopping.wait(delay)
                delay = min(delay * 2, self.max_retry_delay)

    # ------------------------------------------------------------------ one connection

    def _serve(self, ws: ClientConnection) -> bool:
        """Handle frames until `stop()`, a closed socket (False) or `disconnect` (True)."""
        try:
            while not self._stopping.is_set():
                if not self._frame(ws, ws.recv()):
                    return True
        except ConnectionClosed:
            if not self._stopping.is_set():
                log.info("DingTalk Stream socket closed by the server")
        return False

    def _frame(self, ws: ClientConnection, text: str | bytes) -> bool:
        """Answer one frame; False when the server asked us to reconnect."""
        try:
            frame = json.loads(text)
            kind, headers = frame.get("type"), frame.get("headers") or {}
        except (ValueError, AttributeError):
            log.warning("DingTalk Stream sent a malformed frame: %.200r", text)
            return True
        topic = headers.get("topic")
        if kind == "SYSTEM" and topic == "ping":
            reply = {"code": 200, "headers": headers, "message": "OK", "data": frame.get("data")}
            ws.send(json.dumps(reply))
        elif kind == "SYSTEM" and topic == "disconnect":
            log.info("DingTalk Stream asked to reconnect: %s", frame.get("data"))
            ws.close()
            return False
        elif kind == "SYSTEM" and topic in ("CONNECTED", "REGISTERED"):
            if topic == "REGISTERED":
                self._registered(ws, headers)
        elif kind == "EVENT":
            ws.send(ack(headers, self._handle(frame)))
        else:
            log.debug("DingTalk Stream frame ignored: %s %s", kind, topic)
        return True

    def _registered(self, ws: ClientConnection, headers: Mapping[str, Any]) -> None:
        with self._changed:
            if self._stopping.is_set():
                ws.close()
                return
            self._ws = ws
            self.connection_id = headers.get("connectionId")
            self.sessions += 1
            self._changed.notify_all()

    def _handle(self, frame: Mapping[str, Any]) -> str:
        """Run the handler: SUCCESS, or LATER (redeliver) when it or the frame fails."""
        try:
            self.handler(parse_event(frame))
        except Exception:
            log.exception("DingTalk Stream event handler failed; asking for redelivery")
            return "LATER"
        return "SUCCESS"
