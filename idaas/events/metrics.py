"""Prometheus metrics of the engine.

Gauges are read from the database at scrape time, so every server process reports the same,
cluster-wide truth: deliveries by target type and status (`dead` = dead letters), the age of
the oldest due delivery (lag) and jobs by state. Attempt outcomes and durations are counted by
the process that made them (the embedded worker, or `idaas worker --metrics-port`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from flask import Flask, current_app, has_app_context
from prometheus_client import Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from idaas.events.models import Job
from idaas.extensions import db


class EngineCollector(Collector):
    """Scrape-time gauges over the delivery and job tables."""

    def __init__(self, app: Flask) -> None:
        self.app = app

    def collect(self) -> Iterator[GaugeMetricFamily]:
        """Yield the gauges (nothing when the database cannot be read)."""
        with self.app.app_context():
            try:
                yield from self._collect()
            except Exception:  # a scrape must not fail because the database is down
                db.session.rollback()
                return
            finally:
                db.session.remove()

    def _collect(self) -> Iterator[GaugeMetricFamily]:
        from idaas.events.state import engine_state

        state = engine_state()
        by_status = GaugeMetricFamily(
            "idaas_deliveries",
            "Deliveries by target type and status (dead = dead letters)",
            labels=["target_type", "status"],
        )
        for (target_type, status), count in state.by_status.items():
            by_status.add_metric([target_type, status], count)
        yield by_status
        yield GaugeMetricFamily(
            "idaas_deliveries_pending", "Deliveries not yet delivered or dead", value=state.pending
        )
        yield GaugeMetricFamily("idaas_deliveries_dead", "Dead letters", value=state.dead)
        yield GaugeMetricFamily(
            "idaas_deliveries_oldest_pending_seconds",
            "Age of the oldest pending delivery (lag)",
            value=state.lag_seconds,
        )
        job_states = GaugeMetricFamily(
            "idaas_jobs", "Jobs by kind and state", labels=["kind", "status"]
        )
        for kind, status, count in db.session.execute(
            select(Job.kind, Job.status, func.count()).group_by(Job.kind, Job.status)
        ):
            job_states.add_metric([kind, status], count)
        yield job_states


class AttemptMetrics:
    """Counts delivery attempts by target type and outcome; observes their duration."""

    def __init__(self, registry: Any) -> None:
        self.outcomes = Counter(
            "idaas_delivery_attempts_total",
            "Delivery attempts by target type and outcome (delivered, failed, dead)",
            ["target_type", "outcome"],
            registry=registry,
        )
        self.duration = Histogram(
            "idaas_delivery_attempt_seconds",
            "Duration of delivery attempts",
            ["target_type"],
            registry=registry,
        )


def attempt(target_type: str, outcome: str, elapsed: float) -> None:
    """Count one attempt (no-op outside an app with metrics)."""
    if not has_app_context():
        return
    found = current_app.extensions.get("idaas_engine_metrics")
    if found is not None:
        found.outcomes.labels(target_type, outcome).inc()
        found.duration.labels(target_type).observe(elapsed)


def init_app(app: Flask) -> None:
    """Attach the collector and the attempt counters to the app's metrics registry."""
    request_metrics = app.extensions.get("idaas_metrics")
    if request_metrics is None:
        return
    collector = EngineCollector(app)
    request_metrics.registry.register(collector)
    request_metrics.collectors.append(collector)
    app.extensions["idaas_engine_metrics"] = AttemptMetrics(request_metrics.registry)
