"""`idaas demo`: the whole system on loopback with embedded defaults, for trying idaas out.

One command starts, on loopback: idaas on SQLite (instance folder), the DingTalk sandbox seeded
with a small corp (6 departments, 30 people; some of them also local accounts with a known
password, two already linked), both DingTalk sources configured against it, and the demo OIDC
relying party. Ctrl-C stops all of it.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import signal
import socket
import threading
from pathlib import Path
from typing import Any

import click
from flask import Flask
from werkzeug.serving import BaseWSGIServer, make_server

from idaas import create_app
from idaas.directory.bootstrap import ensure_administrator, generate_password

DEMO_ADMIN = "admin"
DEMO_PASSWORD = "Dingtalk-Demo-2026"
SANDBOX_CORP_ID = "dingidaasdemo0corp"
SANDBOX_APP_KEY = "dingidaasdemoapp"
SANDBOX_AGENT_ID = 3000000001
SANDBOX_SEED = "idaas-demo"
CONNECTION = "demo"
QR_SOURCE = "dingtalk"
MICRO_SOURCE = "dingtalk-app"
#: How many sandbox people also get a local account: first unbound, then already linked.
UNBOUND_LOCALS = 3
BOUND_LOCALS = 2


def _instance_secret(instance: Path, name: str, make: Any) -> str:
    """A value generated once into the instance folder (mode 0600) and reused afterwards."""
    path = instance / name
    if path.exists():
        return path.read_text().strip()
    value = str(make())
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(value + "\n")
    return value


def demo_admin_password(instance: Path) -> str:
    """The demo administrator's password, generated once into the instance folder (0600)."""
    return _instance_secret(instance, "demo-admin-password", lambda: generate_password(16))


def prepare(app: Flask) -> dict[str, list[dict[str, str]]]:
    """Create or upgrade the schema and the demo administrator; describe what to try."""
    from idaas.schema import upgrade_database

    with app.app_context():
        upgrade_database()
        password = demo_admin_password(Path(app.instance_path))
        ensure_administrator("system", DEMO_ADMIN, password)
    return {"people": [{"username": DEMO_ADMIN, "password": password, "role": "administrator"}]}


def build_sandbox(instance: Path, base: str) -> Any:
    """The DingTalk sandbox with the demo corp: fixed ids, a per-instance AppSecret."""
    from idaas.sandbox.dingtalk.state import Sandbox

    secret = _instance_secret(instance, "demo-dingtalk-app-secret", lambda: secrets.token_hex(24))
    state = Sandbox(
        corp_id=SANDBOX_CORP_ID,
        app_key=SANDBOX_APP_KEY,
        app_secret=secret,
        agent_id=SANDBOX_AGENT_ID,
        base_url=base,
    )
    state.seed(departments=6, users=30, seed=SANDBOX_SEED, corp_name="示例科技有限公司")
    return state


def configure_dingtalk(app: Flask, sandbox: Any) -> None:
    """The demo connection (against the sandbox) and both DingTalk sources (upserted)."""
    from idaas.auth import sources
    from idaas.auth.sources.dingtalk import clean_settings
    from idaas.dingtalk import connections

    with app.app_context():
        sb_app = sandbox.default_app
        connections.save(
            "system",
            CONNECTION,
            corp_id=sandbox.corp_id,
            app_key=sb_app.app_key,
            app_secret=sb_app.app_secret,
            agent_id=str(sb_app.agent_id),
            login_generation="oauth2",
        )
        settings = clean_settings(
            {"connection": CONNECTION, "notify_on_link": True, "embedded_qr": True}
        )
        sources.save(QR_SOURCE, "dingtalk", "钉钉扫码登录", order=10, settings=settings)
        sources.save(
            MICRO_SOURCE,
            "dingtalk_micro",
            "钉钉工作台",
            show_on_login=False,
            order=20,
            settings=settings,
        )


def seed_people(app: Flask, sandbox: Any) -> list[dict[str, Any]]:
    """Local accounts for a few sandbox people; put everyone back in their demo role.

    The roles are the same on every start: the first UNBOUND_LOCALS people have a local account
    and no DingTalk link, the next BOUND_LOCALS are linked, everyone else has no local account
    and no link; links and passwords changed while trying the demo are put back.
    """
    from idaas.directory import service
    from idaas.security.passwords import verify_password

    people: list[dict[str, Any]] = []
    active = [user for user in sandbox.users.values() if user.active]
    with app.app_context():
        for index, user in enumerate(active):
            entry: dict[str, Any] = {
                "name": user.name,
                "username": None,
                "password": None,
                "dingtalk_userid": user.userid,
                "bound": False,
            }
            account = None
            if index < UNBOUND_LOCALS + BOUND_LOCALS:
                username = (user.email or user.userid).split("@", 1)[0]
                account = service.find_by_identifier(username)
                if account is None:
                    account = service.create_account(
                        "system",
                        username=username,
                        display_name=user.name,
                        email=user.email,
                        mobile=f"+{user.state_code}{user.mobile}" if user.mobile else None,
                        employee_number=user.job_number,
                        password=DEMO_PASSWORD,
                        must_change_password=False,
                    )
                elif not verify_password(account.password_hash, DEMO_PASSWORD)[0]:
                    service.set_password("system", account.id, DEMO_PASSWORD, enforce_policy=False)
                entry.update(username=username, password=DEMO_PASSWORD)
            wanted = account.id if account and index >= UNBOUND_LOCALS else None
            link = service.find_identity("dingtalk", sandbox.corp_id, user.userid)
            if link is not None and link.account_id != wanted:
                service.unlink_identity("system", link.id, reason="demo_restart")
                link = None
            if link is None and wanted is not None:
                service.link_identity(
                    "system",
                    wanted,
                    provider="dingtalk",
                    tenant=sandbox.corp_id,
                    subject=user.userid,
                    union_id=user.unionid,
                    linked_via="admin",
                )
            entry["bound"] = wanted is not None
            people.append(entry)
    return people


