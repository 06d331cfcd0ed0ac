"""Operation metadata and the OpenAPI 3.1 document of `/api/v1`, generated from the code.

Each view is declared with `@operation(...)`: the same declaration enforces the scope,
parses and validates the query string and JSON body (pydantic), and describes the
operation, its scope and its errors in the document. The document is assembled with
apispec (the marshmallow project's spec builder) from the blueprint's URL rules and the
pydantic models' JSON Schemas.

Why apispec + pydantic rather than flask-smorest, spectree or APIFlask: APIFlask replaces
the Flask class; flask-smorest brings marshmallow and its own Blueprint and error format;
spectree validates and answers errors its own way. We need RFC 9457 problem+json with our
field map and authlib's bearer challenge on every error, so validation stays ours and the
library only has to build a correct document, which is exactly what apispec does.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from apispec import APISpec
from authlib.oauth2 import OAuth2Error
from flask import Flask, request
from pydantic import BaseModel, ValidationError
from pydantic.json_schema import models_json_schema

from idaas.api import schemas
from idaas.api.problems import ApiProblem
from idaas.applications.scopes import SCOPES
from idaas.oidc.server import require_oauth

OPERATIONS: dict[str, Operation] = {}
MAX_BODY_BYTES = 1024 * 1024
_RULE_ARGUMENT = re.compile(r"<(?:([a-z]+)(?:\([^)]*\))?:)?([A-Za-z_][A-Za-z0-9_]*)>")
STANDARD_ERRORS = {
    400: "The query string or request is malformed.",
    401: "No, an invalid or an expired access token (see `WWW-Authenticate`).",
    403: "The access token lacks the required scope (`insufficient_scope`).",
    404: "No such object.",
    409: "The object is managed by an external source, or the request conflicts with its state.",
    412: "`If-Match` does not match the current ETag: reload and retry.",
    413: "The body is larger than 1 MiB.",
    415: "The body must be `application/json`.",
    422: "The body is invalid; `fields` says what to fix.",
    429: "Too many requests; retry later.",
}


@dataclass
class Operation:
    """What the document says about one view, and what the wrapper enforces."""

    summary: str
    tags: list[str]
    scopes: list[str] | None
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    response: type[BaseModel] | None = None
    status: int = 200
    etag: bool = False
    if_match: bool = False
    location: bool = False
    errors: set[int] = field(default_factory=set)
    description: str | None = None


def _json_body(model: type[BaseModel]) -> BaseModel:
    if not request.is_json:
        raise ApiProblem(415, "Unsupported Media Type", "Send the body as application/json.")
    if (request.content_length or 0) > MAX_BODY_BYTES:
        raise ApiProblem(413, "Content Too Large", f"At most {MAX_BODY_BYTES} bytes.")
    data = request.get_json(silent=True)
    if data is None:
        raise ApiProblem(400, "Bad Request", "The body is not valid JSON.", kind="malformed")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ApiProblem(
            422,
            "Invalid input",
            "The body is invalid.",
            kind="validation-failed",
            fields=_fields(exc),
        ) from None


def _query(model: type[BaseModel]) -> BaseModel:
    data = {key: request.args.get(key) for key in request.args}
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ApiProblem(
            400,
            "Bad Request",
            "The query string is invalid.",
            kind="invalid-query",
            fields=_fields(exc),
        ) from None


def _fields(exc: ValidationError) -> dict[str, str]:
    fields: dict[str, str] = {}
    for item in exc.errors(include_url=False, include_input=False):
        name = ".".join(str(part) for part in item["loc"]) or "body"
        fields.setdefault(name, str(item["msg"]))
    return fields


def operation(
    summary: str, *, tags: list[str], scopes: list[str] | None, **options: Any
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Declare a view: `scopes` (any one suffices; None = public), body/query models, responses."""
    meta = Operation(summary=summary, tags=tags, scopes=scopes, **options)

    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if meta.scopes is not None:
                _authorise(meta.scopes)
            if meta.query is not None:
                kwargs["query"] = _query(meta.query)
            if meta.body is not None:
                kwargs["body"] = _json_body(meta.body)
            return view(*args, **kwargs)

        meta.description = (view.__doc__ or "").strip() or None
        OPERATIONS[_key(view)] = meta
        return wrapper

    return decorator


def _key(view: Callable[..., Any]) -> str:
    return f"{view.__module__}.{view.__qualname__}"


def _authorise(scopes: list[str]) -> None:
    """Validate the bearer token and its scope (RFC 6750), or an admin's console session."""
    from idaas.admin.api_auth import authorise_session

    if authorise_session(scopes):
        return
    try:
        require_oauth.acquire_token(scopes)
    except OAuth2Error as error:
        require_oauth.raise_error_response(error)


def _schemas() -> tuple[dict[Any, Any], dict[str, Any]]:
    models: list[type[BaseModel]] = [
        value
        for value in vars(schemas).values()
        if isinstance(value, type)
        and issubclass(value, BaseModel)
        and value not in (BaseModel, schemas.Strict, schemas.Query)
    ]
    inputs: list[tuple[type[BaseModel], Literal["validation", "serialization"]]] = [
        (m, "validation") for m in models
    ]
    refs, definitions = models_json_schema(inputs, ref_template="#/components/schemas/{model}")
    return refs, definitions.get("$defs", {})


