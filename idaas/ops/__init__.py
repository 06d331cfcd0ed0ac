"""Operations endpoints: liveness, readiness and Prometheus metrics."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the operations blueprint and request metrics."""
    from idaas.ops import metrics, views

    metrics.init_app(app)
    app.register_blueprint(views.bp)
