"""Small helpers shared by CLI commands: output, the CLI's origin tag, service errors."""

from __future__ import annotations

import getpass
import json
from collections.abc import Callable
from typing import Any

import click
from flask.cli import AppGroup, with_appcontext


def emit(data: Any, as_json: bool, text: str | None = None) -> None:
    """Print `data` as JSON, or `text` (default: a readable dump) for people."""
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False, default=str))
    else:
        click.echo(
            text
            if text is not None
            else json.dumps(data, ensure_ascii=False, indent=2, default=str)
        )


def emit_rows(
    rows: list[dict[str, Any]], as_json: bool, line: Callable[[Any], str], empty: str
) -> None:
    """Print `rows` as JSON, or one `line(row)` each for people (`empty` when there are none)."""
    emit(rows, as_json, "\n".join(line(row) for row in rows) or empty)


def json_command(
    group: click.Group, name: str, **options: Any
) -> Callable[[Callable[..., Any]], click.Command]:
    """`group.command(name)` run in the application context, with a `--json` flag (the
    function's `as_json` parameter) for output that scripts read."""

    def declare(function: Callable[..., Any]) -> click.Command:
        flagged = click.option("--json", "as_json", is_flag=True, help="Print JSON.")
        return group.command(name, **options)(flagged(with_appcontext(function)))

    return declare


def parse_pairs(pairs: tuple[str, ...]) -> dict[str, Any]:
    """The `--set key=value` options as a dict; a value that parses as JSON is taken as JSON."""
    data: dict[str, Any] = {}
    for pair in pairs:
        key, _, raw = pair.partition("=")
        try:
            data[key] = json.loads(raw)
        except ValueError:
            data[key] = raw
    return data


def cli_origin() -> str:
    """The origin tag of a change made from the command line."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return f"cli:{user}"


class ServiceGroup(AppGroup):
    """A command group (its commands run in the application context) whose commands let the
    service errors named in `errors` propagate: each ends the command as a one-line error (exit
    status 1) instead of a traceback."""

    def __init__(self, *args: Any, errors: tuple[type[Exception], ...] = (), **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.errors = errors

    def invoke(self, ctx: click.Context) -> Any:
        """Run the sub-command; report a named service error by its message."""
        try:
            return super().invoke(ctx)
        except self.errors as error:
            raise click.ClickException(getattr(error, "message", None) or str(error)) from None
