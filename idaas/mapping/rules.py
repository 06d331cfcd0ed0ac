"""Mapping rules: validation, one rule's value, and a whole record mapped with per-field errors."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from string import Template
from typing import Any

from flask_babel import gettext

TRANSFORMS = (
    "direct",
    "trim",
    "lowercase",
    "uppercase",
    "regex",
    "dictionary",
    "template",
    "default",
    "sub_account",
)
PLACEHOLDER = re.compile(r"\{([A-Za-z_][\w.]{0,127})\}")
MISSING: Any = object()


class RuleFailed(ValueError):
    """A rule refused a value; the message says which rule and why."""


@dataclass(frozen=True)
class MappingContext:
    """What some transforms need besides the record: the person's key in the application.

    `sub_account` is the app's username for the person (its staff number, ...) and
    `sub_account_state` why there is none (`missing`, `pending`, `conflict`), or `ok`;
    `application` names the app in messages (None: no application, e.g. the DingTalk pull).
    """

    application: str | None = None
    sub_account: str | None = None
    sub_account_state: str = "missing"


@dataclass
class MappingResult:
    """A record mapped: the target values, and one error per rule that refused."""

    values: dict[str, Any] = field(default_factory=dict)
    errors: list[dict[str, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether every rule produced a value."""
        return not self.errors


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def read_source(source: str, record: Mapping[str, Any]) -> Any:
    """A field of `record` (dotted for nesting) or an expression with `{field}` placeholders."""
    if "{" in source:
        return _fill(source, record)
    value: Any = record
    for part in source.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def _fill(template: str, record: Mapping[str, Any]) -> str:
    def placeholder(match: re.Match[str]) -> str:
        value = read_source(match.group(1), record)
        return "" if value is None else str(value)

    filled = PLACEHOLDER.sub(placeholder, template)
    strings = {k: "" if v is None else str(v) for k, v in record.items()}
    return Template(filled).safe_substitute(strings)  # `$field` too (older DingTalk rules)


def validate_rules(
    rules: Any, allowed_target: Callable[[str], bool] | None = None
) -> list[dict[str, Any]]:
    """A clean copy of a mapping; ValueError naming the rule and the reason when malformed."""
    if not isinstance(rules, list):
        raise ValueError(gettext("The mapping must be a list of rules."))
    clean: list[dict[str, Any]] = []
    for index, rule in enumerate(rules, 1):
        if not isinstance(rule, dict) or not rule.get("source") or not rule.get("target"):
            raise ValueError(gettext("Rule %(n)d needs a source and a target.", n=index))
        target = str(rule["target"])
        if allowed_target is not None and not allowed_target(target):
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
        if transform == "default" and "default" not in rule:
            raise ValueError(gettext("Rule %(n)d: give the default value.", n=index))
        clean.append(
            {**rule, "source": str(rule["source"]), "target": target, "transform": transform}
        )
    return clean


def _transform(
    rule: dict[str, Any], value: Any, record: Mapping[str, Any], context: MappingContext
) -> Any:
    transform = rule["transform"]
    source = rule["source"]
    if transform == "trim":
        return value.strip() if isinstance(value, str) else value
    if transform == "lowercase":
        return value.lower() if isinstance(value, str) else value
    if transform == "uppercase":
        return value.upper() if isinstance(value, str) else value
    if transform == "regex":
        if _empty(value) or not re.fullmatch(str(rule["pattern"]), str(value)):
            raise RuleFailed(
                gettext(
                    "%(source)s %(value)s does not match %(pattern)s.",
                    source=source,
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
                    source=source,
                    value=repr(value),
                )
            )
        return table[str(value)]
    if transform == "template":
        return _fill(str(rule["template"]), record)
    if transform == "sub_account":
        return _sub_account(source, value, context)
    return value


def _sub_account(source: str, value: Any, context: MappingContext) -> str:
    if context.application is None:
        raise RuleFailed(gettext("The sub-account mapping needs an application."))
    if _empty(value):
        raise RuleFailed(gettext("%(source)s is empty: no sub-account to look up.", source=source))
    if context.sub_account_state != "ok" or not context.sub_account:
        raise RuleFailed(
            gettext(
                "%(source)s %(value)s has no sub-account in %(app)s (%(state)s).",
                source=source,
                value=repr(value),
                app=context.application,
                state=context.sub_account_state,
            )
        )
    return context.sub_account


def apply_rule(
    rule: dict[str, Any], record: Mapping[str, Any], context: MappingContext | None = None
) -> Any:
    """One (validated) rule's value for `record`; RuleFailed when a check or lookup refuses.

    An empty result becomes the rule's `default` when it has one.
    """
    value = read_source(rule["source"], record)
    result = _transform(rule, value, record, context or MappingContext())
    if _empty(result) and "default" in rule:
        return rule["default"]
    return result


def map_record(
    rules: list[dict[str, Any]],
    record: Mapping[str, Any],
    context: MappingContext | None = None,
) -> MappingResult:
    """Every rule applied to `record`; a refused rule is an error on its target, not a value."""
    result = MappingResult()
    for rule in rules:
        try:
            result.values[rule["target"]] = apply_rule(rule, record, context)
        except RuleFailed as exc:
            result.errors.append(
                {"kind": "attribute_rule", "field": rule["target"], "message": str(exc)}
            )
    return result
