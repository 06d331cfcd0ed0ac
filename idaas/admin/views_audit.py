"""Console pages for the audit log: filters, detail, CSV export of the filtered range."""

from __future__ import annotations

from typing import Any

from flask import Response as FlaskResponse
from flask import abort, render_template, request, stream_with_context, url_for
from flask_babel import gettext

from idaas.admin.blueprint import bp
from idaas.admin.guard import actor, require
from idaas.admin.table import decode_cursor, encode_cursor
from idaas.audit import query as audit_query
from idaas.audit.service import OUTCOMES

FILTERS = ("actor", "action", "target", "outcome", "since", "until")
PAGE = 50


def _filter() -> tuple[audit_query.AuditFilter, dict[str, str]]:
    values = {name: request.args.get(name, "") for name in FILTERS}
    try:
        return audit_query.AuditFilter.parse(values), {}
    except audit_query.InvalidFilter as error:
        return audit_query.AuditFilter(), {error.field: error.message}


@bp.get("/audit")
@require("audit.read")
def audit() -> Any:
    """The audit log, newest first, filtered by actor, action, target, outcome and time."""
    flt, errors = _filter()
    after = decode_cursor("audit", "id.desc", request.args.get("cursor"))
    rows = audit_query.page(flt, before_id=after[1] if after else None, limit=PAGE + 1)
    next_cursor = None
    if len(rows) > PAGE:
        rows = rows[:PAGE]
        next_cursor = encode_cursor("audit", "id.desc", None, rows[-1].id)
    args = {k: v for k, v in request.args.items() if k in FILTERS and v}
    return render_template(
        "admin/audit.html",
        rows=rows,
        next_cursor=next_cursor,
        args=args,
        errors=errors,
        outcomes=sorted(OUTCOMES),
        crumbs=[(gettext("Audit log"), None)],
    ), (400 if errors else 200)


@bp.get("/audit/<int:event_id>")
@require("audit.read")
def audit_event(event_id: int) -> str:
    """One audit row with all its details."""
    row = audit_query.get(event_id)
    if row is None:
        abort(404)
    return render_template(
        "admin/audit_event.html",
        row=row,
        crumbs=[(gettext("Audit log"), url_for("admin.audit")), (f"#{row.id}", None)],
    )


@bp.get("/audit/export.csv")
@require("audit.export")
def audit_export() -> Any:
    """Download the filtered range as CSV (streamed, oldest first); the export is audited."""
    flt, errors = _filter()
    if errors:
        abort(400)
    audit_query.record_export(
        actor(), {k: v for k, v in request.args.items() if k in FILTERS and v}
    )
    body = stream_with_context(audit_query.export_csv(flt))
    response = FlaskResponse(body, mimetype="text/csv")
    response.headers["Content-Disposition"] = 'attachment; filename="idaas-audit.csv"'
    return response
