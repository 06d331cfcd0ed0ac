"""RFC 9457 problem details for `/api/v1`, and the mapping from service errors to them.

`type` is `about:blank` for plain HTTP errors and a `urn:idaas:problem:<name>` URN for the
problems a client may act on; `fields` maps each invalid input field to its message.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from idaas.applications.errors import AlreadyDecided, ApplicationError, ClientNotFound
from idaas.directory.errors import (
    DirectoryError,
    NotFound,
    SourceOwned,
    ValidationFailed,
    VersionConflict,
)
from idaas.oidc.server import BearerError

PROBLEM = "urn:idaas:problem:"
MEDIA_TYPE = "application/problem+json"


class ApiProblem(Exception):
    """Raised by API helpers to answer with a problem document: the arguments of `problem`."""

    def __init__(self, status: int, title: str, detail: str | None = None, **members: Any) -> None:
        super().__init__(detail or title)
        self.status = status
        self.title = title
        self.detail = detail
        self.members = members  # problem's keywords: kind, fields


def problem(
    status: int,
    title: str,
    detail: str | None = None,
    *,
    kind: str | None = None,
    fields: dict[str, str] | None = None,
    **extra: Any,
) -> Response:
    """A problem+json response (RFC 9457 §3)."""
    body: dict[str, Any] = {
        "type": PROBLEM + kind if kind else "about:blank",
        "title": title,
        "status": status,
    }
    if detail:
        body["detail"] = detail
    if fields:
        body["fields"] = fields
    body.update({k: v for k, v in extra.items() if v is not None})
    response = jsonify(body)
    response.status_code = status
    response.mimetype = MEDIA_TYPE
    return response


def _api_problem(error: ApiProblem) -> Response:
    return problem(error.status, error.title, error.detail, **error.members)


def _bearer(error: BearerError) -> Response:
    status = error.code or 401
    title = "Forbidden" if status == 403 else "Unauthorized"
    response = problem(
        status, title, error.description, kind=error.error or "unauthorized", error=error.error
    )
    response.headers["WWW-Authenticate"] = error.challenge
    return response


def _directory(error: DirectoryError) -> Response:
    if isinstance(error, ValidationFailed):
        return problem(
            422, "Invalid input", error.message, kind="validation-failed", fields=error.fields
        )
    if isinstance(error, NotFound):
        return problem(404, "Not Found", error.message, kind="not-found")
    if isinstance(error, VersionConflict):
        return problem(412, "Precondition Failed", error.message, kind="version-conflict")
    if isinstance(error, SourceOwned):
        return problem(409, "Conflict", error.message, kind="source-owned", fields=error.fields)
    return problem(409, "Conflict", error.message, kind="conflict", fields=error.fields)


def _application(error: ApplicationError) -> Response:
    if isinstance(error, ClientNotFound):
        return problem(404, "Not Found", error.message, kind="not-found")
    if isinstance(error, AlreadyDecided):
        return problem(409, "Conflict", error.message, kind="already-decided")
    return problem(
        422, "Invalid input", error.message, kind="validation-failed", fields=error.fields
    )


def _http(error: HTTPException) -> Response:
    status = error.code or 500
    response = problem(status, error.name, error.description)
    for name, value in error.get_headers():
        if name.lower() not in ("content-type", "content-length"):
            response.headers[name] = value
    return response


def register(bp: Blueprint) -> None:
    """Render every error raised by the blueprint's views as problem+json."""
    bp.register_error_handler(ApiProblem, _api_problem)
    bp.register_error_handler(BearerError, _bearer)
    bp.register_error_handler(DirectoryError, _directory)
    bp.register_error_handler(ApplicationError, _application)
    bp.register_error_handler(HTTPException, _http)
