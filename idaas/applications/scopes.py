"""The OAuth2 scopes an API client can be granted (RFC 6749 §3.3), with what each allows."""

from __future__ import annotations

from collections.abc import Iterable

SCOPES: dict[str, str] = {
    "directory:read": "Read departments, accounts, groups, roles and attribute definitions.",
    "directory:write": "Create, change and delete directory objects (implies directory:read).",
    "scim:read": "Read resources through the SCIM 2.0 API (/scim/v2).",
    "scim:write": "Provision resources through the SCIM 2.0 API (/scim/v2).",
    "audit:read": "Read the audit log.",
    "clients:admin": "Review integration requests: approve (creates an API client) or reject.",
}


def unknown_scopes(scopes: Iterable[str]) -> list[str]:
    """The scopes in `scopes` that idaas does not define, sorted."""
    return sorted(set(scopes) - set(SCOPES))


def parse_scope(value: str | None) -> list[str]:
    """Split a space-delimited scope string (RFC 6749 §3.3) into a sorted, de-duplicated list."""
    return sorted({part for part in (value or "").split(" ") if part})
