"""Bad input never yields a 5xx or a half-applied change (hypothesis).

Filters are drawn from the RFC 7644 §3.4.2.2 grammar over the attributes idaas publishes (and
some it does not); bodies from the resource schemas, with wrong types, unknown attributes and
unknown schemas mixed in.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from idaas.directory.models import Account
from idaas.events.models import ChangeEvent
from tests.scim.conftest import ENTERPRISE, IDAAS, PATCH, SCIM, USER

FUZZ = settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

ATTRIBUTES = [
    "userName",
    "displayName",
    "title",
    "active",
    "externalId",
    "id",
    "emails",
    "emails.value",
    "emails.type",
    "phoneNumbers.value",
    "name.givenName",
    "name.familyName",
    "groups.value",
    "meta.created",
    "meta.lastModified",
    "meta.resourceType",
    f"{ENTERPRISE}:employeeNumber",
    f"{IDAAS}:departments.value",
    f"{IDAAS}:attributes.value",
    "nickName",
    "x.y.z",
    "urn:nope:attr",
]
OPERATORS = ["eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le", "EQ", "Sw"]
text = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)
values = st.one_of(
    text.map(json.dumps),
    st.integers(-(2**40), 2**40).map(str),
    st.floats(allow_nan=False, allow_infinity=False).map(str),
    st.sampled_from(["true", "false", "null", '"2024-01-01T00:00:00Z"', '"\\u0041"', '"%_*?["']),
)
attribute = st.sampled_from(ATTRIBUTES)
comparison = st.builds(
    lambda a, o, v: f"{a} {o} {v}", attribute, st.sampled_from(OPERATORS), values
)
presence = attribute.map(lambda a: f"{a} pr")
simple = st.one_of(comparison, presence)
value_path = st.builds(
    lambda a, f: f"{a}[{f}]",
    st.sampled_from(["emails", "groups", f"{IDAAS}:departments", "phoneNumbers", "members"]),
    st.builds(
        lambda a, o, v: f"{a} {o} {v}",
        st.sampled_from(["value", "type", "display", "primary", "title"]),
        st.sampled_from(OPERATORS),
        values,
    ),
)
filters = st.recursive(
    st.one_of(simple, value_path),
    lambda inner: st.one_of(
        st.builds(lambda a, b: f"{a} and {b}", inner, inner),
        st.builds(lambda a, b: f"{a} or {b}", inner, inner),
        inner.map(lambda a: f"not ({a})"),
        inner.map(lambda a: f"({a})"),
    ),
    max_leaves=6,
)
garbage = st.one_of(filters, text, st.builds(lambda f, t: f + t, filters, text))

json_leaf = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**70), 2**70), text, st.floats(allow_nan=False)
)
json_value = st.recursive(
    json_leaf,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(text, inner, max_size=3)),
    max_leaves=8,
)
user_fields = st.fixed_dictionaries(
    {},
    optional={
        "userName": st.one_of(text, json_value),
        "displayName": st.one_of(text, json_value),
        "active": st.one_of(st.booleans(), st.sampled_from(["True", "false", "maybe"]), json_value),
        "title": st.one_of(text, json_value),
        "externalId": st.one_of(text, json_value),
        "password": st.one_of(text, json_value),
        "preferredLanguage": st.one_of(st.sampled_from(["en", "zh_CN", "xx"]), json_value),
        "name": st.one_of(
            st.fixed_dictionaries({}, optional={"givenName": text, "familyName": json_value}),
            json_value,
        ),
        "emails": st.one_of(
            st.lists(
                st.fixed_dictionaries(
                    {"value": st.one_of(text, st.emails().map(str))},
                    optional={"type": st.sampled_from(["work", "home"]), "primary": json_value},
                ),
                max_size=3,
            ),
            json_value,
        ),
        "phoneNumbers": st.one_of(
            st.lists(st.fixed_dictionaries({"value": text, "type": st.just("mobile")}), max_size=2),
            json_value,
        ),
        "groups": json_value,
        "nickName": json_value,
        "meta": json_value,
        ENTERPRISE: st.one_of(
            st.fixed_dictionaries({}, optional={"employeeNumber": st.one_of(text, json_value)}),
            json_value,
        ),
        IDAAS: st.one_of(
            st.fixed_dictionaries(
                {},
                optional={
                    "departments": st.lists(
                        st.fixed_dictionaries({"value": st.one_of(text, st.just("1"))}), max_size=2
                    ),
                    "attributes": json_value,
                },
            ),
            json_value,
        ),
        "urn:unknown:schema": json_value,
    },
)
schemas = st.one_of(
    st.just([USER]),
    st.just([USER, ENTERPRISE, IDAAS]),
    st.lists(st.sampled_from([USER, ENTERPRISE, "urn:nope", "x"]), max_size=3),
    json_value,
)
user_bodies = st.builds(lambda s, f: {"schemas": s, **f}, schemas, user_fields)
patch_ops = st.lists(
    st.fixed_dictionaries(
        {"op": st.sampled_from(["add", "Replace", "REMOVE", "move", "replace"])},
        optional={
            "path": st.one_of(
                st.sampled_from(
                    ATTRIBUTES + ['emails[type eq "work"].value', "members[value eq 1]"]
                ),
                garbage,
            ),
            "value": st.one_of(json_value, user_fields),
        },
    ),
    max_size=4,
)
patch_bodies = st.one_of(
    st.builds(lambda ops: {"schemas": [PATCH], "Operations": ops}, patch_ops),
    st.dictionaries(text, json_value, max_size=3),
)


def _state(db) -> tuple[int, int, list[tuple[int, int]]]:
    db.session.expire_all()
    accounts = db.session.scalar(select(func.count()).select_from(Account))
    events = db.session.scalar(select(func.count()).select_from(ChangeEvent))
    versions = list(db.session.execute(select(Account.id, Account.version)).tuples())
    return accounts, events, sorted(versions)


@FUZZ
@given(query=garbage)
def test_filters_never_5xx(scim, query: str):
    response = scim("GET", "/Users", query_string={"filter": query})
    assert response.status_code in (200, 400), (query, response.get_data(as_text=True))
    assert response.mimetype == SCIM
    if response.status_code == 400:
        assert response.get_json()["scimType"] in ("invalidFilter", "invalidPath", "invalidValue")


@FUZZ
@given(body=user_bodies)
def test_creates_never_5xx_nor_half_apply(scim, db, body: dict[str, Any]):
    before = _state(db)
    response = scim("POST", "/Users", body)
    assert response.status_code < 500, (body, response.get_data(as_text=True))
    after = _state(db)
    if response.status_code == 201:
        assert after[0] == before[0] + 1
    else:
        assert after == before, (body, response.get_data(as_text=True))


@FUZZ
@given(body=patch_bodies)
def test_patches_never_5xx_nor_half_apply(scim, db, body: dict[str, Any]):
    account = db.session.scalar(select(Account).where(Account.username == "fuzz-target"))
    if account is None:
        made = scim(
            "POST", "/Users", {"schemas": [USER], "userName": "fuzz-target", "active": True}
        )
        assert made.status_code == 201
        account = db.session.scalar(select(Account).where(Account.username == "fuzz-target"))
    before = _state(db)
    response = scim("PATCH", f"/Users/{account.uuid}", body)
    assert response.status_code < 500, (body, response.get_data(as_text=True))
    if response.status_code >= 400:
        assert _state(db) == before, (body, response.get_data(as_text=True))


@FUZZ
@given(
    body=user_bodies,
    content_type=st.sampled_from(["text/plain", "application/xml", "", "multipart/form-data"]),
)
def test_wrong_content_types_are_415(scim, db, body, content_type):
    before = _state(db)
    response = scim.http.post(
        "/scim/v2/Users",
        data=json.dumps(body),
        content_type=content_type or None,
        headers={"Authorization": f"Bearer {scim.token}"},
    )
    assert response.status_code == 415 and response.mimetype == SCIM
    assert _state(db) == before


def test_oversized_body_is_413(scim, db, app):
    app.config["MAX_CONTENT_LENGTH"] = 64 * 1024
    before = _state(db)
    response = scim("POST", "/Users", {"schemas": [USER], "userName": "x" * (70 * 1024)})
    assert response.status_code == 413 and response.mimetype == SCIM
    assert _state(db) == before


def test_failed_put_leaves_nothing_applied(scim, db):
    """A PUT whose later step is refused (a weak password) changes none of its earlier steps."""
    made = scim("POST", "/Users", {"schemas": [USER], "userName": "atomic", "active": True})
    user = made.get_json()
    before = _state(db)
    response = scim(
        "PUT",
        f"/Users/{user['id']}",
        {"schemas": [USER], "userName": "atomic2", "title": "New", "active": True, "password": "a"},
    )
    assert response.status_code == 400, response.get_data(as_text=True)
    assert _state(db) == before
    assert scim("GET", f"/Users/{user['id']}").get_json()["userName"] == "atomic"
