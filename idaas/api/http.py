"""HTTP plumbing shared by the API views: origin, ETags and If-Match, cursors, responses.

ETags are strong (RFC 9110 §8.8.3) and derived from the object's `version` column, which the
directory service bumps on every change of the representation. A department's representation
also contains its materialised path, which changes when an ancestor moves without bumping the
department's own version, so its ETag adds a checksum of the path. `If-Match` uses the strong
comparison (§13.1.1): weak tags never match; `*` matches any existing object.
"""

from __future__ import annotations

import zlib
from typing import Any
from urllib.parse import urlencode

from flask import current_app, jsonify, request
from itsdangerous import BadSignature, URLSafeSerializer
from werkzeug.http import parse_etags
from werkzeug.wrappers import Response

from idaas.api.problems import ApiProblem
from idaas.directory.models import Department
from idaas.oidc.server import current_client_id


def origin() -> str:
    """The origin tag of this request's changes: `api:<client_id>`, or `admin:<id>` (console)."""
    from idaas.admin.api_auth import admin_origin

    return admin_origin() or f"api:{current_client_id()}"


def etag_value(obj: Any) -> str:
    """The (unquoted) strong ETag of a directory object."""
    if isinstance(obj, Department):
        return f"{obj.version}.{zlib.crc32(obj.path.encode()):08x}"
    return str(obj.version)


def expected_version(obj: Any) -> int | None:
    """The version the client's `If-Match` refers to, None without the header; 412 on mismatch."""
    header = request.headers.get("If-Match")
    if header is None:
        return None
    tags = parse_etags(header)
    if tags.star_tag or tags.contains(etag_value(obj)):
        return int(obj.version)
    raise ApiProblem(
        412,
        "Precondition Failed",
        "If-Match does not match the current ETag; reload the object and retry.",
        kind="version-conflict",
    )


def json_response(
    data: Any, status: int = 200, obj: Any = None, location: str | None = None
) -> Response:
    """A JSON response with the object's ETag (and 304 for a matching If-None-Match on GET)."""
    response = jsonify(data)
    response.status_code = status
    if obj is not None:
        response.set_etag(etag_value(obj))
        if request.method == "GET":
            response.make_conditional(request)
    if location:
        response.headers["Location"] = location
    return response


def no_content() -> Response:
    """204 No Content."""
    return Response(status=204)


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="idaas.api.cursor")


def encode_cursor(kind: str, last_id: int) -> str:
    """An opaque, signed cursor pointing after `last_id` of a `kind` listing."""
    return str(_serializer().dumps([kind, last_id]))


def decode_cursor(kind: str, cursor: str | None) -> int | None:
    """The id a cursor points after; 400 when it was not issued by us for this listing."""
    if not cursor:
        return None
    try:
        value = _serializer().loads(cursor)
    except (BadSignature, ValueError, TypeError):
        value = None
    if (
        not isinstance(value, list)
        or len(value) != 2
        or value[0] != kind
        or not isinstance(value[1], int)
        or isinstance(value[1], bool)
    ):
        raise ApiProblem(
            400,
            "Bad Request",
            "The cursor is not valid for this listing.",
            kind="invalid-query",
            fields={"cursor": "Unknown or damaged cursor."},
        )
    return int(value[1])


def next_link(response: Response, cursor: str | None) -> None:
    """Advertise the next page in a `Link` header (RFC 8288)."""
    if cursor:
        args = request.args.to_dict()
        args["cursor"] = cursor
        response.headers["Link"] = f'<{request.path}?{urlencode(args)}>; rel="next"'
