"""Preview: what a chosen account maps to under a mapping, before the admin saves it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from idaas.mapping.rules import map_record, validate_rules
from idaas.mapping.sources import account_record

if TYPE_CHECKING:
    from idaas.applications.models import Application
    from idaas.directory.models import Account


def preview_account(
    rules: Any, account: Account, application: Application | None = None
) -> dict[str, Any]:
    """`{"source": record, "values": {...}, "errors": [...]}`; ValueError for a bad mapping."""
    clean = validate_rules(rules)
    record, context = account_record(account, application)
    result = map_record(clean, record, context)
    return {"source": record, "values": result.values, "errors": result.errors}
