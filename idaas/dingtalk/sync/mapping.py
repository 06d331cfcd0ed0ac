"""DingTalk user fields -> account fields, with the admin's attribute rules (issue 15 item 1)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from string import Template
from typing import Any

from flask import current_app
from flask_babel import gettext

from idaas.directory.normalise import InvalidValue, clean_email, clean_mobile

TRANSFORMS = ("direct", "trim", "lowercase", "regex", "dictionary", "template")
ACCOUNT_TARGETS = ("display_name", "email", "mobile", "employee_number", "title", "locale")
EMAIL_FIELDS = ("email", "org_email")


class RuleFailed(ValueError):
    """A mapping rule refused a value; the message says which rule and why."""


@dataclass
class MappedUser:
    """An account as DingTalk says it should be, and the problems found on the way."""

    userid: str
    unionid: str | None
    fields: dict[str, Any]
    attributes: dict[str, Any]
    dept_ids: list[int]
    errors: list[dict[str, str]] = field(default_factory=list)

    def error(self, kind: str, field_name: str, message: str) -> None:
        """Record one problem: its kind (e.g. no_mobile), the field and the reason in words."""
        self.errors.append({"kind": kind, "field": field_name, "message": message})


def validate_rules(rules: Any) -> list[dict[str, Any]]:
    """Check an attribute mapping; ValueError with a reason when a rule is malformed."""
    if not isinstance(rules, list):
        raise ValueError(gettext("The mapping must be a list of rules."))
    clean: list[dict[str, Any]] = []
    for index, rule in enumerate(rules, 1):
        if not isinstance(rule, dict) or not rule.get("source") or not rule.get("target"):
            raise ValueError(gettext("Rule %(n)d needs a source and a target.", n=index))
        target = str(rule["target"])
        if target not in ACCOUNT_TARGETS and not re.fullmatch(r"attributes\.\w{1,64}", target):
            raise ValueError(
                gettext("Rule %(n)d: unknown target %(target)s.", n=index, target=target)
            )
        transform = str(rule.get("transform") or "direct")
        if transform not in TRANSFORMS:
            raise ValueError(gettext("Rule %(n)d: unknown transform.", n=index))
        if transform == "regex":
            try:
                re.compile(str(rule.get("pattern") or ""))
            except re.error:
                raise ValueError(
                    gettext("Rule %(n)d: invalid regular expression.", n=index)
                ) from None
        if transform == "dictionary" and not isinstance(rule.get("dictionary"), dict):
            raise ValueError(gettext("Rule %(n)d: the dictionary must be an object.", n=index))
        if transform == "template" and not isinstance(rule.get("template"), str):
            raise ValueError(gettext("Rule %(n)d: the template must be text.", n=index))
        clean.append({**rule, "target": target, "transform": transform})
    return clean


def apply_rule(rule: dict[str, Any], user: dict[str, Any]) -> Any:
    """One rule's value for a DingTalk user; RuleFailed when a check or lookup fails."""
    value = user.get(str(rule["source"]))
    transform = rule["transform"]
    if transform == "trim":
        return value.strip() if isinstance(value, str) else value
    if transform == "lowercase":
        return value.lower() if isinstance(value, str) else value
    if transform == "regex":
        if value in (None, "") or not re.fullmatch(str(rule["pattern"]), str(value)):
            raise RuleFailed(
                gettext(
                    "%(source)s %(value)s does not match %(pattern)s.",
                    source=rule["source"],
                    value=repr(value),
                    pattern=rule["pattern"],
                )
            )
        return value
    if transform == "dictionary":
        table = rule["dictionary"]
        if str(value) not in table:
            if "default" in rule:
                return rule["default"]
            raise RuleFailed(
                gettext(
                    "%(source)s %(value)s is not in the dictionary.",
                    source=rule["source"],
                    value=repr(value),
                )
            )
        return table[str(value)]
    if transform == "template":
        strings = {k: "" if v is None else str(v) for k, v in user.items()}
        return Template(str(rule["template"])).safe_substitute(strings)
    return value


def _mobile(user: dict[str, Any]) -> str | None:
    mobile = str(user.get("mobile") or "").strip()
    if not mobile:
        return None
    code = str(user.get("state_code") or "").strip()
    return f"+{code}{mobile}" if code and not mobile.startswith("+") else mobile


def map_user(user: dict[str, Any], email_field: str, rules: list[dict[str, Any]]) -> MappedUser:
    """A DingTalk user (§4.5/§4.6 fields) as account fields, with per-field problems."""
    region = current_app.config["DEFAULT_PHONE_REGION"]
    mapped = MappedUser(
        userid=str(user["userid"]),
        unionid=user.get("unionid") or None,
        fields={
            "username": str(user["userid"]),
            "display_name": (str(user.get("name") or "").strip() or None),
            "employee_number": (str(user.get("job_number") or "").strip() or None),
            "title": (str(user.get("title") or "").strip() or None),
        },
        attributes={},
        dept_ids=[int(d) for d in user.get("dept_id_list") or []],
    )
    raw_mobile = _mobile(user)
    if raw_mobile is None:
        mapped.error(
            "no_mobile",
            "mobile",
            gettext(
                "DingTalk gave no mobile number: grant the app the 手机号码信息 permission "
                "or add the number in DingTalk."
            ),
        )
        mapped.fields["mobile"] = None
    else:
        try:
            mapped.fields["mobile"] = clean_mobile(raw_mobile, region)
        except InvalidValue as exc:
            mapped.error("invalid_mobile", "mobile", str(exc))
    raw_email = str(user.get(email_field) or "").strip()
    try:
        mapped.fields["email"] = clean_email(raw_email or None)
    except InvalidValue:
        mapped.error(
            "invalid_email",
            "email",
            gettext("%(value)s is not a valid email address.", value=repr(raw_email)),
        )
    for rule in rules:
        try:
            value = apply_rule(rule, user)
        except RuleFailed as exc:
            mapped.error("attribute_rule", rule["target"], str(exc))
            continue
        target = rule["target"]
        if target.startswith("attributes."):
            mapped.attributes[target.split(".", 1)[1]] = value
        elif target == "email":
            try:
                mapped.fields["email"] = clean_email(str(value) if value else None)
            except InvalidValue:
                mapped.error(
                    "invalid_email",
                    "email",
                    gettext("%(value)s is not a valid email address.", value=repr(value)),
                )
        elif target == "mobile":
            try:
                mapped.fields["mobile"] = clean_mobile(str(value) if value else None, region)
            except InvalidValue as exc:
                mapped.error("invalid_mobile", "mobile", str(exc))
        else:
            mapped.fields[target] = str(value).strip() if value not in (None, "") else None
    return mapped
