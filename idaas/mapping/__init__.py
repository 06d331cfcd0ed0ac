"""The field-mapping engine shared by SCIM push, DingTalk push and the DingTalk pull (issue 16).

A *mapping* is a list of rules, each `{"source", "target", "transform", ...}`:

    [{"source": "employee_number", "target": "userName", "transform": "template",
      "template": "{employee_number}@corp"},
     {"source": "dept_code", "target": "attributes.cost_center", "transform": "dictionary",
      "dictionary": {"D01": "CC-100"}, "default": "CC-000"},
     {"source": "dingtalk_userid", "target": "employeeNumber", "transform": "sub_account"}]

`source` is a field of the source record (dotted for nesting: `attributes.staff_no`) or an
expression with `{field}` placeholders. Transforms: `direct`, `trim`, `lowercase`,
`uppercase`, `regex` (a check: refuse a value that does not match), `dictionary` (lookup),
`template`, `default` (the rule's `default` when the value is empty) and `sub_account` (the
person's key in the application: idaas' DingTalk userid -> the app's staff number). Every
rule may carry a `default`, used when the value comes out empty.

Public interface (stable, other modules build on it):
- `validate_rules(rules, allowed_target=None)`: a clean copy, or ValueError with the reason;
- `apply_rule(rule, record, context=None)`: one rule's value, or `RuleFailed`;
- `map_record(rules, record, context=None)`: a `MappingResult` (values + per-field errors);
- `account_record(account, application=None)`: the source record of a directory account;
- `preview_account(rules, account, application=None)`: what an account maps to, before saving.
"""

from idaas.mapping.preview import preview_account
from idaas.mapping.rules import (
    TRANSFORMS,
    MappingContext,
    MappingResult,
    RuleFailed,
    apply_rule,
    map_record,
    read_source,
    validate_rules,
)
from idaas.mapping.sources import account_record

__all__ = [
    "TRANSFORMS",
    "MappingContext",
    "MappingResult",
    "RuleFailed",
    "account_record",
    "apply_rule",
    "map_record",
    "preview_account",
    "read_source",
    "validate_rules",
]
