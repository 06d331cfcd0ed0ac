"""`idaas clients ...`: API clients, OIDC applications and integration requests.

`idaas clients create --kind KIND` dispatches to `CLIENT_KINDS[KIND]`; a new kind of client
registers its creator there (and adds its own options), so kinds are additive.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from idaas.applications import service
from idaas.applications.errors import ApplicationError
from idaas.applications.models import ID_TOKEN_ALGS, OIDC_GRANT_TYPES
from idaas.applications.scopes import OIDC_SCOPES, SCOPES
from idaas.applications.serialise import application_to_dict, client_to_dict, request_to_dict
from idaas.cli_support import ServiceGroup, cli_origin, emit, emit_rows, json_command


def _create_api_client(
    name: str, scopes: tuple[str, ...], note: str | None, owner: str | None
) -> dict[str, Any]:
    client, secret = service.create_client(
        cli_origin(), name=name, scopes=scopes, note=note, owner=owner
    )
    return {**client_to_dict(client), "client_secret": secret}


def _create_oidc_client(name: str, scopes: tuple[str, ...], **options: Any) -> dict[str, Any]:
    from idaas.applications import apps

    fields: dict[str, Any] = {}
    if options.get("consent") is not None:
        fields["consent_required"] = options["consent"]
    if options.get("id_token_alg"):
        fields["id_token_alg"] = options["id_token_alg"]
    for key in ("initiate_login_uri", "backchannel_logout_uri", "frontchannel_logout_uri"):
        if options.get(key):
            fields[key] = options[key]
    if options.get("subject_type"):
        fields["subject_type"] = options["subject_type"]
    if options.get("description"):
        fields["description"] = options["description"]
    app, secret = apps.create_application(
        cli_origin(),
        name=name,
        redirect_uris=options.get("redirect_uris") or (),
        public=bool(options.get("public")),
        scopes=scopes or None,
        grant_types=options.get("grants") or None,
        post_logout_redirect_uris=list(options.get("post_logout_redirect_uris") or ()),
        **fields,
    )
    data = application_to_dict(app)
    if secret is not None:
        data["client_secret"] = secret
    return data


CLIENT_KINDS: dict[str, Callable[..., dict[str, Any]]] = {
    "api": _create_api_client,
    "oidc": _create_oidc_client,
}


@click.group("clients", cls=ServiceGroup, errors=(ApplicationError,))
def clients_group() -> None:
    """Manage API clients (AppKey/AppSecret) and integration requests."""


@json_command(clients_group, "create")
@click.option(
    "--kind",
    type=click.Choice(sorted(CLIENT_KINDS)),
    default="api",
    show_default=True,
    help="api: OAuth2 client credentials for the directory/SCIM APIs; oidc: an application.",
)
@click.option("--name", required=True)
@click.option(
    "--scope",
    "scopes",
    multiple=True,
    metavar="SCOPE",
    help="Repeat for several: " + ", ".join([*SCOPES, *OIDC_SCOPES]),
)
@click.option("--note")
@click.option("--owner", help="Who is responsible for this client (person, team or email).")
@click.option("--redirect-uri", "redirect_uris", multiple=True, help="oidc: exact redirect URI.")
@click.option("--post-logout-redirect-uri", "post_logout_redirect_uris", multiple=True)
@click.option("--public", is_flag=True, help="oidc: a public client (no secret, PKCE).")
@click.option("--grant", "grants", multiple=True, type=click.Choice(OIDC_GRANT_TYPES))
@click.option("--consent/--no-consent", default=None, help="oidc: ask for consent (third party).")
@click.option("--id-token-alg", type=click.Choice(ID_TOKEN_ALGS))
@click.option("--initiate-login-uri")
@click.option("--backchannel-logout-uri")
@click.option("--frontchannel-logout-uri")
@click.option("--subject-type", type=click.Choice(["public", "pairwise"]))
@click.option("--description")
def create(kind: str, name: str, scopes: tuple[str, ...], as_json: bool, **options: Any) -> None:
    """Create a client and print its id and secret (the secret is shown only this once)."""
    if kind == "api":
        api_only = ("note", "owner")
        options = {k: v for k, v in options.items() if k in api_only}
    else:
        options = {k: v for k, v in options.items() if k not in ("note", "owner")}
        if not options.get("redirect_uris"):
            raise click.UsageError("--kind oidc needs at least one --redirect-uri")
    data = CLIENT_KINDS[kind](name=name, scopes=scopes, **options)
    secret_line = (
        f"  client_secret: {data['client_secret']}\n"
        "Store the secret now: it cannot be shown again (rotate it if lost)."
        if "client_secret" in data
        else "  public client: no secret; use PKCE (S256)."
    )
    emit(
        data,
        as_json,
        f"Created {kind} client {data['name']}\n  client_id:     {data['client_id']}\n"
        + secret_line,
    )


def _client_line(r: dict[str, Any]) -> str:
    """An API client as one line of `idaas clients list`."""
    return (
        f"{r['client_id']:<28} {'enabled ' if r['enabled'] else 'disabled'} "
        f"{r['name']:<24} {' '.join(r['scopes'])}"
    )


@json_command(clients_group, "list")
def list_clients(as_json: bool) -> None:
    """List API clients."""
    rows = [client_to_dict(c) for c in service.list_clients()]
    emit_rows(rows, as_json, _client_line, "No API clients.")


def _emit_new_secret(data: dict[str, Any], as_json: bool) -> None:
    """Print a client or application with the secret it was just given (shown this once)."""
    text = f"New secret for {data['client_id']} (shown once): {data['client_secret']}"
    emit(data, as_json, text)


@json_command(clients_group, "rotate")
@click.argument("client_id")
def rotate(client_id: str, as_json: bool) -> None:
    """Replace a client's secret and print the new one once; the old one stops working."""
    client, secret = service.rotate_secret(cli_origin(), client_id)
    _emit_new_secret({**client_to_dict(client), "client_secret": secret}, as_json)


