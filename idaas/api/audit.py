"""`GET /api/v1/audit`: the audit log for clients with the `audit:read` scope (newest first)."""

from __future__ import annotations

from werkzeug.wrappers import Response

from idaas.api import schemas as s
from idaas.api.blueprint import bp
from idaas.api.http import decode_cursor, encode_cursor, json_response, next_link
from idaas.api.problems import ApiProblem
from idaas.api.spec import operation
from idaas.audit import query as audit_query


@bp.get("/audit")
@operation(
    "List audit events",
    tags=["audit"],
    scopes=["audit:read"],
    query=s.AuditQuery,
    response=s.AuditPage,
)
def list_audit(query: s.AuditQuery) -> Response:
    """Audit rows filtered by actor, action (`prefix*` allowed), target, outcome and time."""
    try:
        flt = audit_query.AuditFilter.parse(
            {
                "actor": query.actor,
                "action": query.action,
                "target": query.target,
                "outcome": query.outcome,
                "since": query.since,
                "until": query.until,
            }
        )
    except audit_query.InvalidFilter as error:
        raise ApiProblem(
            400,
            "Bad Request",
            error.message,
            kind="invalid-query",
            fields={error.field: error.message},
        ) from None
    before = decode_cursor("audit", query.cursor)
    rows = audit_query.page(flt, before_id=before, limit=query.limit + 1)
    more = len(rows) > query.limit
    rows = rows[: query.limit]
    cursor = encode_cursor("audit", rows[-1].id) if more and rows else None
    response = json_response(
        {"items": [audit_query.to_dict(r) for r in rows], "next_cursor": cursor}
    )
    next_link(response, cursor)
    return response
