"""The OpenID provider's state, one module per job; this module names them for older callers.

- `principal`: who the person is to an app (`sub`, `sid`, authentication facts);
- `claims`: the claims a scope releases;
- `consent`: authorization decisions and remembered consent;
- `codes`: authorization codes and nonces;
- `tokens`: token families, liveness and revocation;
- `rp_sessions`: the relying parties of each idaas session (logout).

Every decision the issue lists (authorization granted/denied, consent, token issued, refresh
reuse, logout) is audited in those modules, never with a token value.
"""

from __future__ import annotations

from idaas.oidc.claims import user_claims
from idaas.oidc.codes import CODE_LIFETIME, claim_code, nonce_used, principal_of_code, save_code
from idaas.oidc.consent import (
    consents_of,
    grant_consent,
    has_consent,
    record_decision,
    revoke_consent,
)
from idaas.oidc.principal import (
    Principal,
    epoch,
    principal_for,
    sector_of,
    sid_for,
    subject_for,
)
from idaas.oidc.rp_sessions import end_rp_sessions, rp_sessions_of
from idaas.oidc.tokens import (
    current_generation,
    digest,
    live_access_token,
    live_refresh_token,
    revoke_family,
    revoke_token_row,
    save_token,
    token_by_jti,
)

__all__ = [
    "CODE_LIFETIME",
    "Principal",
    "claim_code",
    "consents_of",
    "current_generation",
    "digest",
    "end_rp_sessions",
    "epoch",
    "grant_consent",
    "has_consent",
    "live_access_token",
    "live_refresh_token",
    "nonce_used",
    "principal_for",
    "principal_of_code",
    "record_decision",
    "revoke_consent",
    "revoke_family",
    "revoke_token_row",
    "rp_sessions_of",
    "save_code",
    "save_token",
    "sector_of",
    "sid_for",
    "subject_for",
    "token_by_jti",
    "user_claims",
]
