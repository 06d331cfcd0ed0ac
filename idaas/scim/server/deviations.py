"""What real provisioning clients send that scim2-models would refuse, made acceptable.

scim2-models already accepts op names in any case, string booleans, path-less replaces and a
`remove` carrying a value (policy `remove_value_as_filter`). Three habits remain:

- Microsoft Entra sends member values as `{"$ref": null, "value": "<id>"}`; a null `$ref` is
  "no value" (RFC 7643 §2.5), not a criterion, so it is dropped before matching.
- Okta sends `display` with the members it adds; it is read-only here (the member's name is
  the user's), and RFC 7644 §3.5.1 has read-only values ignored, not refused.
- Microsoft Entra sets the enterprise `manager` with the manager's id as a bare string
  (`"value": "<id>"`, documented in its SCIM guide) where the attribute is complex; Okta sends
  `{"value": "<id>"}`. The bare string becomes the complex value.
"""

from __future__ import annotations

from typing import Any

from idaas.scim.resources import ENTERPRISE_SCHEMA

READ_ONLY_MEMBER_KEYS = {"display"}
MANAGER_PATH = f"{ENTERPRISE_SCHEMA}:manager".lower()


def _clean_member(entry: Any) -> Any:
    if not isinstance(entry, dict):
        return entry
    return {
        key: value
        for key, value in entry.items()
        if value is not None and key.lower() not in READ_ONLY_MEMBER_KEYS
    }


def group_body(body: dict[str, Any]) -> dict[str, Any]:
    """A Group POST/PUT body with members cleaned."""
    for key in list(body):
        if key.lower() == "members" and isinstance(body[key], list):
            body[key] = [_clean_member(m) for m in body[key]]
    return body


def patch_body(body: dict[str, Any]) -> dict[str, Any]:
    """A PatchOp body whose member values are cleaned."""
    operations = body.get("Operations")
    if not isinstance(operations, list):
        return body
    for operation in operations:
        if not isinstance(operation, dict):
            continue
        path = str(operation.get("path") or "").lower()
        value = operation.get("value")
        if path.startswith("members") and isinstance(value, list):
            operation["value"] = [_clean_member(v) for v in value]
        elif path.startswith("members") and isinstance(value, dict):
            operation["value"] = _clean_member(value)
        elif path == MANAGER_PATH and isinstance(value, str):
            operation["value"] = {"value": value}
        elif not path and isinstance(value, dict):
            group_body(value)
            _manager_object(value)
    return body


def _manager_object(value: dict[str, Any]) -> None:
    """A path-less value's bare-string manager (`"urn:...:User:manager": "<id>"`) as an object."""
    for key in list(value):
        if key.lower() == MANAGER_PATH and isinstance(value[key], str):
            value[key] = {"value": value[key]}
