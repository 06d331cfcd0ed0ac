"""The contract's JSON envelope (§2.2, §2.3): `{id, version, request:{apiVer}, params}` in,
`{id, code, message, localizedMsg, data}` out, and the caller's language."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

from flask import Response, current_app, request

from idaas.industry.errors import IndustryError, RequestFormatError

PROTOCOL_VERSION = "1.0"
MAX_ID_LENGTH = 128


@dataclass(frozen=True)
class Envelope:
    """A parsed request envelope."""

    id: str
    api_ver: str
    params: dict[str, Any]
    language: str | None


def load(body: bytes) -> Any:
    """The body as JSON, or None when it is not UTF-8 JSON (parsed once per request)."""
    try:
        return json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None


def parse(document: Any) -> Envelope:
    """Check the loaded body against the JSON envelope, whatever the Content-Type (§2.1)."""
    if document is None:
        raise RequestFormatError("Body is not UTF-8 JSON.")
    if not isinstance(document, dict):
        raise RequestFormatError("Body must be a JSON object.")
    request_id = document.get("id")
    meta = document.get("request")
    params = document.get("params", {})
    if not isinstance(request_id, str) or not 0 < len(request_id) <= MAX_ID_LENGTH:
        raise RequestFormatError("id: a string of 1-128 characters.")
    if document.get("version") != PROTOCOL_VERSION:
        raise RequestFormatError('version: must be "1.0".')
    if not isinstance(meta, dict) or not isinstance(meta.get("apiVer"), str):
        raise RequestFormatError("request.apiVer: required.")
    if not isinstance(params, dict):
        raise RequestFormatError("params: must be a JSON object.")
    return Envelope(request_id, meta["apiVer"], params, language_of(document))


def language_of(document: Any) -> str | None:
    """The envelope's `request.language` (or `locale`), if any."""
    meta = document.get("request") if isinstance(document, dict) else None
    language = (meta.get("language") or meta.get("locale")) if isinstance(meta, dict) else None
    return language if isinstance(language, str) else None


def request_id_of(document: Any) -> str:
    """The request's tracing id if the body has one, else a fresh one (echoed, §2.3)."""
    value = document.get("id") if isinstance(document, dict) else None
    if isinstance(value, str) and 0 < len(value) <= MAX_ID_LENGTH:
        return value
    return uuid.uuid4().hex


def choose_locale(language: str | None) -> str:
    """The envelope's `language`/`locale`, then Accept-Language, then the default language."""
    languages: list[str] = current_app.config["LANGUAGES"]
    if language:
        wanted = language.replace("-", "_")
        for candidate in (wanted, wanted.split("_")[0]):
            for known in languages:
                if known.lower() == candidate.lower() or known.split("_")[0] == candidate.lower():
                    return known
    best = request.accept_languages.best_match(languages)
    return best or str(current_app.config["BABEL_DEFAULT_LOCALE"])


def success(request_id: str, data: Any) -> Response:
    """A successful answer."""
    return _response(
        {"id": request_id, "code": 200, "message": "success", "localizedMsg": None, "data": data},
        200,
    )


def failure(request_id: str, error: IndustryError) -> Response:
    """An error answer: gateway errors with their HTTP status, business errors with 200."""
    response = _response(
        {
            "id": request_id,
            "code": error.code,
            "message": error.message,
            "localizedMsg": error.localized_message(),
            "data": None,
        },
        error.http_status,
    )
    if error.http_status != 200:
        response.headers["X-Ca-Error-Message"] = error.header or error.message
    return response


def _response(document: dict[str, Any], status: int) -> Response:
    body = json.dumps(document, ensure_ascii=False, separators=(",", ":"))
    return Response(body, status=status, content_type="application/json; charset=utf-8")
