"""Prometheus request metrics, one registry per app so several apps can live in one process."""

from __future__ import annotations

import os
import time
from typing import Any

from flask import Flask, g, request
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest, multiprocess
from werkzeug.wrappers import Response

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class RequestMetrics:
    """Counts requests and observes their latency by endpoint, method and status."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        # Scrape-time collectors (e.g. the engine's database gauges), also in multiprocess mode.
        self.collectors: list[Any] = []
        self.requests = Counter(
            "idaas_http_requests_total",
            "HTTP requests handled",
            ["endpoint", "method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "idaas_http_request_duration_seconds",
            "HTTP request latency",
            ["endpoint", "method"],
            registry=self.registry,
        )

    def observe(self, endpoint: str, method: str, status: str, seconds: float | None) -> None:
        """Count one request and, when timed, observe its latency."""
        if seconds is not None:
            self.latency.labels(endpoint, method).observe(seconds)
        self.requests.labels(endpoint, method, status).inc()

    def render(self) -> bytes:
        """Exposition text; aggregates all gunicorn workers when PROMETHEUS_MULTIPROC_DIR is set."""
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
            for collector in self.collectors:
                registry.register(collector)
            return generate_latest(registry)
        return generate_latest(self.registry)


def init_app(app: Flask) -> None:
    """Attach request timing hooks to the app."""
    metrics = RequestMetrics()
    app.extensions["idaas_metrics"] = metrics

    @app.before_request
    def _start_timer() -> None:
        g.request_started = time.perf_counter()

    @app.after_request
    def _observe(response: Response) -> Response:
        started = g.pop("request_started", None)
        seconds = None if started is None else time.perf_counter() - started
        endpoint = request.endpoint or "unmatched"
        metrics.observe(endpoint, request.method, str(response.status_code), seconds)
        return response
