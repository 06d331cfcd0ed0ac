"""The writes behind POST, PUT and PATCH, shared by the resource endpoints and `/Bulk`."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext
from scim2_models import Context, InvalidValueException, PatchOp

from idaas.scim.server import deviations
from idaas.scim.server.kinds import Kind
from idaas.scim.server.provider import policy


def create(kind: Kind, body: dict[str, Any]) -> Any:
    """POST (RFC 7644 §3.3): validate the resource and create it."""
    resource = kind.model.model_validate(
        deviations.group_body(body),
        scim_ctx=Context.RESOURCE_CREATION_REQUEST,
        scim_policy=policy(),
    )
    return kind.create(resource)


def replace(kind: Kind, obj: Any, body: dict[str, Any], expected: int | None) -> Any:
    """PUT (RFC 7644 §3.5.1): make the object what the body says."""
    resource = kind.model.model_validate(
        deviations.group_body(body),
        scim_ctx=Context.RESOURCE_REPLACEMENT_REQUEST,
        scim_policy=policy(),
    )
    if resource.id is not None and resource.id != kind.public_id(obj):
        raise InvalidValueException(detail=gettext("id does not match the resource."))
    return kind.replace(obj, resource, expected)


def patch(kind: Kind, obj: Any, body: dict[str, Any], expected: int | None) -> Any:
    """PATCH (RFC 7644 §3.5.2): apply the operations to the current representation, then
    write the result at once (only what changed)."""
    operations = PatchOp[kind.model].model_validate(  # type: ignore[name-defined]
        deviations.patch_body(body), scim_ctx=Context.RESOURCE_PATCH_REQUEST, scim_policy=policy()
    )
    current = kind.render([obj])[0]
    original = current.model_copy(deep=True)
    if not operations.patch(current, scim_policy=policy()):
        return obj
    return kind.replace(obj, current, expected, complete=True, before=original)
