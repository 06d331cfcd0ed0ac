"""Small helpers shared by CLI commands: output, the CLI's origin tag, service errors."""

from __future__ import annotations

import getpass
import json
from typing import Any

import click


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


def cli_origin() -> str:
    """The origin tag of a change made from the command line."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return f"cli:{user}"


class ServiceGroup(click.Group):
    """A command group whose commands let the service errors named in `errors` propagate: each
    ends the command as a one-line error (exit status 1) instead of a traceback."""

    def __init__(self, *args: Any, errors: tuple[type[Exception], ...] = (), **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.errors = errors

    def invoke(self, ctx: click.Context) -> Any:
        """Run the sub-command; report a named service error by its message."""
        try:
            return super().invoke(ctx)
        except self.errors as error:
            raise click.ClickException(getattr(error, "message", None) or str(error)) from None
