"""`idaas demo`: the whole system on loopback with embedded defaults, for trying idaas out."""

from __future__ import annotations

import json
import os
from pathlib import Path

import click
from flask import Flask
from werkzeug.serving import make_server

from idaas import create_app
from idaas.directory.bootstrap import ensure_administrator, generate_password

DEMO_ADMIN = "admin"


def demo_admin_password(instance: Path) -> str:
    """The demo administrator's password, generated once into the instance folder (0600)."""
    path = instance / "demo-admin-password"
    if path.exists():
        return path.read_text().strip()
    password = generate_password(16)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(password + "\n")
    return password


def prepare(app: Flask) -> dict[str, object]:
    """Create or upgrade the schema and the demo administrator; describe what to try."""
    from idaas.cli import upgrade_database

    with app.app_context():
        upgrade_database()
        password = demo_admin_password(Path(app.instance_path))
        account, _ = ensure_administrator("system", DEMO_ADMIN, password)
        if account.must_change_password:
            from idaas.extensions import db

            account.must_change_password = False
            db.session.commit()
    return {"people": [{"username": DEMO_ADMIN, "password": password, "role": "administrator"}]}


@click.command("demo")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, type=int, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="First line: one JSON object describing it.")
def demo(host: str, port: int, as_json: bool) -> None:
    """Start idaas on SQLite with demo data and print what to open."""
    base = f"http://{host}:{port}"
    app = create_app({"ISSUER": base})
    info = {"idaas": base, **prepare(app)}
    if as_json:
        click.echo(json.dumps(info, ensure_ascii=False), nl=True)
    else:
        click.echo(f"idaas is running at {base}")
        click.echo(f"  health:  {base}/healthz")
        for person in info["people"]:  # type: ignore[attr-defined]
            click.echo(f"  sign in as {person['username']} / {person['password']}")
        click.echo("Press Ctrl-C to stop.")
    server = make_server(host, port, app, threaded=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
