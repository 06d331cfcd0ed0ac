"""Per-connection health: last import, last event, lag, events per minute, calls, errors."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from flask import Flask
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import func, select

from idaas.dingtalk import connections
from idaas.dingtalk.connections import DingTalkConnection
from idaas.dingtalk.sync import settings
from idaas.dingtalk.sync.models import SyncEvent, SyncRun
from idaas.extensions import db, utcnow


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() + "Z" if value is not None else None


def status(conn: DingTalkConnection) -> dict[str, Any]:
    """What an operator needs to know about a connection's sync, with actions for errors."""
    row = settings.get(conn)
    now = utcnow()
    runs = select(SyncRun).where(SyncRun.connection == conn.name)
    last_import = db.session.scalar(
        runs.where(SyncRun.kind.in_(("import", "reconcile")), SyncRun.status == "applied")
        .order_by(SyncRun.id.desc())
        .limit(1)
    )
    events = select(SyncEvent).where(SyncEvent.connection == conn.name)
    last_event = db.session.scalar(
        select(func.max(SyncEvent.received_at)).where(SyncEvent.connection == conn.name)
    )
    oldest_pending = db.session.scalar(
        select(func.min(SyncEvent.received_at)).where(
            SyncEvent.connection == conn.name, SyncEvent.status == "pending"
        )
    )
    pending = db.session.scalar(
        select(func.count(SyncEvent.id)).where(
            SyncEvent.connection == conn.name, SyncEvent.status == "pending"
        )
    )
    per_minute = db.session.scalar(
        select(func.count(SyncEvent.id)).where(
            SyncEvent.connection == conn.name,
            SyncEvent.received_at >= now - timedelta(minutes=1),
            SyncEvent.status != "ignored",
        )
    )
    recent = list(
        db.session.scalars(
            events.where(SyncEvent.applied_at.isnot(None)).order_by(SyncEvent.id.desc()).limit(100)
        )
    )
    delays = sorted((e.applied_at - e.received_at).total_seconds() for e in recent if e.applied_at)
    today = now.date().isoformat()
    calls: Counter[str] = Counter(row.event_calls or {} if row.calls_day == today else {})
    midnight = datetime.combine(now.date(), datetime.min.time())
    for run in db.session.scalars(runs.where(SyncRun.created_at >= midnight)):
        calls.update(run.calls or {})
    errors = [
        {"run": r.id, "kind": r.kind, "status": r.status, "action": r.message}
        for r in db.session.scalars(
            runs.where(SyncRun.status.in_(("failed", "held"))).order_by(SyncRun.id.desc()).limit(5)
        )
    ]
    errors += [
        {"event": e.id, "type": e.event_type, "action": e.error}
        for e in db.session.scalars(
            events.where(SyncEvent.error.isnot(None)).order_by(SyncEvent.id.desc()).limit(5)
        )
    ]
    return {
        "connection": conn.name,
        "enabled": row.enabled,
        "transport": row.transport,
        "last_full_import": _iso(last_import.finished_at) if last_import else None,
        "last_import_run": last_import.id if last_import else None,
        "last_event": _iso(last_event),
        "pending_events": int(pending or 0),
        "lag_seconds": (now - oldest_pending).total_seconds() if oldest_pending else 0.0,
        "apply_delay_p95_seconds": delays[int(len(delays) * 0.95) - 1] if delays else None,
        "events_per_minute": int(per_minute or 0),
        "calls_today": dict(calls),
        "errors": errors,
    }


#: The per-connection gauges: name (after `idaas_dingtalk_sync_`), help text, labels.
GAUGES = (
    ("lag_seconds", "Age of the oldest unapplied event", ["connection"]),
    ("pending_events", "Stored events not yet applied", ["connection"]),
    ("events_per_minute", "Events received in the last minute", ["connection"]),
    (
        "last_import_timestamp_seconds",
        "When the last full import or reconciliation was applied",
        ["connection"],
    ),
    ("calls_today", "DingTalk calls today", ["connection", "api"]),
    ("errors", "Failed or held runs and failed events (recent)", ["connection"]),
)


class SyncCollector:
    """Prometheus gauges per connection, read from the database at scrape time."""

    def __init__(self, app: Flask) -> None:
        self.app = app

    def collect(self) -> Any:
        """Yield the gauge families."""
        lag, pending, per_minute, last_import, calls, errors = (
            GaugeMetricFamily(f"idaas_dingtalk_sync_{name}", text, labels=labels)
            for name, text, labels in GAUGES
        )
        with self.app.app_context():
            try:
                for conn in connections.list_all():
                    info = status(conn)
                    name = conn.name
                    lag.add_metric([name], info["lag_seconds"])
                    pending.add_metric([name], info["pending_events"])
                    per_minute.add_metric([name], info["events_per_minute"])
                    if info["last_full_import"]:
                        stamp = datetime.fromisoformat(info["last_full_import"].rstrip("Z"))
                        last_import.add_metric(
                            [name], (stamp - datetime(1970, 1, 1)).total_seconds()
                        )
                    for api, count in info["calls_today"].items():
                        calls.add_metric([name, api], count)
                    errors.add_metric([name], len(info["errors"]))
            finally:
                db.session.remove()
        yield from (lag, pending, per_minute, last_import, calls, errors)


def init_metrics(app: Flask) -> None:
    """Add the sync gauges to the app's /metrics registry, and to the scrape-time collectors
    that gunicorn's multiprocess mode (PROMETHEUS_MULTIPROC_DIR) reports."""
    metrics = app.extensions.get("idaas_metrics")
    if metrics is not None and not app.extensions.get("dingtalk_sync_metrics"):
        collector = SyncCollector(app)
        metrics.registry.register(collector)
        metrics.collectors.append(collector)
        app.extensions["dingtalk_sync_metrics"] = True
