"""Typed reads of the envelope's `params`; every problem is a 460 naming the parameter."""

from __future__ import annotations

import json
from typing import Any

from flask_babel import gettext

from idaas.industry.errors import ParameterError

MAX_TEXT = 255
MAX_LIST = 1000


def _fail(name: str, message: str) -> ParameterError:
    return ParameterError(f"{name}: {message}")


def text(params: dict[str, Any], name: str, *, required: bool = False) -> str | None:
    """A string parameter; empty counts as absent."""
    value = params.get(name)
    if value is None or value == "":
        if required:
            raise _fail(name, gettext("This parameter is required."))
        return None
    if not isinstance(value, str):
        raise _fail(name, gettext("Must be a string."))
    value = value.strip()
    if not value and required:
        raise _fail(name, gettext("This parameter is required."))
    if len(value) > MAX_TEXT:
        raise _fail(name, gettext("At most %(limit)s characters.", limit=MAX_TEXT))
    return value or None


def required_text(params: dict[str, Any], name: str) -> str:
    """A string parameter that must be present."""
    value = text(params, name, required=True)
    assert value is not None
    return value


def string_list(params: dict[str, Any], name: str, *, required: bool = False) -> list[str] | None:
    """A JSON array of strings (None when absent and optional)."""
    value = params.get(name)
    if value is None:
        if required:
            raise _fail(name, gettext("This parameter is required."))
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise _fail(name, gettext("Must be a JSON array of non-empty strings."))
    if len(value) > MAX_LIST:
        raise _fail(name, gettext("At most %(limit)s items.", limit=MAX_LIST))
    if required and not value:
        raise _fail(name, gettext("This parameter is required."))
    return list(dict.fromkeys(value))


def json_string_list(params: dict[str, Any], name: str) -> list[str] | None:
    """A string holding a JSON array of strings (`roleCodeList`, `appendResListStr`, ...)."""
    value = params.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise _fail(name, gettext("Must be a string holding a JSON array."))
    try:
        items = json.loads(value)
    except ValueError:
        raise _fail(name, gettext("Must be a string holding a JSON array.")) from None
    return string_list({name: items}, name)


def integer(params: dict[str, Any], name: str, *, default: int, low: int, high: int) -> int:
    """A whole number within [low, high]; numeric strings are accepted."""
    value = params.get(name)
    if value is None or value == "":
        return default
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise _fail(
            name, gettext("Must be a whole number from %(low)s to %(high)s.", low=low, high=high)
        )
    return value
