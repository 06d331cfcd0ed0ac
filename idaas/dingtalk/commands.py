"""CLI: `idaas dingtalk connections ...`, `idaas sources ...`, `idaas accounts links|unlink`."""

from __future__ import annotations

from typing import Any

import click
from flask import Flask
from flask.cli import with_appcontext

from idaas.cli_support import cli_origin, emit
from idaas.dingtalk.source_admin import save_source


def _connection_error(error: Exception) -> click.ClickException:
    from idaas.dingtalk.connections import ConnectionError_

    if isinstance(error, ConnectionError_):
        return click.ClickException("; ".join(f"{k}: {v}" for k, v in error.fields.items()))
    return click.ClickException(str(error))


@click.group("dingtalk")
def dingtalk_group() -> None:
    """DingTalk organisations idaas talks to."""


@dingtalk_group.group("connections")
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
        click.option("--json", "as_json", is_flag=True),
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
    try:
        row = connections.save(cli_origin(), name, **values)
    except ValueError as error:
        raise _connection_error(error) from None
    emit(
        connections.describe(row),
        as_json,
        f"Connection {row.name} {'added' if creating else 'updated'} (corp {row.corp_id}). "
        f"Check it with: idaas dingtalk connections test {row.name}",
    )


@connections_group.command("add")
@click.argument("name")
@_connection_options
@with_appcontext
def add_connection(name: str, as_json: bool, **fields: Any) -> None:
    """Add a connection (values are trimmed and validated; secrets stored encrypted)."""
    _save(name, True, as_json, **fields)


@connections_group.command("update")
@click.argument("name")
@_connection_options
@with_appcontext
def update_connection(name: str, as_json: bool, **fields: Any) -> None:
    """Change some settings of a connection."""
    _save(name, False, as_json, **fields)


@connections_group.command("list")
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def list_connections(as_json: bool) -> None:
    """List connections (secrets are never shown)."""
    from idaas.dingtalk import connections

    rows = [connections.describe(row) for row in connections.list_all()]
    lines = [
        f"{r['name']:<16} {r['corp_id']:<24} {r['app_key']:<24} {r['login_generation']}"
        for r in rows
    ]
    emit(rows, as_json, "\n".join(lines) or "No DingTalk connections.")


@connections_group.command("test")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def test_connection(name: str, as_json: bool) -> None:
    """Fetch a token with the connection's credentials; explain DingTalk's error in words."""
    from idaas.dingtalk import connections

    try:
        row = connections.require(name)
    except ValueError as error:
        raise _connection_error(error) from None
    result = connections.check(cli_origin(), row)
    emit(result.as_dict(), as_json, ("OK: " if result.ok else "FAILED: ") + result.message)
    if not result.ok:
        raise SystemExit(1)


@connections_group.command("remove")
@click.argument("name")
@click.option(
    "--imported",
    type=click.Choice(("keep", "disable")),
    help="What becomes of the people imported through it: local accounts, or disabled.",
)
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def remove_connection(name: str, imported: str | None, as_json: bool) -> None:
    """Remove a connection (with imported people, choose --imported keep|disable)."""
    from idaas.dingtalk import connections
    from idaas.dingtalk.sync import removal

    try:
        result = removal.remove(cli_origin(), connections.require(name), imported)
    except removal.ChoiceRequired as error:
        raise click.ClickException(str(error)) from None
    except ValueError as error:
        raise _connection_error(error) from None
    emit({"name": name, "removed": True, **result}, as_json, f"Connection {name} removed.")


# ---------------------------------------------------------------------- sources


@click.group("sources")
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


@sources_group.command("list")
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def list_sources(as_json: bool) -> None:
    """List configured sign-in methods."""
    from idaas.auth import sources

    rows = [_describe_source(s) for s in sources.configured()]
    lines = [
        f"{r['name']:<16} {r['type']:<16} {'on ' if r['enabled'] else 'off'} {r['display_name']}"
        for r in rows
    ]
    emit(rows, as_json, "\n".join(lines))


@sources_group.command("add-dingtalk")
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
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
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
    try:
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
    except ValueError as error:
        raise click.ClickException(str(error)) from None
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


@sources_group.command("enable")
@click.argument("name")
@click.option("--off", "disable", is_flag=True, help="Disable instead.")
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
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


@click.command("links")
@click.argument("reference")
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def account_links(reference: str, as_json: bool) -> None:
    """List an account's linked external identities (DingTalk)."""
    from idaas.directory import service as directory
    from idaas.directory.commands import resolve_account

    account = resolve_account(reference)
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
    lines = [
        f"{r['id']:>6}  {r['provider']}  {r['tenant']}  {r['subject']}  ({r['linked_via']})"
        for r in rows
    ]
    emit(rows, as_json, "\n".join(lines) or f"{account.username} has no linked identities.")


@click.command("unlink")
@click.argument("reference")
@click.option("--identity", "identity_id", type=int, help="Only this link id (see `links`).")
@click.option("--corp-id", help="Only DingTalk links of this corp.")
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def account_unlink(
    reference: str, identity_id: int | None, corp_id: str | None, as_json: bool
) -> None:
    """Remove an account's DingTalk links (all, one, or one corp's); each is audited."""
    from idaas.auth import binding
    from idaas.directory import service as directory
    from idaas.directory.commands import resolve_account

    account = resolve_account(reference)
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
    """Add `idaas dingtalk`, `idaas sources` and `idaas accounts links|unlink`."""
    from idaas.directory.commands import accounts_group

    for command in (account_links, account_unlink):
        if command.name not in accounts_group.commands:
            accounts_group.add_command(command)
    app.cli.add_command(dingtalk_group)
    app.cli.add_command(sources_group)