def _toggle(client_id: str, enabled: bool, as_json: bool) -> None:
    client = service.set_enabled(cli_origin(), client_id, enabled)
    emit(
        client_to_dict(client),
        as_json,
        f"{'Enabled' if enabled else 'Disabled'} {client.client_id}.",
    )


@json_command(clients_group, "disable")
@click.argument("client_id")
def disable(client_id: str, as_json: bool) -> None:
    """Disable a client: no new tokens, and its existing tokens stop working."""
    _toggle(client_id, False, as_json)


@json_command(clients_group, "enable")
@click.argument("client_id")
def enable(client_id: str, as_json: bool) -> None:
    """Enable a client again (tokens issued before it was disabled stay invalid)."""
    _toggle(client_id, True, as_json)


@json_command(clients_group, "delete")
@click.argument("client_id")
def delete(client_id: str, as_json: bool) -> None:
    """Delete a client and invalidate its tokens."""
    service.delete_client(cli_origin(), client_id)
    emit({"client_id": client_id, "deleted": True}, as_json, f"Deleted {client_id}.")


@clients_group.group("requests")
def requests_group() -> None:
    """Review integration requests from third parties."""


def _request_line(r: dict[str, Any]) -> str:
    """An integration request as lines of `idaas clients requests list`."""
    return (
        f"{r['reference']}  {r['status']:<8} {r['name']:<24} {' '.join(r['scopes'])}"
        f"\n    contact: {r['contact']}\n    reason:  {r['reason']}"
    )


@json_command(requests_group, "list")
@click.option("--status", type=click.Choice(["pending", "approved", "rejected", "expired"]))
def list_requests(status: str | None, as_json: bool) -> None:
    """List integration requests."""
    rows = [request_to_dict(r) for r in service.list_requests(status)]
    emit_rows(rows, as_json, _request_line, "No integration requests.")


@json_command(requests_group, "approve")
@click.argument("reference")
@click.option("--scope", "scopes", multiple=True, help="Grant fewer scopes than requested.")
def approve(reference: str, scopes: tuple[str, ...], as_json: bool) -> None:
    """Approve a request: create its API client and print the secret once."""
    request, client, secret = service.approve_request(
        cli_origin(), reference, scopes=list(scopes) if scopes else None
    )
    emit(
        {
            "request": request_to_dict(request),
            "client": {**client_to_dict(client), "client_secret": secret},
        },
        as_json,
        f"Approved. client_id: {client.client_id}\nclient_secret (shown once): {secret}",
    )


