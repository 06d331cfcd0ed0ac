"""`idaas settings signin-policy show|set`."""

from __future__ import annotations

import json

from tests.auth.helpers import audit_actions


def test_show_and_set(runner, db):
    shown = runner.invoke(args=["settings", "signin-policy", "show"])
    assert shown.exit_code == 0, shown.output
    assert "version 0" in shown.output and "lockout_threshold" in shown.output
    changed = runner.invoke(
        args=[
            "settings",
            "signin-policy",
            "set",
            "lockout_threshold=3",
            "mfa_required=true",
            "--version",
            "0",
            "--json",
        ]
    )
    assert changed.exit_code == 0, changed.output
    body = json.loads(changed.output)
    assert body["lockout_threshold"] == 3 and body["mfa_required"] is True
    assert body["version"] == 1 and body["overridden"] == ["lockout_threshold", "mfa_required"]
    (row,) = audit_actions(db, "settings.signin_policy.updated")
    assert row.actor.startswith("cli:")
    back = runner.invoke(args=["settings", "signin-policy", "set", "mfa_required=default"])
    assert back.exit_code == 0 and "mfa_required" in back.output
    assert (
        "(console;"
        not in [line for line in back.output.splitlines() if line.startswith("mfa_required")][0]
    )


def test_bad_values_and_stale_versions_are_one_line_errors(runner):
    bad = runner.invoke(args=["settings", "signin-policy", "set", "password_min_length=0"])
    assert bad.exit_code == 1 and "password_min_length" in bad.output
    assert "Traceback" not in bad.output
    stale = runner.invoke(
        args=["settings", "signin-policy", "set", "lockout_threshold=4", "--version", "7"]
    )
    assert stale.exit_code == 1 and "Error:" in stale.output
    malformed = runner.invoke(args=["settings", "signin-policy", "set", "lockout_threshold"])
    assert malformed.exit_code == 2
