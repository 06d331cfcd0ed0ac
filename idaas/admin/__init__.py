"""The admin console (`/admin`): shell, shared components, admin roles and pages."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the console blueprint, its template helpers and the `idaas admins` commands."""
    from idaas.admin import (  # noqa: F401
        views_accounts,
        views_apps,
        views_audit,
        views_dingtalk,
        views_dingtalk_actions,
        views_dingtalk_push,
        views_directory,
        views_groups,
        views_misc,
        views_provisioning,
        views_scim,
        views_signin_policy,
    )
    from idaas.admin.blueprint import bp
    from idaas.admin.commands import admins_group
    from idaas.admin.guard import can, reset_request_state, source_label

    app.before_request(reset_request_state)
    app.register_blueprint(bp)
    app.jinja_env.globals["admin_can"] = can
    app.jinja_env.filters["source_label"] = source_label
    app.cli.add_command(admins_group)
