"""Console page of the SCIM server: the endpoint, what it supports, static bearer tokens."""

from __future__ import annotations

from typing import Any

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from werkzeug.wrappers import Response

from idaas.admin.blueprint import bp, confirmed_action, error_message, or_404, secret_page
from idaas.admin.guard import actor, require
from idaas.applications import service as clients
from idaas.applications.errors import ApplicationError
from idaas.applications.models import ApiClient
from idaas.scim import tokens


def _crumbs() -> list[tuple[str, str | None]]:
    return [(gettext("SCIM"), url_for("admin.scim"))]


def _scim_clients() -> list[ApiClient]:
    return [c for c in clients.list_clients() if set(c.scopes or []) & set(tokens.SCIM_SCOPES)]


@bp.get("/scim")
@require("applications.read")
def scim() -> str:
    """The SCIM endpoint to hand out, its capabilities, and each SCIM client's static tokens."""
    from idaas.scim.server.provider import service_provider_config

    rows = [(c, tokens.list_tokens(c.client_id)) for c in _scim_clients()]
    return render_template(
        "admin/scim.html",
        base_url=str(current_app.config["ISSUER"]).rstrip("/") + "/scim/v2",
        config=service_provider_config(),
        rows=rows,
        scopes=tokens.SCIM_SCOPES,
        crumbs=_crumbs(),
    )


@bp.post("/scim/clients/<client_id>/tokens")
@require("applications.write")
def scim_token_new(client_id: str) -> Response:
    """Issue a static bearer token for a console that cannot do OAuth; shown once."""
    client = or_404(ApplicationError, clients.get_client, client_id)
    wanted = [s for s in request.form.getlist("scopes") if s in tokens.SCIM_SCOPES]
    try:
        _row, token = tokens.issue(
            actor(), client.client_id, request.form.get("name", ""), wanted or None
        )
    except tokens.TokenError as error:
        flash(error_message(error), "error")
        return redirect(url_for(".scim"))
    return secret_page(
        title=gettext("New SCIM token"),
        secret=token,
        secret_label=gettext("Bearer token"),
        next_url=url_for(".scim"),
        client_id=client.client_id,
        crumbs=_crumbs(),
    )


@bp.route("/scim/clients/<client_id>/tokens/<int:token_id>/revoke", methods=["GET", "POST"])
@require("applications.write")
def scim_token_revoke(client_id: str, token_id: int) -> Any:
    """Revoke a static token at once (asks first)."""
    client = or_404(ApplicationError, clients.get_client, client_id)
    return confirmed_action(
        client,
        title=gettext("Revoke SCIM token"),
        question=gettext("Revoke this token? Consoles using it are refused from now on."),
        label=gettext("Revoke"),
        run=lambda c: tokens.revoke(actor(), c.client_id, token_id),
        success=gettext("The token has been revoked."),
        cancel_url=url_for(".scim"),
        crumbs=_crumbs(),
        details=[(gettext("API client"), client.name), (gettext("Token"), token_id)],
    )
