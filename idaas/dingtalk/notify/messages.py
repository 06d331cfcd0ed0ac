"""The work-notification catalogue: one message per account event, in the person's language."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import current_app
from flask_babel import force_locale, gettext

#: event name -> the change event (`account.<action>`) it comes from
EVENTS = {
    "account_linked": "identity_linked",
    "password_reset": "password_changed",
    "account_disabled": "status_changed",
    "association_approved": "subaccount_approved",
}


def event_of(action: str, changes: dict[str, Any]) -> str | None:
    """The notification event an account change is, if any."""
    for name, source in EVENTS.items():
        if action == source:
            if name == "account_disabled" and changes.get("status") != "disabled":
                return None
            return name
    return None


def _text(event: str, details: dict[str, Any]) -> str:
    if event == "account_linked":
        return str(
            gettext(
                "Your DingTalk identity is now linked to your idaas account. If this was not you, "
                "tell your administrator."
            )
        )
    if event == "password_reset":
        return str(
            gettext(
                "The password of your idaas account was changed. If this was not you, tell your "
                "administrator at once."
            )
        )
    if event == "account_disabled":
        return str(gettext("Your idaas account was disabled; you can no longer sign in with it."))
    return str(
        gettext(
            "Your username %(username)s in %(application)s was approved.",
            username=str(details.get("username") or ""),
            application=str(details.get("application") or ""),
        )
    )


def render(
    event: str, details: dict[str, Any], locale: str | None, when: datetime
) -> dict[str, Any]:
    """The DingTalk `msg` (§7, text) for an event, in `locale` (else the default language).

    The event's time is part of the text: DingTalk delivers the same content to the same person
    only once a day (§7 quotas), and a second reset on one day must still be told."""
    languages = current_app.config["LANGUAGES"]
    chosen = locale if locale in languages else current_app.config["BABEL_DEFAULT_LOCALE"]
    with force_locale(chosen):
        text = _text(event, details)
    return {"msgtype": "text", "text": {"content": f"{text}\n{when:%Y-%m-%d %H:%M:%S} UTC"}}
