"""`POST /Bulk` (RFC 7644 §3.7): many operations in one request, with bulkId references.

Operations run in order through the same code as the single resource endpoints, all in one
database transaction with a savepoint per operation: a failed operation undoes only its own
writes, `failOnErrors` stops after that many failures, and what succeeded is committed once at
the end (one commit instead of a thousand). The request-size limit of this route is
`SCIM_BULK_MAX_PAYLOAD` (announced as bulk.maxPayloadSize), set on the request itself so it
applies whatever the global MAX_CONTENT_LENGTH is.
"""

from __future__ import annotations

import re
from typing import Any

from flask import current_app, request
from flask_babel import gettext
from scim2_models import (
    InvalidSyntaxException,
    InvalidValueException,
    PayloadTooLargeException,
    PreconditionFailedException,
    SCIMException,
)
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wrappers import Response

from idaas.directory.service.unit import atomic, savepoint
from idaas.scim.server import bp, writes
from idaas.scim.server.errors import error_response, log
from idaas.scim.server.http import authenticate, base_url, json_body, scim_response
from idaas.scim.server.kinds import KINDS, Kind

BULK_REQUEST = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
BULK_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:BulkResponse"
PATH = re.compile(r"^/(Users|Groups|Departments)(?:/([^/]+))?$")
BULK_ID = "bulkId:"


class _Unresolved(Exception):
    """A `bulkId:` reference to an operation that did not (yet) create anything."""


def _resolve(value: Any, ids: dict[str, str]) -> Any:
    """Replace `bulkId:<id>` references by the ids the earlier operations created (§3.7.2)."""
    if isinstance(value, str) and value.startswith(BULK_ID):
        key = value[len(BULK_ID) :]
        if key not in ids:
            raise _Unresolved(key)
        return ids[key]
    if isinstance(value, str) and "/" + BULK_ID in value:
        head, _, key = value.rpartition("/" + BULK_ID)
        if key not in ids:
            raise _Unresolved(key)
        return f"{head}/{ids[key]}"
    if isinstance(value, list):
        return [_resolve(v, ids) for v in value]
    if isinstance(value, dict):
        return {k: _resolve(v, ids) for k, v in value.items()}
    return value


@bp.route("/Bulk", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
def bulk() -> Response:
    """Run the operations of a BulkRequest; answer with a BulkResponse."""
    from idaas.scim.server.views import _refuse

    if request.method != "POST":
        raise _refuse(["POST"])
    limit = int(current_app.config["SCIM_BULK_MAX_PAYLOAD"])
    request.max_content_length = limit
    if (request.content_length or 0) > limit:
        raise PayloadTooLargeException(
            detail=gettext("A Bulk request may carry at most %(n)d bytes.", n=limit)
        )
    authenticate(write=True)
    try:
        body = json_body()
    except RequestEntityTooLarge:
        raise PayloadTooLargeException(
            detail=gettext("A Bulk request may carry at most %(n)d bytes.", n=limit)
        ) from None
    operations = body.get("Operations")
    if not isinstance(operations, list):
        raise InvalidSyntaxException(detail=gettext("A BulkRequest needs an Operations list."))
    maximum = int(current_app.config["SCIM_BULK_MAX_OPERATIONS"])
    if len(operations) > maximum:
        raise PayloadTooLargeException(
            detail=gettext("A Bulk request may carry at most %(n)d operations.", n=maximum)
        )
    fail_on_errors = body.get("failOnErrors")
    if fail_on_errors is not None and (
        isinstance(fail_on_errors, bool) or not isinstance(fail_on_errors, int)
    ):
        raise InvalidValueException(detail=gettext("failOnErrors must be a whole number."))
    ids: dict[str, str] = {}
    results: list[dict[str, Any]] = []
    errors = 0
    with atomic():
        for operation in operations:
            if fail_on_errors and errors >= fail_on_errors:
                break
            result = _run(operation, ids)
            if int(result["status"]) >= 400:
                errors += 1
            results.append(result)
    return scim_response({"schemas": [BULK_RESPONSE], "Operations": results})


def _run(operation: Any, ids: dict[str, str]) -> dict[str, Any]:
    """One operation -> its BulkResponse entry (errors become a status and a SCIM Error)."""
    entry: dict[str, Any] = {}
    try:
        if not isinstance(operation, dict):
            raise InvalidSyntaxException(detail=gettext("Each operation must be an object."))
        method = str(operation.get("method", "")).upper()
        entry["method"] = method
        bulk_id = operation.get("bulkId")
        if bulk_id is not None:
            entry["bulkId"] = bulk_id
        if method not in ("POST", "PUT", "PATCH", "DELETE"):
            raise InvalidValueException(detail=gettext("Unknown bulk method."))
        if method == "POST" and not isinstance(bulk_id, str):
            raise InvalidValueException(detail=gettext("A POST operation needs a bulkId."))
        try:
            path = _resolve(str(operation.get("path", "")), ids)
            data = _resolve(operation.get("data"), ids)
        except _Unresolved as unresolved:
            raise InvalidValueException(
                detail=gettext(
                    "bulkId %(id)s does not name an earlier successful POST.", id=str(unresolved)
                )
            ) from None
        match = PATH.match(path)
        if match is None:
            raise InvalidValueException(detail=gettext("Unknown bulk path."))
        kind = KINDS[match.group(1)]
        resource_id = match.group(2)
        if (method == "POST") == (resource_id is not None):
            raise InvalidValueException(
                detail=gettext("POST goes to a collection; PUT, PATCH and DELETE to a resource.")
            )
        if method != "DELETE" and not isinstance(data, dict):
            raise InvalidSyntaxException(detail=gettext("The operation needs a data object."))
        with savepoint():
            status, location, version = _apply(
                kind, method, resource_id, data, operation.get("version")
            )
        if method == "POST" and isinstance(bulk_id, str) and location:
            ids[bulk_id] = location.rsplit("/", 1)[-1]
        entry["status"] = str(status)
        if location:
            entry["location"] = location
        if version:
            entry["version"] = version
    except Exception as error:  # noqa: BLE001 - each failure becomes this operation's status
        response = error_response(error)
        if response is None:
            log.exception("unhandled error in a SCIM bulk operation")
            response = error_response(SCIMException(detail=gettext("Internal error.")))
            assert response is not None
            response.status_code = 500
        body = response.get_json()
        entry["status"] = str(response.status_code)
        body["status"] = str(response.status_code)
        entry["response"] = body
    return entry


def _apply(
    kind: Kind, method: str, resource_id: str | None, data: Any, version: Any
) -> tuple[int, str | None, str | None]:
    """Run one operation; return (status, location, version)."""
    base = base_url() + kind.endpoint
    if method == "POST":
        obj = writes.create(kind, data)
        return 201, f"{base}/{kind.public_id(obj)}", kind.etag(obj)
    assert resource_id is not None
    obj = kind.find(resource_id)
    expected = None
    if version is not None:
        if _weak(str(version)) != _weak(kind.etag(obj)):
            raise PreconditionFailedException(
                detail=gettext("The version does not match the current one.")
            )
        expected = kind.version(obj)
    if method == "DELETE":
        kind.delete(obj, expected)
        return 204, None, None
    if method == "PUT":
        obj = writes.replace(kind, obj, data, expected)
    else:
        obj = writes.patch(kind, obj, data, expected)
    return 200, f"{base}/{resource_id}", kind.etag(obj)


def _weak(tag: str) -> str:
    return tag.strip().removeprefix("W/").strip('"')
