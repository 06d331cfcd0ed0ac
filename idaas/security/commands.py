"""`idaas settings signin-policy show|set`: the sign-in policy in force, and its override."""

from __future__ import annotations

import click

from idaas.cli_support import ServiceGroup, cli_origin, emit, json_command
from idaas.security import signin_policy


@click.group("settings")
def settings_group() -> None:
    """Settings kept in the database (the instance configuration gives their defaults)."""


@settings_group.group("signin-policy", cls=ServiceGroup, errors=(signin_policy.SignInPolicyError,))
def policy_group() -> None:
    """Password rules, lockout, the MFA requirement and session lifetimes."""


def _text(policy: signin_policy.SignInPolicy) -> str:
    defaults = signin_policy.defaults()
    lines = [f"version {policy.version}"]
    for name, value in policy.values().items():
        origin = "console" if name in policy.overridden else "instance"
        lines.append(f"{name:<26} {value!s:<8} ({origin}; instance: {defaults[name]})")
    return "\n".join(lines)


@json_command(policy_group, "show")
def show(as_json: bool) -> None:
    """Show the policy in force and where each value comes from."""
    policy = signin_policy.effective()
    emit(signin_policy.as_dict(policy), as_json, _text(policy))


@json_command(policy_group, "set")
@click.argument("pairs", nargs=-1, required=True, metavar="FIELD=VALUE...")
@click.option("--version", "version", type=int, default=None, help="Refuse if it changed since.")
def set_policy(pairs: tuple[str, ...], version: int | None, as_json: bool) -> None:
    """Override fields (FIELD=default goes back to the instance setting), audited."""
    changes: dict[str, object] = {}
    for pair in pairs:
        name, sep, raw = pair.partition("=")
        if not sep:
            raise click.BadParameter(f"{pair!r} is not FIELD=VALUE", param_hint="FIELD=VALUE")
        changes[name.strip()] = None if raw.strip() in ("", "default") else raw.strip()
    try:
        policy = signin_policy.update(cli_origin(), changes, version)
    except signin_policy.SignInPolicyError as error:
        if error.fields:
            raise click.ClickException(
                f"{error.message} {signin_policy.SignInPolicyError.summary(error.fields)}"
            ) from None
        raise
    emit(signin_policy.as_dict(policy), as_json, _text(policy))
