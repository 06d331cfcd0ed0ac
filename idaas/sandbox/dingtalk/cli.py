"""`idaas sandbox dingtalk`: run the DingTalk emulator on one loopback port."""

from __future__ import annotations

import json

import click
from werkzeug.serving import make_server


@click.group("sandbox")
def sandbox() -> None:
    """Local emulators of external systems, for development and tests."""


@sandbox.command("dingtalk")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=9100, type=int, show_default=True)
@click.option("--users", default=100, type=click.IntRange(0, 200_000), show_default=True)
@click.option("--departments", default=20, type=click.IntRange(0, 20_000), show_default=True)
@click.option("--seed", default="0", show_default=True, help="Seed for the generated corp.")
@click.option("--corp-id", help="The corp id (random `ding…` when omitted).")
@click.option("--app-key", help="The internal app's AppKey (random when omitted).")
@click.option("--app-secret", help="The internal app's AppSecret (random when omitted).")
@click.option("--json", "as_json", is_flag=True, help="First line: one JSON object.")
def dingtalk(
    host: str,
    port: int,
    users: int,
    departments: int,
    seed: str,
    corp_id: str | None,
    app_key: str | None,
    app_secret: str | None,
    as_json: bool,
) -> None:
    """Serve a seeded DingTalk sandbox (oapi, api and login hosts on one port)."""
    from idaas.sandbox.dingtalk import create_sandbox_app
    from idaas.sandbox.dingtalk.state import Sandbox

    base = f"http://{host}:{port}"
    state = Sandbox(corp_id=corp_id, app_key=app_key, app_secret=app_secret, base_url=base)
    state.seed(departments=departments, users=users, seed=seed)
    server = make_server(host, port, create_sandbox_app(state), threaded=True)
    app = state.default_app
    info = {
        "url": base,
        "corp_id": state.corp_id,
        "app_key": app.app_key,
        "app_secret": app.app_secret,
        "agent_id": app.agent_id,
        "departments": departments,
        "users": users,
        "env": {
            "IDAAS_DINGTALK_OAPI_BASE": base,
            "IDAAS_DINGTALK_API_BASE": base,
            "IDAAS_DINGTALK_LOGIN_BASE": base,
        },
    }
    if as_json:
        click.echo(json.dumps(info, ensure_ascii=False))
    else:
        click.echo(f"DingTalk sandbox on {base}  (home page: {base}/_sandbox/)")
        click.echo(f"  corp id     {state.corp_id}")
        click.echo(f"  app key     {app.app_key}")
        click.echo(f"  app secret  {app.app_secret}")
        click.echo(f"  agent id    {app.agent_id}")
        click.echo(f"  contacts    {departments} departments, {users} users (seed {seed})")
        click.echo("Point idaas at it:")
        for key, value in info["env"].items():  # type: ignore[attr-defined]
            click.echo(f"  export {key}={value}")
        click.echo("Control API: docs/dingtalk-sandbox.md. Press Ctrl-C to stop.")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        state.close()