def reset_demo(app: Flask) -> None:
    """Start from a clean demo: drop every table and forget the demo app's registration."""
    from idaas.schema import drop_everything

    with app.app_context():
        drop_everything()
    (Path(app.instance_path) / "demo-app.json").unlink(missing_ok=True)


def register_demo_application(app: Flask, rp_base: str) -> tuple[str, str]:
    """Register (or refresh) the demo relying party as a first-party OIDC application.

    Its client id and secret are kept in `instance/demo-app.json` (0600) so the demo app keeps
    working across restarts; the URIs are refreshed every start because the ports may differ.
    """
    from idaas.applications import apps
    from idaas.applications.errors import ClientNotFound

    path = Path(app.instance_path) / "demo-app.json"
    registration: dict[str, Any] = {
        "redirect_uris": [f"{rp_base}/callback"],
        "post_logout_redirect_uris": [f"{rp_base}/logged-out"],
        "initiate_login_uri": f"{rp_base}/initiate",
        "backchannel_logout_uri": f"{rp_base}/backchannel-logout",
        "frontchannel_logout_uri": f"{rp_base}/frontchannel-logout",
        "consent_required": False,
        "description": "A tiny OIDC relying party that shows the claims it received.",
    }
    with app.app_context():
        if path.exists():
            saved = json.loads(path.read_text())
            try:
                apps.update_application("system", saved["client_id"], **registration)
                return str(saved["client_id"]), str(saved["client_secret"])
            except ClientNotFound:
                pass
        created, secret = apps.create_application(
            "system", name="示例应用 Demo app", **registration
        )
        assert secret is not None
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump({"client_id": created.client_id, "client_secret": secret}, handle)
        return created.client_id, secret


def _serve(server: BaseWSGIServer) -> threading.Thread:
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2})
    thread.daemon = True
    thread.start()
    return thread


def _describe(info: dict[str, Any]) -> list[str]:
    people = info["people"]
    admin = next(p for p in people if p.get("role") == "administrator")
    unbound = [p for p in people if p["username"] and p["dingtalk_userid"] and not p["bound"]]
    bound = [p for p in people if p["username"] and p["bound"]]
    outsiders = [p for p in people if not p["username"]]
    lines = [
        f"idaas is running at {info['idaas']}",
        f"  health:            {info['idaas']}/healthz",
        f"  DingTalk sandbox:  {info['sandbox']}/_sandbox/  (pick the current DingTalk user)",
        f"  demo app:          {info['demo_app']}",
        "",
        "Try:",
        f"  1. password login:   {info['idaas']}/login  as {admin['username']} / "
        f"{admin['password']}  (administrator)",
    ]
    if unbound:
        p = unbound[0]
        lines.append(
            f"  2. QR login that needs binding: on /login press 钉钉扫码登录, confirm as "
            f"{p['name']} ({p['dingtalk_userid']}), then link {p['username']} / {p['password']}"
        )
    if bound:
        p = bound[0]
        lines.append(
            f"  3. QR login of an already-linked person: confirm as {p['name']} "
            f"({p['dingtalk_userid']}) -> straight into the portal"
        )
        lines.append(
            f"  4. micro-app login: choose {p['name']} as the current user on the sandbox home "
            f"page, then open {info['micro_app_url']} (a DingTalk user agent gets free login "
            "straight into the demo app; a plain browser gets the QR page first)"
        )
    lines.append(
        f"  5. start at the demo app: open {info['demo_app']} and press 使用 idaas 登录 "
        "(any of the sign-ins above, then back to the app with its ID token and claims)"
    )
    lines.append(
        f"Local accounts share the password {DEMO_PASSWORD}. {len(outsiders)} other sandbox "
        "people have no local account (their first QR login shows the bind page)."
    )
    lines.append(f"Also: administrator {admin['username']} / {admin['password']}.")
    lines.append("Press Ctrl-C to stop.")
    return lines


class _Later:
    """A WSGI app set after its server is bound (the port decides the app's public URL)."""

    app: Any = None

    def __call__(self, environ: Any, start_response: Any) -> Any:
        return self.app(environ, start_response)


