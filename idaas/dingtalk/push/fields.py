"""An account as DingTalk user fields (§5.4), through the shared field-mapping engine.

The default rules map the profile (name, mobile, email, job number, title); an administrator's
rules for the connection come after them and win for the same target, e.g. a template
`{employee_number}@corp.example` for `org_email`, or a dictionary for `work_place`.
"""

from __future__ import annotations

from typing import Any

import phonenumbers
from flask_babel import gettext

from idaas.directory.models import Account
from idaas.mapping import account_record, map_record, validate_rules

#: DingTalk user fields a rule may write, with their length limits (§5.4)
USER_FIELDS: dict[str, int] = {
    "name": 80,
    "mobile": 32,
    "email": 50,
    "org_email": 100,
    "job_number": 50,
    "title": 200,
    "telephone": 50,
    "work_place": 100,
    "remark": 2000,
}
DEFAULT_RULES: list[dict[str, Any]] = [
    {"source": "display_name", "target": "name"},
    {"source": "mobile", "target": "mobile"},
    {"source": "email", "target": "email"},
    {"source": "employee_number", "target": "job_number"},
    {"source": "title", "target": "title"},
]


class FieldsRefused(ValueError):
    """The account cannot become a DingTalk user as it is; `errors` says why, per field."""

    def __init__(self, errors: list[dict[str, str]]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"{e['field']}: {e['message']}" for e in errors))


def validate(rules: Any) -> list[dict[str, Any]]:
    """A clean copy of an administrator's rules (DingTalk user fields only), or ValueError."""
    return validate_rules(rules, allowed_target=lambda target: target in USER_FIELDS)


def dingtalk_mobile(value: str) -> str:
    """E.164 as DingTalk writes it (§5.4): national digits in China, `+cc-number` elsewhere."""
    number = phonenumbers.parse(value, "CN")
    national = str(number.national_number)
    return national if number.country_code == 86 else f"+{number.country_code}-{national}"


def user_fields(account: Account, rules: list[dict[str, Any]]) -> dict[str, Any]:
    """The DingTalk fields of `account`; FieldsRefused when a rule refuses or mobile is missing."""
    record, context = account_record(account)
    result = map_record(validate_rules(DEFAULT_RULES) + rules, record, context)
    errors = list(result.errors)
    values = {k: v for k, v in result.values.items() if v not in (None, "")}
    if not values.get("mobile"):
        errors.append(
            {
                "kind": "no_mobile",
                "field": "mobile",
                "message": gettext(
                    "DingTalk requires a mobile number: add one to %(username)s before it can "
                    "be pushed.",
                    username=account.username,
                ),
            }
        )
    else:
        try:
            values["mobile"] = dingtalk_mobile(str(values["mobile"]))
        except phonenumbers.NumberParseException:
            errors.append(
                {
                    "kind": "bad_mobile",
                    "field": "mobile",
                    "message": gettext("Not a valid phone number."),
                }
            )
    if not values.get("name"):
        values["name"] = account.username
    for key, limit in USER_FIELDS.items():
        if key in values and len(str(values[key])) > limit:
            errors.append(
                {
                    "kind": "too_long",
                    "field": key,
                    "message": gettext(
                        "DingTalk accepts at most %(n)d characters in %(field)s.",
                        n=limit,
                        field=key,
                    ),
                }
            )
    if errors:
        raise FieldsRefused(errors)
    return {k: str(v) for k, v in values.items()}
