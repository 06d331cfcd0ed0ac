"""Small helpers shared by CLI commands: output and the CLI's origin tag."""

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
