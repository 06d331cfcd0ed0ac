"""Where a pending authorization request waits in the browser session during a sign-in."""

PENDING_KEY = "idaas_oidc_pending"