@json_command(requests_group, "reject")
@click.argument("reference")
@click.option("--reason", required=True, help="Shown to the requester.")
def reject(reference: str, reason: str, as_json: bool) -> None:
    """Reject a request with a reason."""
    request = service.reject_request(cli_origin(), reference, reason=reason)
    emit(request_to_dict(request), as_json, f"Rejected {request.reference}.")


@click.group("apps", cls=ServiceGroup, errors=(ApplicationError,))
def apps_group() -> None:
    """Manage applications (OIDC relying parties)."""


def _application_line(r: dict[str, Any]) -> str:
    """An application as one line of `idaas apps list`."""
    return f"{r['client_id']:<30} {'enabled ' if r['enabled'] else 'disabled'} {r['name']}"


@json_command(apps_group, "list")
def apps_list(as_json: bool) -> None:
    """List applications."""
    from idaas.applications import apps

    rows = [application_to_dict(a) for a in apps.list_applications()]
    emit_rows(rows, as_json, _application_line, "No applications.")


@json_command(apps_group, "show")
@click.argument("client_id")
def apps_show(client_id: str, as_json: bool) -> None:
    """Show one application's registration."""
    from idaas.applications import apps

    app = apps.get_application(client_id)
    emit(application_to_dict(app), as_json)


@json_command(apps_group, "set-name")
@click.argument("client_id")
@click.argument("language")
@click.argument("name", required=False)
def apps_set_name(client_id: str, language: str, name: str | None, as_json: bool) -> None:
    """Set (or, without NAME, remove) the application's name in one language (zh_CN, en)."""
    from idaas.applications import apps

    names = dict(apps.get_application(client_id).display_names or {})
    names[language] = name or ""
    app = apps.update_application(cli_origin(), client_id, display_names=names)
    emit(application_to_dict(app), as_json, f"Names of {app.client_id}: {app.display_names}.")


@json_command(apps_group, "disable")
@click.argument("client_id")
def apps_disable(client_id: str, as_json: bool) -> None:
    """Disable an application: no sign-in, no tile, its tokens stop working."""
    from idaas.applications import apps

    app = apps.set_application_enabled(cli_origin(), client_id, False)
    emit(application_to_dict(app), as_json, f"Disabled {app.client_id}.")


@json_command(apps_group, "rotate-secret")
@click.argument("client_id")
def apps_rotate_secret(client_id: str, as_json: bool) -> None:
    """Replace a confidential application's client secret (printed once; the old one stops)."""
    from idaas.applications import apps

    app, secret = apps.rotate_application_secret(cli_origin(), client_id)
    _emit_new_secret({**application_to_dict(app), "client_secret": secret}, as_json)


@json_command(apps_group, "subaccount-propose")
@click.argument("client_id")
@click.argument("account")
@click.argument("app_username")
def subaccount_propose(client_id: str, account: str, app_username: str, as_json: bool) -> None:
    """Propose ACCOUNT's username in an association-mode app (an admin then approves it)."""
    from idaas.applications import apps
    from idaas.directory import service as directory

    found = directory.find_by_identifier(account)
    if found is None:
        raise click.ClickException(f"No account {account}.")
    row = apps.propose_subaccount(cli_origin(), client_id, found.id, app_username)
    emit(
        {"id": row.id, "status": row.status, "username": row.username},
        as_json,
        f"Proposed {row.username} (id {row.id}), waiting for approval.",
    )


@json_command(apps_group, "subaccount-decide")
@click.argument("subaccount_id", type=int)
@click.option("--approve/--reject", required=True)
def subaccount_decide(subaccount_id: int, approve: bool, as_json: bool) -> None:
    """Approve or reject a proposed sub-account."""
    from idaas.applications import apps

    row = apps.decide_subaccount(cli_origin(), subaccount_id, approve)
    emit({"id": row.id, "status": row.status, "username": row.username}, as_json, row.status)
