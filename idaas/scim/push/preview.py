"""Preview: the User a target would receive for a chosen account, under a (draft) mapping."""

from __future__ import annotations

from typing import Any

from idaas import mapping
from idaas.applications.apps import get_application
from idaas.applications.errors import InvalidInput
from idaas.directory import service as directory
from idaas.scim.push import resources, settings
from idaas.scim.push.models import ProvisioningTarget


def preview(client_id: str, account_id: int, rules: Any = None) -> dict[str, Any]:
    """`{"resource", "values", "errors"}` for one account; nothing is saved or sent.

    `rules` (a draft mapping) replaces the saved one; InvalidInput when it is malformed.
    """
    app = get_application(client_id)
    saved = settings.find(app)
    if rules is None:
        rules = list(saved.mapping or []) if saved else []
    try:
        clean = mapping.validate_rules(rules, resources.valid_target)
    except ValueError as exc:
        raise InvalidInput({"mapping": str(exc)}) from None
    account = directory.get_account(account_id)
    shown = mapping.preview_account(clean, account, app)
    draft = ProvisioningTarget(application_id=app.id, mapping=clean)
    resource = None if shown["errors"] else resources.user_body(draft, account)
    return {"resource": resource, "values": shown["values"], "errors": shown["errors"]}
