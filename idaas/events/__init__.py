"""The transactional outbox of change events; later: deliveries, jobs, worker and scheduler."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Nothing to register yet beyond the models (imported for metadata)."""
    from idaas.events import models  # noqa: F401
