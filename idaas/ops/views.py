"""`/healthz`, `/readyz` and `/metrics`."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify
from werkzeug.wrappers import Response

from idaas.ops import readiness
from idaas.ops.metrics import CONTENT_TYPE

bp = Blueprint("ops", __name__)


@bp.get("/healthz")
def healthz() -> Response:
    """The process is up and serving requests."""
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz() -> tuple[Response, int]:
    """The database is reachable and its schema is at the latest migration."""
    problem = readiness.problem()
    if problem:
        return jsonify(status="unavailable", reason=problem), 503
    return jsonify(status="ok"), 200


@bp.get("/metrics")
def metrics() -> Response:
    """Prometheus exposition of request counts and latency."""
    body = current_app.extensions["idaas_metrics"].render()
    return Response(body, mimetype=CONTENT_TYPE)
