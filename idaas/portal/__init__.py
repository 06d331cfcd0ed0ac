"""The signed-in person's home: app tiles, profile, linked identities, sessions, security."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the portal blueprint."""
    from idaas.portal import linked, views

    app.register_blueprint(views.bp)
    app.add_template_filter(device_label, "device")
    app.jinja_env.globals["describe_identity"] = linked.describe


def device_label(user_agent: str | None) -> str:
    """A short "browser on system" label from a User-Agent header, in the page's language."""
    from flask_babel import gettext

    ua = user_agent or ""
    browser = next(
        (
            name
            for marker, name in (
                ("DingTalk", gettext("DingTalk")),
                ("Edg/", "Edge"),
                ("Firefox/", "Firefox"),
                ("Chrome/", "Chrome"),
                ("Safari/", "Safari"),
                ("curl/", "curl"),
                ("python", "Python"),
            )
            if marker in ua
        ),
        gettext("Browser"),
    )
    system = next(
        (
            name
            for marker, name in (
                ("Android", "Android"),
                ("iPhone", "iPhone"),
                ("iPad", "iPad"),
                ("Windows", "Windows"),
                ("Mac OS X", "macOS"),
                ("Linux", "Linux"),
            )
            if marker in ua
        ),
        "",
    )
    return f"{browser} · {system}" if system else browser
