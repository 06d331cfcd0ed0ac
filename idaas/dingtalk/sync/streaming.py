"""The Stream consumer of each connection (§6.6), held by one process at a time (leader lock).

Each event is stored (committed) inside the consumer's handler, so the ack goes out only after
the event is safe; application follows on the applier thread.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import httpx
from flask import Flask

from idaas.dingtalk import connections
from idaas.dingtalk.stream import StreamConsumer, StreamEvent
from idaas.dingtalk.sync import events, leader
from idaas.extensions import db

log = logging.getLogger(__name__)


class StreamRunner:
    """Try to lead `connection`'s Stream; while leading, consume; retry when not leading."""

    def __init__(self, app: Flask, connection: str, retry: float = 1.0) -> None:
        self.app = app
        self.connection = connection
        self.retry = retry
        self.leading = threading.Event()
        self.stopping = threading.Event()
        self.consumer: StreamConsumer | None = None
        self.thread: threading.Thread | None = None

    def handle(self, event: StreamEvent) -> None:
        """Store the event (commit) before the consumer acks it; then wake the applier."""
        with self.app.app_context():
            try:
                stored = events.store(
                    self.connection,
                    "stream",
                    event.payload(),
                    dedupe_key=event.event_id or None,
                )
                if stored:
                    events.notify(self.connection)
            finally:
                db.session.remove()

    def start(self) -> StreamRunner:
        """Run in a daemon thread."""
        self.thread = threading.Thread(target=self.run, daemon=True, name="dingtalk-stream-lead")
        self.thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop consuming and give up the lead."""
        self.stopping.set()
        consumer = self.consumer
        if consumer is not None:
            consumer.stop(timeout)
        if self.thread is not None:
            self.thread.join(timeout)

    def run(self) -> None:
        """Lead and consume until stopped."""
        while not self.stopping.is_set():
            with self.app.app_context():
                try:
                    with leader.hold(f"dingtalk-stream:{self.connection}") as got:
                        if got:
                            self._consume()
                except Exception:
                    log.exception("DingTalk Stream of %s failed", self.connection)
                finally:
                    db.session.remove()
            self.stopping.wait(self.retry)

    def _consume(self) -> None:
        conn = connections.require(self.connection)
        with httpx.Client(timeout=connections.HTTP_TIMEOUT, trust_env=False) as http:
            client = connections.client(conn, http)
            db.session.remove()
            self.consumer = StreamConsumer(client, self.handle, retry_delay=0.2)
            self.leading.set()
            try:
                self._run_consumer()
            finally:
                self.leading.clear()
                self.consumer = None

    def _run_consumer(self) -> None:
        assert self.consumer is not None
        consumer = self.consumer.start()
        self.stopping.wait()
        consumer.stop()


def start_all(app: Flask) -> list[StreamRunner]:
    """Runners for every enabled connection whose transport is Stream (for the worker)."""
    from idaas.dingtalk.sync import settings

    with app.app_context():
        names = [s.connection for s in settings.all_enabled() if s.transport == "stream"]
    return [StreamRunner(app, name).start() for name in names]


def describe(runner: Any) -> dict[str, Any]:
    """Whether this process leads the connection's Stream and its sessions."""
    consumer = runner.consumer
    return {
        "connection": runner.connection,
        "leading": runner.leading.is_set(),
        "sessions": consumer.sessions if consumer is not None else 0,
    }
