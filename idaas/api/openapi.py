"""`GET /api/v1/openapi.json`: the API's OpenAPI 3.1 document, built once per app."""

from __future__ import annotations

from flask import current_app, jsonify
from werkzeug.wrappers import Response

from idaas.api.blueprint import bp
from idaas.api.spec import build_document, operation


@bp.get("/openapi.json")
@operation("This document", tags=["meta"], scopes=None)
def openapi_document() -> Response:
    """The OpenAPI 3.1 description of every endpoint, scope and error of `/api/v1`."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    document = app.extensions.get("idaas_openapi")
    if document is None:
        document = app.extensions["idaas_openapi"] = build_document(app, "api")
    response = jsonify(document)
    response.headers["Cache-Control"] = "public, max-age=300"
    return response
