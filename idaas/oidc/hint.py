"""Whether an RP-Initiated Logout `id_token_hint` may end this browser's session without asking.

RP-Initiated Logout 1.0 §2 only asks the OP to check that it issued the hint; any JWT idaas
signed would pass that (another person's ID token, an access token). Here the hint must be an
ID token of this issuer for an application, about the person of this browser's session: its
`sid` names this session, or (no `sid`) its `sub` is the session account's subject for that
application (issue 11 finding 8). Otherwise the view asks for confirmation.
"""

from __future__ import annotations

from typing import Any

from joserfc import jws
from joserfc.errors import JoseError

from idaas.applications.apps import find_enabled_application
from idaas.auth.models import AuthSession
from idaas.directory.models import Account
from idaas.extensions import db
from idaas.oidc import principal

ACCESS_TOKEN_TYPES = ("at+jwt", "application/at+jwt")


def is_id_token(hint: str) -> bool:
    """Whether the hint's JWS header marks an ID token (not an RFC 9068 access token)."""
    try:
        header = jws.extract_compact(hint.encode("ascii")).protected
    except (JoseError, ValueError, UnicodeError):
        return False
    return str(header.get("typ", "JWT")).lower() not in ACCESS_TOKEN_TYPES


def matches_session(claims: dict[str, Any], issuer: str, row: AuthSession | None) -> bool:
    """Whether verified hint `claims` are an ID token of `issuer` for the session `row`."""
    if row is None or claims.get("iss") != issuer:
        return False
    audience = claims.get("aud")
    client_id = audience if isinstance(audience, str) else None
    if isinstance(audience, list) and len(audience) == 1 and isinstance(audience[0], str):
        client_id = audience[0]
    app = find_enabled_application(client_id)
    if app is None or "client_id" in claims or "scope" in claims:
        return False  # not an ID token of one of our applications
    sid = claims.get("sid")
    if sid is not None:
        return bool(sid == principal.sid_for(row.id))
    account = db.session.get(Account, row.account_id)
    return account is not None and claims.get("sub") == principal.subject_for(app, account)
