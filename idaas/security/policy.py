"""The password policy: length, character classes, personal data, history and age."""

from __future__ import annotations

import string
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from flask_babel import gettext, ngettext


@dataclass(frozen=True)
class PasswordPolicy:
    """What a new password must satisfy (the one in force: `signin_policy.effective().password`)."""

    min_length: int = 8
    required_classes: int = 3
    history: int = 5
    max_age_days: int = 0
    change_on_first_login: bool = True

    def describe(self) -> list[str]:
        """The rules in the current language, for showing next to a password field."""
        rules = [
            ngettext("At least %(num)d character.", "At least %(num)d characters.", self.min_length)
        ]
        if self.required_classes > 1:
            rules.append(
                gettext(
                    "At least %(num)d of: lowercase, uppercase, digits, symbols.",
                    num=self.required_classes,
                )
            )
        rules.append(gettext("Not your username, email or phone number."))
        if self.history:
            rules.append(
                ngettext(
                    "Not your previous password.",
                    "None of your last %(num)d passwords.",
                    self.history,
                )
            )
        return rules

    def violations(
        self,
        password: str,
        personal: Iterable[str | None] = (),
        previous_hashes: Iterable[str] = (),
    ) -> list[str]:
        """One message per broken rule (empty when the password is acceptable)."""
        problems: list[str] = []
        if len(password) < self.min_length:
            problems.append(
                ngettext(
                    "The password must be at least %(num)d character long.",
                    "The password must be at least %(num)d characters long.",
                    self.min_length,
                )
            )
        classes = _character_classes(password)
        if classes < self.required_classes:
            problems.append(
                gettext(
                    "The password must mix at least %(num)d of: lowercase letters, uppercase "
                    "letters, digits and symbols.",
                    num=self.required_classes,
                )
            )
        lowered = password.casefold()
        for value in personal:
            if value and len(value) >= 3 and _contains_personal(lowered, value.casefold()):
                problems.append(
                    gettext("The password must not contain your username, email or phone number.")
                )
                break
        if self.history and _matches_any(password, list(previous_hashes)[: self.history]):
            problems.append(
                ngettext(
                    "The password must differ from your previous password.",
                    "The password must differ from your last %(num)d passwords.",
                    self.history,
                )
            )
        return problems

    def is_expired(self, changed_at: datetime | None, now: datetime) -> bool:
        """Whether a password set at `changed_at` is past the maximum age."""
        if not self.max_age_days or changed_at is None:
            return False
        return now - changed_at > timedelta(days=self.max_age_days)


def _character_classes(password: str) -> int:
    checks = (
        any(ch.islower() for ch in password),
        any(ch.isupper() for ch in password),
        any(ch.isdigit() for ch in password),
        any(ch in string.punctuation or not ch.isalnum() for ch in password),
    )
    return sum(checks)


def _contains_personal(password: str, value: str) -> bool:
    local = value.split("@", 1)[0]
    digits = value.lstrip("+")
    candidates = {value, local, digits, digits[-11:]}
    return any(len(c) >= 3 and c in password for c in candidates)


def _matches_any(password: str, hashes: list[str]) -> bool:
    hasher = PasswordHasher()
    for stored in hashes:
        try:
            if hasher.verify(stored, password):
                return True
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            continue
    return False
