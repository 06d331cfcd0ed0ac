"""The data dictionary: custom attribute definitions and validation of their values."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from flask_babel import gettext, lazy_gettext
from sqlalchemy import select

from idaas.directory.errors import ValidationFailed
from idaas.directory.models import Account, AttributeDefinition, Department
from idaas.directory.normalise import EMAIL_PATTERN
from idaas.directory.service import unit
from idaas.directory.service.unit import (
    fetch,
    raise_if,
    record_change,
    unit_of_work,
)
from idaas.extensions import db

TYPES = ("string", "integer", "boolean", "date", "enum", "email")
TARGETS: dict[str, type[Account] | type[Department]] = {
    "account": Account,
    "department": Department,
}
KEY_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
DEFINITION_FIELDS = (
    "label",
    "type",
    "required",
    "unique",
    "editable",
    "enabled",
    "options",
    "sort_order",
)


def definitions(target: str, enabled_only: bool = False) -> list[AttributeDefinition]:
    """The attribute definitions of accounts or departments, in display order."""
    query = select(AttributeDefinition).where(AttributeDefinition.target == target)
    if enabled_only:
        query = query.where(AttributeDefinition.enabled.is_(True))
    return list(
        db.session.scalars(query.order_by(AttributeDefinition.sort_order, AttributeDefinition.id))
    )


def get_definition(definition_id: int) -> AttributeDefinition:
    """An attribute definition by id, or NotFound."""
    return fetch(
        AttributeDefinition,
        definition_id,
        lazy_gettext("Attribute definition %(id)s does not exist."),
    )


def _coerce(definition: AttributeDefinition, value: Any) -> Any:
    """The stored form of a value, or ValueError with a message for the person."""
    kind = definition.type
    if kind == "string":
        text = str(value).strip()
        if len(text) > 1024:
            raise ValueError(gettext("At most %(num)d characters.", num=1024))
        return text
    if kind == "integer":
        if isinstance(value, bool):
            raise ValueError(gettext("Must be a whole number."))
        try:
            return int(str(value).strip())
        except ValueError:
            raise ValueError(gettext("Must be a whole number.")) from None
    if kind == "boolean":
        if isinstance(value, bool):
            return value
        lowered = str(value).strip().lower()
        if lowered in {"true", "1", "yes"}:
            return True
        if lowered in {"false", "0", "no"}:
            return False
        raise ValueError(gettext("Must be true or false."))
    if kind == "date":
        try:
            return date.fromisoformat(str(value).strip()).isoformat()
        except ValueError:
            raise ValueError(gettext("Must be a date like 2024-05-31.")) from None
    if kind == "enum":
        if str(value) not in definition.options:
            raise ValueError(
                gettext("Must be one of: %(options)s.", options=", ".join(definition.options))
            )
        return str(value)
    if kind == "email":
        text = str(value).strip()
        if not EMAIL_PATTERN.match(text):
            raise ValueError(gettext("Not a valid email address."))
        return text
    raise ValueError(gettext("Unknown attribute type."))


def _is_empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def validate_values(
    target: str,
    values: dict[str, Any],
    errors: dict[str, str],
    *,
    creating: bool = False,
    exclude_id: int | None = None,
) -> dict[str, Any]:
    """Check custom attribute values against the definitions; add errors as `attributes.<key>`."""
    if not isinstance(values, dict):
        errors["attributes"] = gettext("Must be an object of attribute values.")
        return {}
    known = {d.key: d for d in definitions(target)}
    cleaned: dict[str, Any] = {}
    for key, value in values.items():
        definition = known.get(key)
        if definition is None or not definition.enabled:
            errors[f"attributes.{key}"] = gettext("Unknown attribute.")
            continue
        if _is_empty(value):
            continue
        try:
            cleaned[key] = _coerce(definition, value)
        except ValueError as exc:
            errors[f"attributes.{key}"] = str(exc)
    for key, definition in known.items():
        if not definition.enabled:
            continue
        if definition.required and key not in cleaned and f"attributes.{key}" not in errors:
            errors[f"attributes.{key}"] = gettext("This field is required.")
        if definition.unique and key in cleaned:
            model = TARGETS[target]
            query = select(model.id).where(model.attributes[key].as_string() == str(cleaned[key]))
            if exclude_id is not None:
                query = query.where(model.id != exclude_id)
            if db.session.scalar(query.limit(1)) is not None:
                errors[f"attributes.{key}"] = gettext("This value is already in use.")
    return cleaned


def _clean_definition(fields: dict[str, Any], errors: dict[str, str]) -> dict[str, Any]:
    clean: dict[str, Any] = {}
    if "label" in fields:
        label = str(fields["label"] or "").strip()
        if not label or len(label) > 128:
            errors["label"] = gettext("A label of 1-128 characters is required.")
        clean["label"] = label
    if "type" in fields:
        if fields["type"] not in TYPES:
            errors["type"] = gettext("Must be one of: %(options)s.", options=", ".join(TYPES))
        clean["type"] = fields["type"]
    for flag in ("required", "unique", "editable", "enabled"):
        if flag in fields:
            clean[flag] = bool(fields[flag])
    if "options" in fields:
        options = fields["options"] or []
        if not isinstance(options, list) or not all(isinstance(o, str) and o for o in options):
            errors["options"] = gettext("Must be a list of non-empty strings.")
        clean["options"] = list(options) if isinstance(options, list) else []
    if "sort_order" in fields:
        try:
            clean["sort_order"] = int(fields["sort_order"])
        except (TypeError, ValueError):
            errors["sort_order"] = gettext("Must be a whole number.")
    return clean


def define_attribute(
    origin: str, *, target: str, key: str, label: str, type: str, **flags: Any
) -> AttributeDefinition:
    """Add a custom attribute to accounts or departments."""
    errors: dict[str, str] = {}
    if target not in TARGETS:
        errors["target"] = gettext("Must be account or department.")
    if not KEY_PATTERN.match(key or ""):
        errors["key"] = gettext(
            "Use lowercase letters, digits and underscores, starting with a letter."
        )
    unknown = set(flags) - set(DEFINITION_FIELDS)
    for name in unknown:
        errors[name] = gettext("Unknown field.")
    clean = _clean_definition({"label": label, "type": type, **flags}, errors)
    if clean.get("type") == "enum" and not clean.get("options"):
        errors["options"] = gettext("An enum needs at least one option.")
    raise_if(errors)
    with unit_of_work():
        definition = AttributeDefinition(target=target, key=key, **clean)
        db.session.add(definition)
        db.session.flush()
        record_change(
            origin,
            "attribute_definition",
            definition.id,
            "created",
            definition.version,
            {"target": target, "key": key, "type": type},
        )
    return definition


def update_definition(
    origin: str, definition_id: int, *, expected_version: int | None = None, **fields: Any
) -> AttributeDefinition:
    """Change an attribute definition (its key and target are fixed)."""
    errors: dict[str, str] = {}
    for name in set(fields) - set(DEFINITION_FIELDS):
        errors[name] = gettext("This field cannot be changed.")
    clean = _clean_definition(fields, errors)
    raise_if(errors)
    with unit.writing(get_definition, definition_id, expected_version) as definition:
        changes = {k: v for k, v in clean.items() if getattr(definition, k) != v}
        for name, value in changes.items():
            setattr(definition, name, value)
        if definition.type == "enum" and not definition.options:
            raise ValidationFailed({"options": gettext("An enum needs at least one option.")})
        unit.record_new_version(origin, "attribute_definition", definition, "updated", changes)
    return definition


def delete_definition(
    origin: str, definition_id: int, *, expected_version: int | None = None
) -> None:
    """Remove an attribute definition (stored values stay until the object is next saved)."""
    with unit.writing(get_definition, definition_id, expected_version) as definition:
        db.session.delete(definition)
        record_change(
            origin,
            "attribute_definition",
            definition_id,
            "deleted",
            definition.version + 1,
            {"key": definition.key},
        )


def merge_values(target: str, stored: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """Stored values of still-enabled attributes, overlaid with new ones (None clears a value)."""
    enabled = {d.key for d in definitions(target, enabled_only=True)}
    merged = {key: value for key, value in stored.items() if key in enabled}
    merged.update(new)
    return {key: value for key, value in merged.items() if value is not None}
