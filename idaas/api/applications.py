"""`/api/v1/applications`: CRUD of downstream applications (OIDC clients), scope
`applications:admin`. The client secret is in the response to a create, once, never again.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from flask import url_for
from pydantic import BaseModel
from werkzeug.wrappers import Response

from idaas.api.blueprint import bp
from idaas.api.http import json_response, no_content, origin
from idaas.api.schemas import Application as ApplicationOut
from idaas.api.schemas import (
    ApplicationCreate,
    ApplicationList,
    ApplicationUpdate,
    NewApplication,
)
from idaas.api.spec import operation
from idaas.applications import apps
from idaas.applications.serialise import application_to_dict

ADMIN = ["applications:admin"]
applications_operation = partial(operation, tags=["applications"], scopes=ADMIN)
CLIENT_ID = "string(minlength=1, maxlength=64)"


def _fields(body: BaseModel) -> dict[str, Any]:
    data = body.model_dump(exclude_unset=True)
    if isinstance(data.get("policy"), dict):
        data["policy"] = {k: v for k, v in data["policy"].items()}
    return data


@bp.get("/applications")
@applications_operation("List applications", response=ApplicationList)
def list_applications() -> Response:
    """Every application, oldest first."""
    return json_response({"items": [application_to_dict(a) for a in apps.list_applications()]})


@bp.post("/applications")
@applications_operation(
    "Create an application",
    body=ApplicationCreate,
    response=NewApplication,
    status=201,
    location=True,
)
def create_application(body: ApplicationCreate) -> Response:
    """Register an application (OIDC Registration §2 metadata); the secret is shown once."""
    fields = _fields(body)
    app, secret = apps.create_application(origin(), **fields)
    data = application_to_dict(app)
    if secret is not None:
        data["client_secret"] = secret
    response = json_response(
        data, 201, location=url_for("api.get_application", client_id=app.client_id)
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get(f"/applications/<{CLIENT_ID}:client_id>")
@applications_operation("Get an application", response=ApplicationOut)
def get_application(client_id: str) -> Response:
    """One application's registration."""
    return json_response(application_to_dict(apps.get_application(client_id)))


@bp.patch(f"/applications/<{CLIENT_ID}:client_id>")
@applications_operation("Change an application", body=ApplicationUpdate, response=ApplicationOut)
def update_application(client_id: str, body: ApplicationUpdate) -> Response:
    """Change registration fields; disabling stops sign-in and invalidates its tokens."""
    app = apps.update_application(origin(), client_id, **_fields(body))
    return json_response(application_to_dict(app))


@bp.delete(f"/applications/<{CLIENT_ID}:client_id>")
@applications_operation("Delete an application", status=204)
def delete_application(client_id: str) -> Response:
    """Delete an application and its client (RFC 9110 §9.3.5)."""
    apps.delete_application(origin(), client_id)
    return no_content()
