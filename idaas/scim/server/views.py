"""`/scim/v2` endpoints (RFC 7644 §3): resources, search, discovery, `/Me`, `/Bulk`.

Every route accepts every method and answers the ones it does not implement with a SCIM 405,
and every unknown path with a SCIM 404, so nothing under `/scim/v2` answers in another format.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import request
from flask_babel import gettext, lazy_gettext
from scim2_models import (
    Context,
    NotFoundException,
    NotImplementedException,
    ResourceType,
    Schema,
    SearchRequest,
)
from sqlalchemy import func
from werkzeug.exceptions import MethodNotAllowed
from werkzeug.wrappers import Response

from idaas.extensions import db
from idaas.scim.server import bp, writes
from idaas.scim.server.filters import apply_filter
from idaas.scim.server.http import (
    authenticate,
    base_url,
    check_if_match,
    json_body,
    max_results,
    not_modified,
    scim_response,
)
from idaas.scim.server.kinds import KINDS, Kind
from idaas.scim.server.provider import policy, provider, service_provider_config

ALL_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]
LIST_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:ListResponse"


def _refuse(allowed: list[str]) -> MethodNotAllowed:
    return MethodNotAllowed(valid_methods=allowed)


def _kind(endpoint: str) -> Kind:
    kind = KINDS.get(endpoint)
    if kind is None:
        raise NotFoundException(detail=gettext("No such SCIM endpoint."))
    return kind


def dump(resource: Any, context: Context, params: Any = None) -> dict[str, Any]:
    """A resource as JSON, honouring `attributes` / `excludedAttributes` (RFC 7644 §3.9)."""
    return resource.model_dump(
        mode="json", scim_ctx=context, response_parameters=params, scim_policy=policy()
    )


def _response_params(kind: Kind) -> Any:
    """`attributes` / `excludedAttributes` of a GET, POST, PUT or PATCH (RFC 7644 §3.9)."""
    args = {
        key: request.args[key]
        for key in ("attributes", "excludedAttributes")
        if key in request.args
    }
    if not args:
        return None
    return SearchRequest[kind.model].model_validate(  # type: ignore[name-defined]
        args, scim_ctx=Context.SEARCH_REQUEST
    )


# -- resources ---------------------------------------------------------------------------


@bp.route("/<any(Users, Groups, Departments):endpoint>", methods=ALL_METHODS)
def collection(endpoint: str) -> Response:
    """GET lists and filters (RFC 7644 §3.4.2); POST creates (§3.3)."""
    kind = _kind(endpoint)
    if request.method == "GET":
        authenticate(write=False)
        return _search(kind, request.args.to_dict())
    if request.method == "POST":
        authenticate(write=True)
        return _create(kind, json_body())
    raise _refuse(["GET", "POST"])


@bp.route("/<any(Users, Groups, Departments):endpoint>/.search", methods=ALL_METHODS)
def search(endpoint: str) -> Response:
    """POST /.search: the query in a SearchRequest body (RFC 7644 §3.4.3)."""
    kind = _kind(endpoint)
    if request.method != "POST":
        raise _refuse(["POST"])
    authenticate(write=False)
    body = json_body()
    body.pop("schemas", None)
    return _search(kind, body)


@bp.route("/<any(Users, Groups, Departments):endpoint>/<resource_id>", methods=ALL_METHODS)
def resource(endpoint: str, resource_id: str) -> Response:
    """GET, PUT, PATCH, DELETE one resource (RFC 7644 §3.4.1, §3.5.1, §3.5.2, §3.6)."""
    kind = _kind(endpoint)
    write = request.method != "GET"
    if request.method not in ("GET", "PUT", "PATCH", "DELETE"):
        raise _refuse(["GET", "PUT", "PATCH", "DELETE"])
    authenticate(write=write)
    obj = kind.find(resource_id)
    etag = kind.etag(obj)
    if request.method == "GET":
        if not_modified(etag):
            response = Response(status=304)
            response.headers["ETag"] = etag
            return response
        params = _response_params(kind)
        if params is None:
            return scim_response(kind.render_json([obj])[0], etag=etag)
        rendered = kind.render([obj])[0]
        return scim_response(dump(rendered, Context.RESOURCE_QUERY_RESPONSE, params), etag=etag)
    check_if_match(etag)
    expected = kind.version(obj) if request.headers.get("If-Match") else None
    if request.method == "DELETE":
        kind.delete(obj, expected)
        return Response(status=204)
    if request.method == "PUT":
        return _replace(kind, obj, json_body(), expected)
    return _patch(kind, obj, json_body(), expected)


def _create(kind: Kind, body: dict[str, Any]) -> Response:
    return _written(kind, writes.create(kind, body), 201, Context.RESOURCE_CREATION_RESPONSE)


def _replace(kind: Kind, obj: Any, body: dict[str, Any], expected: int | None) -> Response:
    updated = writes.replace(kind, obj, body, expected)
    return _written(kind, updated, 200, Context.RESOURCE_REPLACEMENT_RESPONSE)


def _patch(kind: Kind, obj: Any, body: dict[str, Any], expected: int | None) -> Response:
    updated = writes.patch(kind, obj, body, expected)
    return _written(kind, updated, 200, Context.RESOURCE_PATCH_RESPONSE)


def _written(kind: Kind, obj: Any, status: int, context: Context) -> Response:
    db.session.refresh(obj)
    etag = kind.etag(obj)
    params = _response_params(kind)
    if params is None:
        body = kind.render_json([obj])[0]
    else:
        body = dump(kind.render([obj])[0], context, params)
    return scim_response(
        body,
        status=status,
        etag=etag,
        location=body.get("meta", {}).get("location") if status == 201 else None,
    )


def _search(kind: Kind, params: dict[str, Any]) -> Response:
    """Filter, sort and page in SQL (RFC 7644 §3.4.2.2-§3.4.2.4)."""
    request_model = SearchRequest[kind.model].model_validate(  # type: ignore[name-defined]
        params, scim_ctx=Context.SEARCH_REQUEST
    )
    translator = kind.translator()
    tree = request_model.filter.ast if request_model.filter is not None else None
    filtered = apply_filter(kind.query(), translator, tree)
    start = max(request_model.start_index or 1, 1)
    count = request_model.count
    count = max_results() if count is None else min(max(count, 0), max_results())
    if request_model.sort_by is not None:
        column = translator.sort_column(request_model.sort_by.ast)  # type: ignore[arg-type]
        descending = request_model.sort_order == SearchRequest.SortOrder.descending
        query = filtered.order_by(column.desc() if descending else column.asc(), kind.key())
    else:
        query = filtered.order_by(kind.key())
    rows = list(db.session.scalars(query.offset(start - 1).limit(count))) if count else []
    total: int | None
    if count and len(rows) < count and (rows or start == 1):
        # The last page, or nothing at all from the start (a lookup that misses, Entra's
        # "does this user exist yet?"): the total is known without a COUNT(*).
        total = start - 1 + len(rows)
    else:
        # Counted without ORDER BY: SQLite then counts from its smallest index (100,000
        # accounts: well under a millisecond, against 40 ms for the ordered subquery).
        total = db.session.scalar(
            filtered.with_only_columns(func.count(), maintain_column_froms=True)
        )
    if request_model.attributes or request_model.excluded_attributes:
        resources = [dump(r, Context.SEARCH_RESPONSE, request_model) for r in kind.render(rows)]
    else:
        resources = kind.render_json(rows)
    body = {
        "schemas": [LIST_RESPONSE],
        "totalResults": total or 0,
        "startIndex": start,
        "itemsPerPage": len(resources),
        "Resources": resources,
    }
    return scim_response(body)


# -- discovery (RFC 7644 §4) -------------------------------------------------------------


@bp.route("/ServiceProviderConfig", methods=ALL_METHODS)
def service_provider_config_view() -> Response:
    """The ServiceProviderConfig (RFC 7643 §5)."""
    if request.method != "GET":
        raise _refuse(["GET"])
    config = service_provider_config()
    config.meta = _discovery_meta("ServiceProviderConfig", "/ServiceProviderConfig")
    return scim_response(dump(config, Context.RESOURCE_QUERY_RESPONSE))


def _discovery_meta(resource_type: str, path: str) -> Any:
    from scim2_models import Meta

    return Meta(resource_type=resource_type, location=base_url() + path)


def _resource_types() -> list[ResourceType]:
    types = []
    for resource_type in provider().resource_types:
        copy = resource_type.model_copy(deep=True)
        copy.meta = _discovery_meta("ResourceType", f"/ResourceTypes/{copy.id}")
        types.append(copy)
    return types


def _schemas() -> list[Schema]:
    schemas = []
    for schema in provider().schemas:
        copy = schema.model_copy(deep=True)
        # Generated from class docstrings: one line of text, not the source's line breaks.
        copy.description = " ".join((copy.description or "").split()) or None
        copy.meta = _discovery_meta("Schema", f"/Schemas/{copy.id}")
        schemas.append(copy)
    return schemas


def _listing(items: list[Any]) -> Response:
    body = {
        "schemas": [LIST_RESPONSE],
        "totalResults": len(items),
        "startIndex": 1,
        "itemsPerPage": len(items),
        "Resources": [dump(item, Context.SEARCH_RESPONSE) for item in items],
    }
    return scim_response(body)


# Discovery documents listed at /ResourceTypes and /Schemas: the items, whether an item is the
# one a path names (schema URNs ignore case), and the 404 detail.
DISCOVERY: dict[str, tuple[Callable[[], list[Any]], Callable[[Any, str], bool], Any]] = {
    "ResourceTypes": (
        _resource_types,
        lambda resource_type, name: resource_type.id == name,
        lazy_gettext("No such resource type."),
    ),
    "Schemas": (
        _schemas,
        lambda schema, name: str(schema.id).lower() == name.lower(),
        lazy_gettext("No such schema."),
    ),
}


@bp.route("/<any(ResourceTypes, Schemas):document>", methods=ALL_METHODS)
@bp.route("/<any(ResourceTypes, Schemas):document>/<path:name>", methods=ALL_METHODS)
def discovery(document: str, name: str | None = None) -> Response:
    """The resource types idaas serves (RFC 7643 §6) and the schemas, generated from the models
    the server validates with (§7): all of them, or the one named."""
    if request.method != "GET":
        raise _refuse(["GET"])
    items, matches, missing = DISCOVERY[document]
    if name is None:
        return _listing(items())
    for item in items():
        if matches(item, name):
            return scim_response(dump(item, Context.RESOURCE_QUERY_RESPONSE))
    raise NotFoundException(detail=str(missing))


@bp.route("/.search", methods=ALL_METHODS)
def root_search() -> Response:
    """Searching several resource types at once (RFC 7644 §3.4.3 at the root): not offered."""
    if request.method != "POST":
        raise _refuse(["POST"])
    authenticate(write=False)
    raise NotImplementedException(
        detail=gettext("Search one resource type at a time: POST /Users/.search, ...")
    )


@bp.route("/Me", methods=ALL_METHODS)
@bp.route("/Me/<path:rest>", methods=ALL_METHODS)
def me(rest: str | None = None) -> Response:
    """`/Me` (RFC 7644 §3.11) is not implemented: SCIM clients here are machines, not people."""
    raise NotImplementedException(
        detail=gettext("/Me is not implemented: the callers are API clients, not people.")
    )


@bp.route("/", methods=ALL_METHODS)
@bp.route("/<path:rest>", methods=ALL_METHODS)
def unknown(rest: str | None = None) -> Response:
    """Anything else under `/scim/v2`: a SCIM 404."""
    raise NotFoundException(detail=gettext("No such SCIM endpoint."))