def _ref(refs: dict[Any, Any], model: type[BaseModel]) -> dict[str, Any]:
    return dict(refs[(model, "validation")])


def _problem_response(refs: dict[Any, Any], description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/problem+json": {"schema": _ref(refs, schemas.Problem)}},
    }


def _parameters(
    rule_text: str, meta: Operation, refs: dict[Any, Any], definitions: dict[str, Any]
) -> list[dict[str, Any]]:
    params: list[dict[str, Any]] = []
    for converter, name in _RULE_ARGUMENT.findall(rule_text):
        schema: dict[str, Any] = (
            {"type": "integer", "minimum": 1, "maximum": schemas.MAX_ID}
            if converter == "int"
            else {"type": "string", "minLength": 1, "maxLength": 64, "pattern": "^[A-Za-z0-9_-]+$"}
        )
        params.append({"name": name, "in": "path", "required": True, "schema": schema})
    if meta.query is not None:
        query_schema = definitions[meta.query.__name__]
        required = set(query_schema.get("required", []))
        for name, prop in query_schema.get("properties", {}).items():
            params.append(
                {"name": name, "in": "query", "required": name in required, "schema": prop}
            )
    if meta.if_match:
        params.append(
            {
                "name": "If-Match",
                "in": "header",
                "required": False,
                "description": "The ETag you read (strong comparison, RFC 9110 §13.1.1).",
                "schema": {"type": "string", "maxLength": 200, "pattern": "^[\\x20-\\x7e]*$"},
            }
        )
    return params


def _operation_doc(
    endpoint: str,
    rule_text: str,
    meta: Operation,
    refs: dict[Any, Any],
    definitions: dict[str, Any],
) -> dict[str, Any]:
    doc: dict[str, Any] = {"operationId": endpoint, "summary": meta.summary, "tags": meta.tags}
    if meta.description:
        doc["description"] = meta.description
    if meta.scopes is not None:
        doc["security"] = [{"oauth2": [scope]} for scope in meta.scopes]
        doc["description"] = (
            doc.get("description", "") + "\n\nScope: " + " or ".join(f"`{s}`" for s in meta.scopes)
        ).strip()
    else:
        doc["security"] = []
    params = _parameters(rule_text, meta, refs, definitions)
    if params:
        doc["parameters"] = params
    if meta.body is not None:
        doc["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": _ref(refs, meta.body)}},
        }
    ok: dict[str, Any] = {"description": "Success."}
    if meta.response is not None:
        ok["content"] = {"application/json": {"schema": _ref(refs, meta.response)}}
    headers: dict[str, Any] = {}
    if meta.etag:
        headers["ETag"] = {
            "description": "Strong entity tag of the object's version.",
            "schema": {"type": "string"},
        }
    if meta.location:
        headers["Location"] = {"description": "The new object's URL.", "schema": {"type": "string"}}
    if headers:
        ok["headers"] = headers
    if meta.status == 204:
        ok = {"description": "Done; no content."}
    responses: dict[str, Any] = {str(meta.status): ok}
    errors = set(meta.errors)
    if meta.scopes is not None:
        errors |= {401, 403}
    if meta.query is not None:
        errors.add(400)
    if meta.body is not None:
        errors |= {400, 413, 415, 422}
    if "<" in rule_text:
        errors.add(404)
    if meta.if_match:
        errors.add(412)
    for status in sorted(errors):
        responses[str(status)] = _problem_response(refs, STANDARD_ERRORS[status])
    doc["responses"] = responses
    return doc


def build_document(app: Flask, blueprint: str) -> dict[str, Any]:
    """The OpenAPI 3.1 document of every view of `blueprint` declared with `@operation`."""
    from idaas.version import __version__

    issuer = app.config["ISSUER"]
    spec = APISpec(
        title="idaas directory API",
        version=__version__,
        openapi_version="3.1.0",
        info={
            "description": "Manage the directory with OAuth2 client-credentials tokens "
            "(RFC 6749 §4.4). Errors are RFC 9457 problem documents."
        },
        servers=[{"url": "/"}],
    )
    refs, definitions = _schemas()
    for name, schema in sorted(definitions.items()):
        spec.components.schema(name, schema)
    spec.components.security_scheme(
        "oauth2",
        {
            "type": "oauth2",
            "description": "Client credentials; send the token as `Authorization: Bearer ...`.",
            "flows": {
                "clientCredentials": {"tokenUrl": f"{issuer}/oauth2/token", "scopes": dict(SCOPES)}
            },
        },
    )
    paths: dict[str, dict[str, Any]] = {}
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith(blueprint + "."):
            continue
        view_name = rule.endpoint.split(".", 1)[1]
        meta = OPERATIONS.get(_key(app.view_functions[rule.endpoint]))
        if meta is None:
            continue
        path = _RULE_ARGUMENT.sub(r"{\2}", rule.rule)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            paths.setdefault(path, {})[method.lower()] = _operation_doc(
                view_name, rule.rule, meta, refs, definitions
            )
    for path in sorted(paths):
        spec.path(path=path, operations=paths[path])
    return spec.to_dict()
