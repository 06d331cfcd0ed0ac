"""DingTalk user fields -> account fields: a DingTalk adapter over `idaas.mapping` (issue 15)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from flask import current_app
from flask_babel import gettext

from idaas import mapping as engine
from idaas.directory.normalise import InvalidValue, clean_email, clean_mobile
from idaas.mapping import TRANSFORMS, RuleFailed

__all__ = ["TRANSFORMS", "RuleFailed", "apply_rule", "map_user", "validate_rules"]
ACCOUNT_TARGETS = ("display_name", "email", "mobile", "employee_number", "title", "locale")
EMAIL_FIELDS = ("email", "org_email")


def _account_target(target: str) -> bool:
    return target in ACCOUNT_TARGETS or re.fullmatch(r"attributes\.\w{1,64}", target) is not None


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
    """Check an attribute mapping onto account fields; ValueError with a reason if malformed."""
    return engine.validate_rules(rules, _account_target)


def apply_rule(rule: dict[str, Any], user: dict[str, Any]) -> Any:
    """One rule's value for a DingTalk user; RuleFailed when a check or lookup fails."""
    return engine.apply_rule(rule, user)


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
