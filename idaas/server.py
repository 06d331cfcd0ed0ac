"""The production HTTP server: gunicorn serving `create_app()`."""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path
from typing import Any

from gunicorn.app.base import BaseApplication
from gunicorn.glogging import Logger

from idaas import create_app
from idaas.config import DEFAULT_ISSUER

# Query parameters that carry credentials or tokens: never written to the access log
# (issue 11 finding 18: `id_token_hint` on RP-initiated logout GETs, codes on callbacks).
SECRET_PARAMS = re.compile(
    r"(?i)\b(id_token_hint|code|access_token|refresh_token|client_secret|token|password)=[^&\s]*"
)
ACCESS_LOG_FORMAT = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms "%(a)s" pid=%(p)s'


def redact(text: str) -> str:
    """`text` with the values of secret-bearing query parameters replaced."""
    return SECRET_PARAMS.sub(lambda m: f"{m.group(1)}=[redacted]", text)


class RedactingLogger(Logger):
    """gunicorn's logger with secret query parameters removed from access-log lines."""

    def atoms(self, resp: Any, req: Any, environ: Any, request_time: Any) -> dict[str, Any]:
        """The access-log fields, the request line and query string redacted."""
        atoms = dict(super().atoms(resp, req, environ, request_time))
        for key in ("r", "q"):
            if isinstance(atoms.get(key), str):
                atoms[key] = redact(atoms[key])
        return atoms


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


def development_issuer(host: str, port: int) -> str | None:
    """The issuer to serve with when none was configured and the default does not fit.

    Without IDAAS_ISSUER the default `http://127.0.0.1:5000` would be published in the
    discovery document whatever port is served (issue 11 finding 19); derive it instead.
    """
    if os.environ.get("IDAAS_ISSUER"):
        return None
    if create_app().config["ISSUER"] != DEFAULT_ISSUER:
        return None  # set in instance/config.py
    shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    if ":" in shown:
        shown = f"[{shown}]"
    issuer = f"http://{shown}:{port}"
    return None if issuer == DEFAULT_ISSUER else issuer


def run_gunicorn(host: str, port: int, workers: int, threads: int) -> None:
    """Validate configuration in the parent, then start gunicorn."""
    issuer = development_issuer(host, port)
    if issuer is not None:
        os.environ["IDAAS_ISSUER"] = issuer  # inherited by the workers
        print(f"Issuer: {issuer} (set IDAAS_ISSUER to publish another one)", flush=True)
    create_app()
    IdaasServer(
        {
            "bind": f"{host}:{port}",
            "workers": workers,
            "threads": threads,
            "worker_class": "gthread" if threads > 1 else "sync",
            "accesslog": "-",
            "logger_class": RedactingLogger,
            "access_log_format": ACCESS_LOG_FORMAT,
            "timeout": 60,
            "graceful_timeout": 10,
            "forwarded_allow_ips": "127.0.0.1",
            "post_worker_init": start_embedded_worker,
        }
    ).run()
