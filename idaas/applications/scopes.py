"""The OAuth2 scopes idaas knows (RFC 6749 §3.3): API scopes and OpenID Connect scopes."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask_babel import lazy_gettext as _l

SCOPES: dict[str, str] = {
    "directory:read": "Read departments, accounts, groups, roles and attribute definitions.",
    "directory:write": "Create, change and delete directory objects (implies directory:read).",
    "scim:read": "Read resources through the SCIM 2.0 API (/scim/v2).",
    "scim:write": "Provision resources through the SCIM 2.0 API (/scim/v2).",
    "audit:read": "Read the audit log.",
    "clients:admin": "Review integration requests: approve (creates an API client) or reject.",
    "applications:admin": "Create, change and delete applications (OIDC clients).",
    "tokens:introspect": "Introspect access and refresh tokens (RFC 7662).",
    "industry": "Use the digital-factory API (/industry): reads and permission checks.",
    "industry:write": "Digital-factory API: change employees and organisations (admin grant).",
    "industry:roles": "Digital-factory API: change roles and their permissions (second grant).",
    # Delivery engine (events)
    "deliveries:admin": "List and inspect deliveries; replay dead letters.",
    "jobs:admin": "List, start, inspect and cancel background jobs.",
    "provisioning:admin": "Configure, test, dry-run and run SCIM push of applications.",
    "settings:read": "Read the sign-in policy in force.",
    "settings:admin": "Read and change the sign-in policy (implies settings:read).",
}

#: Scopes an OIDC application may request (OIDC Core §5.4 plus idaas claims).
OIDC_SCOPES: dict[str, Any] = {
    "openid": _l("Your identifier for this application"),
    "profile": _l("Your name, username and language"),
    "email": _l("Your email address"),
    "phone": _l("Your mobile phone number"),
    "offline_access": _l("Access while you are away (stay signed in)"),
    "departments": _l("Your departments"),
    "groups": _l("Your groups"),
    "roles": _l("Your roles"),
    "employee_number": _l("Your employee number"),
}


def unknown_scopes(scopes: Iterable[str]) -> list[str]:
    """The scopes in `scopes` that idaas does not define for API clients, sorted."""
    return sorted(set(scopes) - set(SCOPES))


def unknown_oidc_scopes(scopes: Iterable[str]) -> list[str]:
    """The scopes in `scopes` that an OIDC application cannot be given, sorted."""
    return sorted(set(scopes) - set(OIDC_SCOPES))


def parse_scope(value: str | None) -> list[str]:
    """Split a space-delimited scope string (RFC 6749 §3.3) into a sorted, de-duplicated list."""
    return sorted({part for part in (value or "").split(" ") if part})
