"""Auth sources: the sign-in methods and the registry of configured ones."""

from __future__ import annotations

from typing import Any

from flask import Flask
from sqlalchemy import select

from idaas.auth.models import AuthSourceConfig
from idaas.auth.sources.base import AuthSource
from idaas.auth.sources.registry import _TYPES, register_type, source_types
from idaas.extensions import db

DEFAULT_PASSWORD_SOURCE = "password"


def configured() -> list[AuthSource]:
    """Every configured source (enabled or not), in login-page order.

    Without a configured password source, a built-in one named `password` is included.
    """
    rows = db.session.scalars(
        select(AuthSourceConfig).order_by(AuthSourceConfig.sort_order, AuthSourceConfig.id)
    )
    found: list[AuthSource] = []
    for row in rows:
        cls = _TYPES.get(row.type)
        if cls is None:
            continue
        found.append(
            cls(
                row.name,
                row.display_name,
                enabled=row.enabled,
                show_on_login=row.show_on_login,
                order=row.sort_order,
                settings=row.settings,
            )
        )
    if not any(source.type == "password" for source in found):
        password_cls = _TYPES["password"]
        found.insert(0, password_cls(DEFAULT_PASSWORD_SOURCE, "Password", order=-1))
    return sorted(found, key=lambda source: source.order)


def enabled() -> list[AuthSource]:
    """The enabled sources."""
    return [source for source in configured() if source.enabled]


def on_login_page() -> list[AuthSource]:
    """The enabled sources shown on /login."""
    return [source for source in enabled() if source.show_on_login]


def get(name: str) -> AuthSource | None:
    """An enabled source by name."""
    return next((source for source in enabled() if source.name == name), None)


def save(name: str, type_: str, display_name: str, **options: Any) -> AuthSourceConfig:
    """Create or update a configured source (admin/CLI); commits. `options` are those the
    source type's constructor takes (enabled, show_on_login, order, settings)."""
    cls = _TYPES.get(type_)
    if cls is None:
        raise ValueError(f"unknown auth source type {type_!r}")
    source = cls(name, display_name, **options)
    row = db.session.scalar(select(AuthSourceConfig).where(AuthSourceConfig.name == name))
    if row is None:
        row = AuthSourceConfig(name=name, type=type_)
        db.session.add(row)
    row.type, row.display_name, row.enabled = type_, display_name, source.enabled
    row.show_on_login, row.sort_order = source.show_on_login, source.order
    row.settings = source.settings
    db.session.commit()
    return row


def init_app(app: Flask) -> None:
    """Register the built-in source types and the blueprints of every type."""
    from idaas.auth.sources import password  # noqa: F401

    for cls in _TYPES.values():
        if cls.blueprint is not None and cls.blueprint.name not in app.blueprints:
            app.register_blueprint(cls.blueprint)


__all__ = [
    "AuthSource",
    "configured",
    "enabled",
    "get",
    "on_login_page",
    "register_type",
    "save",
    "source_types",
]