def listen(host: str, port: int, fallback: bool) -> socket.socket:
    """A listening socket on `port` (0: any free port); a free one instead when it is taken and
    `fallback` (binding here, because werkzeug's `make_server` exits instead of raising)."""
    try:
        return socket.create_server((host, port))
    except OSError:
        if not fallback:
            raise
        return socket.create_server((host, 0))


def _test_double_server(sock: socket.socket, app: Any) -> BaseWSGIServer:
    """The sandbox and the demo app: werkzeug (the sandbox's Stream mode needs its WebSockets)."""
    host, port = sock.getsockname()[:2]
    server = make_server(host, port, app, threaded=True, fd=sock.fileno())
    sock.close()  # werkzeug serves a duplicate of it
    return server


@click.command("demo")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option(
    "--port", default=5000, type=int, show_default=True, help="idaas port (0: a free one)."
)
@click.option(
    "--sandbox-port", type=int, help="DingTalk sandbox port [default: 9100, or a free one]."
)
@click.option("--rp-port", type=int, help="Demo app port [default: 5100, or a free one].")
@click.option("--reset", is_flag=True, help="Start from a clean demo (drops every table).")
@click.option("--json", "as_json", is_flag=True, help="First line: one JSON object describing it.")
def demo(
    host: str,
    port: int,
    sandbox_port: int | None,
    rp_port: int | None,
    reset: bool,
    as_json: bool,
) -> None:
    """Start idaas, the DingTalk sandbox and the demo app on loopback; print what to try."""
    from waitress import create_server

    from idaas.sandbox.dingtalk import create_sandbox_app
    from idaas.sandbox.relying_party import create_relying_party

    # The test doubles' request lines would drown what the demo prints.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    try:
        idaas_socket = listen(host, port, fallback=False)
    except OSError as error:
        raise click.ClickException(
            f"cannot listen on {host}:{port} ({error.strerror}); try --port 0 for a free port"
        ) from None
    late_idaas, late_sandbox, late_rp = _Later(), _Later(), _Later()
    sandbox_server = _test_double_server(
        listen(host, 9100 if sandbox_port is None else sandbox_port, sandbox_port is None),
        late_sandbox,
    )
    rp_server = _test_double_server(
        listen(host, 5100 if rp_port is None else rp_port, rp_port is None), late_rp
    )
    # A production WSGI server for idaas itself: threads, no per-request log lines.
    server = create_server(late_idaas, sockets=[idaas_socket], threads=8, ident="idaas")
    base = f"http://{host}:{idaas_socket.getsockname()[1]}"
    sandbox_base = f"http://{host}:{sandbox_server.server_address[1]}"
    rp_base = f"http://{host}:{rp_server.server_address[1]}"
    app = create_app(
        {
            "ISSUER": base,
            "DINGTALK_OAPI_BASE": sandbox_base,
            "DINGTALK_API_BASE": sandbox_base,
            "DINGTALK_LOGIN_BASE": sandbox_base,
            "DINGTALK_JSAPI_URL": f"{sandbox_base}/dingding/dingtalk-jsapi/3.1.0/dingtalk.open.js",
            "DINGTALK_LOGIN_SCRIPT_URL": f"{sandbox_base}/ddlogin.js",
        }
    )
    instance = Path(app.instance_path)
    if reset:
        reset_demo(app)
    admin = prepare(app)["people"][0]
    sandbox = build_sandbox(instance, sandbox_base)
    configure_dingtalk(app, sandbox)
    people = seed_people(app, sandbox)
    rp_client_id, rp_secret = register_demo_application(app, rp_base)
    late_sandbox.app = create_sandbox_app(sandbox)
    late_rp.app = create_relying_party(
        base, rp_client_id, rp_secret, public_base=rp_base, title="示例应用 Demo app"
    )
    with app.app_context():
        from idaas.dingtalk import connections

        micro_url = connections.micro_app_url(MICRO_SOURCE, rp_client_id)
    info: dict[str, Any] = {
        "idaas": base,
        "sandbox": sandbox_base,
        "demo_app": rp_base,
        "dingtalk_sources": {"qr": QR_SOURCE, "micro_app": MICRO_SOURCE},
        "dingtalk_corp_id": sandbox.corp_id,
        "micro_app_url": micro_url,
        "demo_app_client_id": rp_client_id,
        "people": [
            {
                "name": "Administrator",
                "username": admin["username"],
                "password": admin["password"],
                "dingtalk_userid": None,
                "bound": False,
                "role": "administrator",
            },
            *people,
        ],
    }
    late_idaas.app = app
    servers = [sandbox_server, rp_server]
    threads = [_serve(s) for s in servers]
    from idaas.events.worker import start_embedded

    previous = signal.signal(signal.SIGTERM, signal.default_int_handler)
    engine = None
    try:  # Ctrl-C at any moment from here on stops everything cleanly
        engine = start_embedded(app)  # deliveries, jobs and the scheduler (on SQLite by default)
        if as_json:
            click.echo(json.dumps(info, ensure_ascii=False))
        for line in _describe(info):
            click.echo(line)
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        if engine is not None:
            engine.stop()
        server.close()
        for other in servers:
            other.shutdown()
            other.server_close()
        for thread in threads:
            thread.join(timeout=5)
        sandbox.close()
        click.echo("Stopped.")
