"""Every failure under `/scim/v2` as a SCIM Error (RFC 7644 §3.12) with its `scimType`."""

from __future__ import annotations

import logging
from typing import Any

from flask import jsonify
from flask_babel import gettext
from pydantic import ValidationError
from scim2_models import Error, SCIMException
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from idaas.directory.errors import (
    NotFound,
    SourceOwned,
    ValidationFailed,
    VersionConflict,
)
from idaas.oidc.server import BearerError
from idaas.scim.casting import CastError
from idaas.scim.server import bp

log = logging.getLogger(__name__)
MEDIA_TYPE = "application/scim+json"

# Directory field names -> the SCIM attribute a client sent.
SCIM_NAMES = {
    "username": "userName",
    "display_name": "displayName",
    "given_name": "name.givenName",
    "family_name": "name.familyName",
    "email": "emails",
    "mobile": "phoneNumbers",
    "employee_number": "employeeNumber",
    "title": "title",
    "locale": "preferredLanguage",
    "status": "active",
    "password": "password",
    "memberships": "departments",
    "manager_id": "manager",
    "primary_department_id": "departments",
    "external_id": "externalId",
    "name": "displayName",
    "members": "members",
    "parent_id": "parent",
    "sort_order": "sortOrder",
}


def scim_error(status: int, scim_type: str | None, detail: str) -> Response:
    """A SCIM Error response."""
    body = Error(status=status, scim_type=scim_type, detail=detail).model_dump(mode="json")
    response = jsonify(body)
    response.status_code = status
    response.mimetype = MEDIA_TYPE
    return response


def _scim_name(field: str) -> str:
    head, _, rest = field.partition(".")
    if head == "attributes" and rest:
        return f'attributes[name eq "{rest}"]'
    return SCIM_NAMES.get(field, field)


def _uniqueness_messages() -> set[str]:
    return {
        gettext("Another account already uses this value."),
        gettext("This value is already in use."),
        gettext("Another group already uses this name."),
        gettext("This external id belongs to another object."),
    }


@bp.errorhandler(SCIMException)
def _scim_exception(error: SCIMException) -> Response:
    return scim_error(error.status, error.scim_type or None, error.detail)


@bp.errorhandler(ValidationError)
def _validation_error(error: ValidationError) -> Response:
    errors = Error.from_validation_errors(error)
    first = errors[0] if errors else Error(status=400, scim_type="invalidValue")
    detail = "; ".join(e.detail or "" for e in errors if e.detail) or gettext("Invalid request.")
    return scim_error(int(first.status or 400), first.scim_type or "invalidValue", detail)


@bp.errorhandler(CastError)
def _cast_error(error: CastError) -> Response:
    return scim_error(400, "invalidValue", f"{error.path}: {error.message}")


@bp.errorhandler(ValidationFailed)
def _validation_failed(error: ValidationFailed) -> Response:
    unique = _uniqueness_messages()
    clashes = [name for name, message in error.fields.items() if message in unique]
    detail = "; ".join(f"{_scim_name(name)}: {message}" for name, message in error.fields.items())
    if clashes:
        return scim_error(409, "uniqueness", detail)
    return scim_error(400, "invalidValue", detail)


@bp.errorhandler(SourceOwned)
def _source_owned(error: SourceOwned) -> Response:
    names = ", ".join(sorted({_scim_name(name) for name in error.fields}))
    detail = gettext(
        "%(fields)s: DingTalk owns these fields of this object (%(message)s) "
        "Change them in DingTalk.",
        fields=names,
        message=error.message,
    )
    return scim_error(400, "mutability", detail)


@bp.errorhandler(NotFound)
def _not_found(error: NotFound) -> Response:
    return scim_error(404, None, error.message)


@bp.errorhandler(VersionConflict)
def _version_conflict(error: VersionConflict) -> Response:
    return scim_error(412, None, error.message)


@bp.errorhandler(BearerError)
def _bearer(error: BearerError) -> Response:
    response = scim_error(error.code or 401, None, str(error.description))
    response.headers["WWW-Authenticate"] = error.challenge
    return response


@bp.errorhandler(HTTPException)
def _http(error: HTTPException) -> Response:
    status = error.code or 500
    scim_type = "invalidSyntax" if status == 400 else None
    response = scim_error(status, scim_type, str(error.description or error.name))
    valid = getattr(error, "valid_methods", None)
    if status == 405 and valid:
        response.headers["Allow"] = ", ".join(valid)
    return response


def error_response(error: Exception) -> Response | None:
    """The SCIM Error response for a known failure, or None for an unexpected one."""
    for kind, handler in _HANDLERS:
        if isinstance(error, kind):
            return handler(error)
    return None


_HANDLERS: list[tuple[type[Exception], Any]] = [
    (SCIMException, _scim_exception),
    (ValidationError, _validation_error),
    (CastError, _cast_error),
    (ValidationFailed, _validation_failed),
    (SourceOwned, _source_owned),
    (NotFound, _not_found),
    (VersionConflict, _version_conflict),
    (BearerError, _bearer),
    (HTTPException, _http),
]


@bp.errorhandler(Exception)
def _unexpected(error: Exception) -> Response:
    if isinstance(error, HTTPException):
        return _http(error)
    from idaas.extensions import db

    db.session.rollback()
    log.exception("unhandled SCIM error")
    return scim_error(500, None, gettext("Something went wrong on our side. Please try again."))
