"""The shared field-mapping engine: every transform, its failure message, defaults, preview."""

from __future__ import annotations

from typing import Any

import pytest

from idaas.mapping import (
    MappingContext,
    RuleFailed,
    apply_rule,
    map_record,
    preview_account,
    read_source,
    validate_rules,
)

PERSON = {
    "username": " Ada.Lovelace ",
    "employee_number": "E000042",
    "dept_code": "D01",
    "dingtalk_userid": "ding-ada",
    "attributes": {"cost_center": "CC-7"},
    "blank": "",
}


def one(rule: dict[str, Any], context: MappingContext | None = None) -> Any:
    """The value of one validated rule for PERSON."""
    return apply_rule(validate_rules([rule])[0], PERSON, context)


def test_direct_trim_lowercase_uppercase(app: Any) -> None:
    assert one({"source": "username", "target": "t"}) == " Ada.Lovelace "
    assert one({"source": "username", "target": "t", "transform": "trim"}) == "Ada.Lovelace"
    assert one({"source": "username", "target": "t", "transform": "lowercase"}) == " ada.lovelace "
    assert one({"source": "username", "target": "t", "transform": "uppercase"}) == " ADA.LOVELACE "


def test_sources_are_fields_dotted_paths_or_expressions(app: Any) -> None:
    assert read_source("attributes.cost_center", PERSON) == "CC-7"
    assert read_source("attributes.nothing.deeper", PERSON) is None
    assert read_source("{employee_number}-{dept_code}", PERSON) == "E000042-D01"


def test_template(app: Any) -> None:
    rule = {"source": "employee_number", "target": "userName", "transform": "template"}
    assert one({**rule, "template": "{employee_number}@corp"}) == "E000042@corp"
    assert one({**rule, "template": "$employee_number@corp"}) == "E000042@corp"
    with pytest.raises(ValueError, match="template must be text"):
        validate_rules([{**rule, "template": 5}])


def test_regex_accepts_or_refuses_with_the_reason(app: Any) -> None:
    rule = {"source": "employee_number", "target": "n", "transform": "regex"}
    assert one({**rule, "pattern": r"E\d{6}"}) == "E000042"
    with pytest.raises(RuleFailed) as caught:
        one({**rule, "pattern": r"X\d+"})
    assert str(caught.value) == "employee_number 'E000042' does not match X\\d+."
    with pytest.raises(ValueError, match="invalid regular expression"):
        validate_rules([{**rule, "pattern": "("}])


def test_dictionary_lookup_default_and_failure(app: Any) -> None:
    rule = {"source": "dept_code", "target": "cc", "transform": "dictionary"}
    assert one({**rule, "dictionary": {"D01": "CC-100"}}) == "CC-100"
    assert one({**rule, "dictionary": {"D02": "x"}, "default": "CC-000"}) == "CC-000"
    with pytest.raises(RuleFailed, match="dept_code 'D01' is not in the dictionary."):
        one({**rule, "dictionary": {"D02": "x"}})
    with pytest.raises(ValueError, match="dictionary must be an object"):
        validate_rules([{**rule, "dictionary": ["D01"]}])


def test_default_value(app: Any) -> None:
    assert (
        one({"source": "blank", "target": "t", "transform": "default", "default": "n/a"}) == "n/a"
    )
    assert (
        one({"source": "dept_code", "target": "t", "transform": "default", "default": "n/a"})
        == "D01"
    )
    assert one({"source": "missing", "target": "t", "transform": "trim", "default": "-"}) == "-"
    with pytest.raises(ValueError, match="give the default value"):
        validate_rules([{"source": "blank", "target": "t", "transform": "default"}])


def test_sub_account_maps_the_dingtalk_userid_to_the_app_key(app: Any) -> None:
    rule = {"source": "dingtalk_userid", "target": "employeeNumber", "transform": "sub_account"}
    ok = MappingContext(application="erp", sub_account="S-9", sub_account_state="ok")
    assert one(rule, ok) == "S-9"
    with pytest.raises(RuleFailed, match="needs an application"):
        one(rule)
    pending = MappingContext(application="erp", sub_account_state="pending")
    with pytest.raises(RuleFailed, match=r"'ding-ada' has no sub-account in erp \(pending\)"):
        one(rule, pending)
    with pytest.raises(RuleFailed, match="blank is empty"):
        one({**rule, "source": "blank"}, ok)


def test_validation_names_the_rule(app: Any) -> None:
    with pytest.raises(ValueError, match="must be a list"):
        validate_rules({"source": "a"})
    with pytest.raises(ValueError, match="Rule 2 needs a source and a target"):
        validate_rules([{"source": "a", "target": "b"}, {"source": "a"}])
    with pytest.raises(ValueError, match="Rule 1: unknown transform"):
        validate_rules([{"source": "a", "target": "b", "transform": "rot13"}])
    with pytest.raises(ValueError, match="Rule 1: unknown target nope"):
        validate_rules([{"source": "a", "target": "nope"}], lambda t: t == "ok")


def test_map_record_collects_per_object_errors(app: Any) -> None:
    rules = validate_rules(
        [
            {"source": "employee_number", "target": "externalId"},
            {"source": "dept_code", "target": "cc", "transform": "dictionary", "dictionary": {}},
        ]
    )
    result = map_record(rules, PERSON)
    assert result.values == {"externalId": "E000042"}
    assert not result.ok
    assert result.errors == [
        {
            "kind": "attribute_rule",
            "field": "cc",
            "message": "dept_code 'D01' is not in the dictionary.",
        }
    ]


def test_preview_shows_what_a_chosen_account_maps_to(app: Any, db: Any) -> None:
    from idaas.applications import apps
    from idaas.directory import service

    account = service.create_account(
        "system", username="grace", employee_number="E7", email="grace@example.com"
    )
    app_row = apps.create_application(
        "system",
        name="ERP",
        redirect_uris=["https://erp.example.com/cb"],
        subaccount_mode="mapping",
        subaccount_rule="employee_number",
    )[0]
    rules = [
        {"source": "email", "target": "emails", "transform": "uppercase"},
        {"source": "username", "target": "employeeNumber", "transform": "sub_account"},
    ]
    shown = preview_account(rules, account, app_row)
    assert shown["values"] == {"emails": "GRACE@EXAMPLE.COM", "employeeNumber": "E7"}
    assert shown["errors"] == []
    assert shown["source"]["email_local"] == "grace"
    with pytest.raises(ValueError):
        preview_account([{"source": "x"}], account, app_row)
