"""CLI: `idaas dingtalk connections ...`, `idaas sources ...`, `idaas accounts links|unlink`."""

from __future__ import annotations

from typing import Any

import click
from flask import Flask

from idaas.cli_support import ServiceGroup, cli_origin, emit, emit_rows, json_command
from idaas.dingtalk.source_admin import save_source
from idaas.directory.commands import account_command, accounts_group
from idaas.directory.models import Account


@click.group("dingtalk")
def dingtalk_group() -> None:
    """DingTalk organisations idaas talks to."""


@dingtalk_group.group("connections", cls=ServiceGroup, errors=(ValueError,))
def connections_group() -> None:
    """DingTalk connections: corp id, internal app credentials, login generation."""


def _connection_options(command: Any) -> Any:
    options = [
        click.option("--corp-id", help="The organisation's corp id (ding…)."),
        click.option("--app-key", help="The internal app's AppKey (Client ID)."),
        click.option("--app-secret", help="The internal app's AppSecret (stored encrypted)."),
        click.option("--agent-id", help="The internal app's AgentId (work notifications)."),
        click.option(
            "--login-generation",
            type=click.Choice(["oauth2", "sns"]),
            help="QR login: new OAuth (login.dingtalk.com, default) or legacy SNS.",
        ),
        click.option("--sns-app-id", help="Legacy SNS login appid (default: the AppKey)."),
        click.option("--sns-app-secret", help="Legacy SNS login appsecret (stored encrypted)."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _save(name: str, creating: bool, as_json: bool, **fields: Any) -> None:
    from idaas.dingtalk import connections

    exists = connections.get(name.strip().lower()) is not None
    if creating and exists:
        raise click.ClickException(f"connection {name!r} exists; use `update`")
    if not creating and not exists:
        raise click.ClickException(f"no connection named {name!r}")
    values = {k: v for k, v in fields.items() if v is not None}
    row = connections.save(cli_origin(), name, **values)
    emit(
        connections.describe(row),
        as_json,
        f"Connection {row.name} {'added' if creating else 'updated'} (corp {row.corp_id}). "
        f"Check it with: idaas dingtalk connections test {row.name}",
    )


def _saving_command(command: str, creating: bool, help: str) -> None:
    """Declare `idaas dingtalk connections COMMAND NAME [options]`, which adds or updates."""

    @json_command(connections_group, command, help=help)
    @click.argument("name")
    @_connection_options
    def save(name: str, as_json: bool, **fields: Any) -> None:
        _save(name, creating, as_json, **fields)


_saving_command(
    "add", True, "Add a connection (values are trimmed and validated; secrets stored encrypted)."
)
_saving_command("update", False, "Change some settings of a connection.")


@json_command(connections_group, "list")
def list_connections(as_json: bool) -> None:
    """List connections (secrets are never shown)."""
    from idaas.dingtalk import connections

    rows = [connections.describe(row) for row in connections.list_all()]
    emit_rows(
        rows,
        as_json,
        lambda r: f"{r['name']:<16} {r['corp_id']:<24} {r['app_key']:<24} {r['login_generation']}",
        "No DingTalk connections.",
    )


@json_command(connections_group, "test")
@click.argument("name")
def test_connection(name: str, as_json: bool) -> None:
    """Fetch a token with the connection's credentials; explain DingTalk's error in words."""
    from idaas.dingtalk import connections

    result = connections.check(cli_origin(), connections.require(name))
    emit(result.as_dict(), as_json, ("OK: " if result.ok else "FAILED: ") + result.message)
    if not result.ok:
        raise SystemExit(1)


@json_command(connections_group, "remove")
@click.argument("name")
@click.option(
    "--imported",
    type=click.Choice(("keep", "disable")),
    help="What becomes of the people imported through it: local accounts, or disabled.",
)
def remove_connection(name: str, imported: str | None, as_json: bool) -> None:
    """Remove a connection (with imported people, choose --imported keep|disable)."""
    from idaas.dingtalk import connections
    from idaas.dingtalk.sync import removal

    result = removal.remove(cli_origin(), connections.require(name), imported)
    emit({"name": name, "removed": True, **result}, as_json, f"Connection {name} removed.")


# ---------------------------------------------------------------------- sources


@click.group("sources", cls=ServiceGroup, errors=(ValueError,))
def sources_group() -> None:
    """Sign-in methods shown on /login (password, DingTalk QR, DingTalk micro-app)."""


def _describe_source(source: Any) -> dict[str, Any]:
    from idaas.dingtalk import connections

    data: dict[str, Any] = {
        "name": source.name,
        "type": source.type,
        "display_name": source.display_name,
        "enabled": source.enabled,
        "show_on_login": source.show_on_login,
        "order": source.order,
        "settings": source.settings,
    }
    if source.type in ("dingtalk", "dingtalk_micro"):
        data["redirect_url"] = connections.redirect_url(source.name)
        data["micro_app_url"] = connections.micro_app_url(source.name)
    return data


@json_command(sources_group, "list")
def list_sources(as_json: bool) -> None:
    """List configured sign-in methods."""
    from idaas.auth import sources

    rows = [_describe_source(s) for s in sources.configured()]
    emit_rows(
        rows,
        as_json,
        lambda r: (
            f"{r['name']:<16} {r['type']:<16} "
            f"{'on ' if r['enabled'] else 'off'} {r['display_name']}"
        ),
        "",
    )


@json_command(sources_group, "add-dingtalk")
@click.argument("name")
@click.option("--connection", required=True, help="The DingTalk connection to use.")
@click.option("--micro-app", is_flag=True, help="Workbench free login (免登) rather than QR.")
@click.option("--display-name", default="DingTalk", show_default=True)
@click.option(
    "--auto-link",
    default="",
    help="Link first-time people on these fields: mobile,email,employee_number (never a name).",
)
@click.option(
    "--jit/--no-jit", default=False, show_default=True, help="Create accounts on first sign-in."
)
@click.option(
    "--unlink-on-password-change/--keep-links-on-password-change",
    default=True,
    show_default=True,
)
@click.option("--notify-on-link/--no-notify-on-link", default=False, show_default=True)
@click.option(
    "--embedded-qr/--no-embedded-qr",
    default=False,
    show_default=True,
    help="Show DingTalk's embedded QR (DTFrameLogin) on /login (new OAuth only).",
)
@click.option("--hidden", is_flag=True, help="Do not show a button on /login.")
@click.option("--order", default=10, type=int, show_default=True)
def add_dingtalk_source(
    name: str,
    connection: str,
    micro_app: bool,
    display_name: str,
    auto_link: str,
    jit: bool,
    unlink_on_password_change: bool,
    notify_on_link: bool,
    embedded_qr: bool,
    hidden: bool,
    order: int,
    as_json: bool,
) -> None:
    """Add or update a DingTalk source; prints the URLs to paste into DingTalk's console."""
    from idaas.auth import sources
    from idaas.auth.sources.dingtalk import clean_settings
    from idaas.dingtalk import connections

    if connections.get(connection) is None:
        raise click.ClickException(f"no DingTalk connection named {connection!r}")
    settings = clean_settings(
        {
            "connection": connection,
            "auto_link": auto_link,
            "jit": jit,
            "unlink_on_password_change": unlink_on_password_change,
            "notify_on_link": notify_on_link,
            "embedded_qr": embedded_qr,
        }
    )
    type_ = "dingtalk_micro" if micro_app else "dingtalk"
    save_source(
        cli_origin(),
        name,
        type_,
        display_name,
        show_on_login=not hidden,
        order=order,
        settings=settings,
    )
    source = next(s for s in sources.configured() if s.name == name)
    data = _describe_source(source)
    text = (
        f"Source {name} ({type_}) saved.\n  DingTalk console redirect URL: {data['redirect_url']}"
    )
    if micro_app:
        text += f"\n  Workbench home-page URL: {data['micro_app_url']}"
    emit(data, as_json, text)


@json_command(sources_group, "enable")
@click.argument("name")
@click.option("--off", "disable", is_flag=True, help="Disable instead.")
def enable_source(name: str, disable: bool, as_json: bool) -> None:
    """Enable (or, with --off, disable) a configured source."""
    from idaas.auth import sources

    source = next((s for s in sources.configured() if s.name == name), None)
    if source is None:
        raise click.ClickException(f"no source named {name!r}")
    save_source(
        cli_origin(),
        name,
        source.type,
        source.display_name,
        enabled=not disable,
        show_on_login=source.show_on_login,
        order=source.order,
        settings=source.settings,
    )
    emit(
        {"name": name, "enabled": not disable},
        as_json,
        f"Source {name} {'disabled' if disable else 'enabled'}.",
    )


# ---------------------------------------------------------------------- account links


@account_command(accounts_group, "links")
def account_links(account: Account, as_json: bool) -> None:
    """List an account's linked external identities (DingTalk)."""
    from idaas.directory import service as directory

    rows = [
        {
            "id": i.id,
            "provider": i.provider,
            "tenant": i.tenant,
            "subject": i.subject,
            "union_id": i.union_id,
            "linked_via": i.linked_via,
            "linked_at": i.linked_at.isoformat(),
        }
        for i in directory.identities_of(account.id)
    ]
    emit_rows(
        rows,
        as_json,
        lambda r: (
            f"{r['id']:>6}  {r['provider']}  {r['tenant']}  {r['subject']}  ({r['linked_via']})"
        ),
        f"{account.username} has no linked identities.",
    )


@account_command(accounts_group, "unlink")
@click.option("--identity", "identity_id", type=int, help="Only this link id (see `links`).")
@click.option("--corp-id", help="Only DingTalk links of this corp.")
def account_unlink(
    account: Account, identity_id: int | None, corp_id: str | None, as_json: bool
) -> None:
    """Remove an account's DingTalk links (all, one, or one corp's); each is audited."""
    from idaas.auth import binding
    from idaas.directory import service as directory

    if identity_id is not None:
        if identity_id not in {i.id for i in directory.identities_of(account.id)}:
            raise click.ClickException(f"no link {identity_id} on {account.username}")
        directory.unlink_identity(cli_origin(), identity_id, reason="admin")
        count = 1
    else:
        count = binding.unlink_all(
            cli_origin(), account.id, "admin", {corp_id} if corp_id else None
        )
    emit(
        {"account": account.username, "unlinked": count},
        as_json,
        f"Removed {count} link(s) of {account.username}.",
    )


def init_app(app: Flask) -> None:
    """Add `idaas dingtalk` and `idaas sources` (`idaas accounts links|unlink` join on import)."""
    app.cli.add_command(dingtalk_group)
    app.cli.add_command(sources_group)
