"""Request plumbing for `/scim/v2`: bearer auth, JSON bodies, ETags, SCIM responses."""

from __future__ import annotations

import json
from typing import Any

from authlib.oauth2 import OAuth2Error
from flask import current_app, g, jsonify, request
from flask_babel import gettext
from scim2_models import InvalidSyntaxException, PreconditionFailedException
from werkzeug.exceptions import UnsupportedMediaType
from werkzeug.http import parse_etags
from werkzeug.wrappers import Response

from idaas.oidc.server import BearerError, require_oauth
from idaas.scim import tokens
from idaas.scim.server.errors import MEDIA_TYPE

READ = ["scim:read", "scim:write"]
WRITE = ["scim:write"]
JSON_TYPES = ("application/scim+json", "application/json")


def authenticate(write: bool) -> None:
    """Accept a client-credentials access token or a static SCIM token (RFC 6750 §2.1).

    Sets `g.scim_client_id`; raises BearerError (401/403 with a challenge) otherwise.
    """
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    value = value.strip()
    if scheme.lower() == "bearer" and value.startswith(tokens.TOKEN_PREFIX):
        found = tokens.verify(value)
        if found is None:
            raise BearerError(401, "invalid_token", "The token is invalid or was revoked.")
        client, scopes = found
        needed = WRITE if write else READ
        if not set(scopes) & set(needed):
            raise BearerError(
                403,
                "insufficient_scope",
                "The token lacks the scope this operation needs.",
                scope=needed[0],
            )
        g.scim_client_id = client.client_id
        return
    try:
        token = require_oauth.acquire_token(WRITE if write else READ)
    except OAuth2Error as error:
        require_oauth.raise_error_response(error)
    g.scim_client_id = str(token["client_id"])


def origin() -> str:
    """The origin of changes made by the calling client: `scim:<client_id>`."""
    return f"scim:{g.scim_client_id}"


def system() -> str:
    """The external-reference system holding the calling client's `externalId`s."""
    return f"scim:{g.scim_client_id}"


def base_url() -> str:
    """The absolute URL of `/scim/v2` for `meta.location` and `$ref`."""
    return request.url_root.rstrip("/") + "/scim/v2"


def json_body() -> dict[str, Any]:
    """The request's JSON object; 415 for other media types, 400 invalidSyntax if malformed."""
    mimetype = (request.mimetype or "").lower()
    if mimetype not in JSON_TYPES:
        raise UnsupportedMediaType(
            gettext(
                "Send application/scim+json (RFC 7644 §3.1), not %(type)s.",
                type=mimetype or "nothing",
            )
        )
    raw = request.get_data(cache=True)
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise InvalidSyntaxException(detail=gettext("The body is not valid JSON.")) from None
    if not isinstance(body, dict):
        raise InvalidSyntaxException(detail=gettext("The body must be a JSON object."))
    return body


def scim_response(
    data: Any, status: int = 200, etag: str | None = None, location: str | None = None
) -> Response:
    """A SCIM JSON response with its ETag and Location."""
    response = jsonify(data)
    response.status_code = status
    response.mimetype = MEDIA_TYPE
    if etag:
        response.headers["ETag"] = etag
    if location:
        response.headers["Location"] = location
    return response


def check_if_match(current_etag: str) -> None:
    """RFC 7644 §3.14 / RFC 9110 §13.1.1: a write with a stale If-Match gets 412.

    SCIM's ETags are weak (its examples use W/), so tags are compared weakly here.
    """
    header = request.headers.get("If-Match")
    if header is None:
        return
    tags = parse_etags(header)
    if tags.star_tag or _weak_value(current_etag) in {_weak_value(t) for t in _raw_tags(header)}:
        return
    raise PreconditionFailedException(
        detail=gettext("If-Match does not match the current version; read the resource again.")
    )


def not_modified(current_etag: str) -> bool:
    """Whether a GET's If-None-Match names the current version (answer 304)."""
    header = request.headers.get("If-None-Match")
    if header is None:
        return False
    if parse_etags(header).star_tag:
        return True
    return _weak_value(current_etag) in {_weak_value(t) for t in _raw_tags(header)}


def _raw_tags(header: str) -> list[str]:
    return [part.strip() for part in header.split(",") if part.strip()]


def _weak_value(tag: str) -> str:
    tag = tag.strip()
    if tag.startswith("W/"):
        tag = tag[2:]
    return tag.strip('"')


def max_results() -> int:
    """The most resources one page returns (filter.maxResults)."""
    return int(current_app.config["SCIM_MAX_RESULTS"])
