"""The production HTTP server: gunicorn serving `create_app()`."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from gunicorn.app.base import BaseApplication

from idaas import create_app


class IdaasServer(BaseApplication):
    """A gunicorn application that builds idaas in each worker."""

    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        """Apply our options to gunicorn's settings."""
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        """Build the WSGI app (called in each worker)."""
        return create_app()


def start_embedded_worker(worker: Any) -> None:
    """gunicorn `post_worker_init`: run the delivery engine's worker thread in this process
    when configured (`EVENTS_EMBEDDED_WORKER`, on by default with SQLite)."""
    from idaas.events.worker import start_embedded

    start_embedded(worker.wsgi)


def prepare_metrics_directory() -> Path | None:
    """Give gunicorn's workers one shared Prometheus directory so /metrics covers them all.

    Must run before `prometheus_client` is imported: it picks its value store at import time.
    Returns the directory when it is a temporary one the caller should remove.
    """
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory:
        Path(directory).mkdir(parents=True, exist_ok=True)
        for stale in Path(directory).glob("*.db"):
            stale.unlink()
        return None
    created = tempfile.mkdtemp(prefix="idaas-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = created
    return Path(created)


def run_gunicorn(host: str, port: int, workers: int, threads: int) -> None:
    """Validate configuration in the parent, then start gunicorn."""
    create_app()
    IdaasServer(
        {
            "bind": f"{host}:{port}",
            "workers": workers,
            "threads": threads,
            "worker_class": "gthread" if threads > 1 else "sync",
            "accesslog": "-",
            "timeout": 60,
            "graceful_timeout": 10,
            "forwarded_allow_ips": "127.0.0.1",
            "post_worker_init": start_embedded_worker,
        }
    ).run()
