"""Canonical forms for identifiers: usernames, emails, mobiles (E.164), employee numbers."""

from __future__ import annotations

import re

import phonenumbers
from flask_babel import gettext

USERNAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
EMAIL_PATTERN = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")


class InvalidValue(ValueError):
    """The value cannot be normalised; the message is for the person who typed it."""


def username_key(username: str) -> str:
    """The case-insensitive key of a username."""
    return username.strip().casefold()


def clean_username(value: str) -> str:
    """A trimmed, valid username."""
    username = value.strip()
    if not USERNAME_PATTERN.match(username):
        raise InvalidValue(
            gettext(
                "Use 1-64 letters, digits, dots, dashes, underscores or @, starting with a "
                "letter or digit."
            )
        )
    return username


def clean_email(value: str | None) -> str | None:
    """A trimmed email address (None when empty); the domain is lower-cased."""
    if value is None or not value.strip():
        return None
    email = value.strip()
    if len(email) > 254 or not EMAIL_PATTERN.match(email):
        raise InvalidValue(gettext("Not a valid email address."))
    local, domain = email.rsplit("@", 1)
    return f"{local}@{domain.lower()}"


def email_key(email: str | None) -> str | None:
    """The case-insensitive key of an email address."""
    return email.casefold() if email else None


def clean_mobile(value: str | None, default_region: str = "CN") -> str | None:
    """A mobile number in E.164 (`+8613800138000`), whatever spaces, dashes or prefix it had."""
    if value is None or not value.strip():
        return None
    try:
        number = phonenumbers.parse(value.strip(), default_region)
    except phonenumbers.NumberParseException:
        raise InvalidValue(gettext("Not a valid phone number.")) from None
    if not phonenumbers.is_valid_number(number):
        raise InvalidValue(gettext("Not a valid phone number."))
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def clean_text(value: str | None, max_length: int) -> str | None:
    """Trimmed text, None when empty; too long is an error."""
    if value is None:
        return None
    text = str(value).strip()
    if not text:
        return None
    if len(text) > max_length:
        raise InvalidValue(gettext("At most %(num)d characters.", num=max_length))
    return text
