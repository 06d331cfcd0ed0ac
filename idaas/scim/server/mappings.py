"""Which column answers which SCIM attribute in a filter or `sortBy`, per resource type.

Translators hold only column expressions, so one per client (its externalId system) is built
once and kept.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from sqlalchemy import String, case, cast, func, literal_column, select
from sqlalchemy.orm import aliased

from idaas.directory.models import (
    Account,
    Department,
    ExternalIdentity,
    Group,
    GroupMember,
    Membership,
)
from idaas.scim.resources import (
    DEPARTMENT_SCHEMA,
    ENTERPRISE_SCHEMA,
    GROUP_SCHEMA,
    IDAAS_USER_SCHEMA,
    USER_SCHEMA,
)
from idaas.scim.server.filters import (
    BoolField,
    ConstField,
    DateField,
    ExternalIdField,
    IdField,
    IntField,
    Mapping,
    MultiValued,
    SqlTranslator,
    StringField,
    exists_rows,
)


def _joined_rows(column: Any, joined: Any, on: Any, *conditions: Any) -> Any:
    """`MultiValued.rows` over `column`'s table joined to `joined`, correlated by `conditions`."""
    return exists_rows(lambda: select(column).join(joined, on).where(*conditions))


def _meta(resource_type: str, model: type) -> Mapping:
    return {
        "meta.created": DateField(model.created_at),  # type: ignore[attr-defined]
        "meta.lastmodified": DateField(model.updated_at),  # type: ignore[attr-defined]
        "meta.resourcetype": ConstField(resource_type, case_exact=True),
    }


def _custom_attributes(dialect: str) -> MultiValued:
    """The idaas extension's `attributes`: the entries of the account's JSON object, one row
    each (SQLite `json_each`, PostgreSQL `json_each_text`), values compared as their text."""
    entries: Any
    if dialect == "postgresql":
        # json_each_text refuses a scalar; an account without attributes may hold JSON null.
        document = case(
            (func.json_typeof(Account.attributes) == "object", Account.attributes),
            else_=literal_column("'{}'::json"),
        )
        entries = func.json_each_text(document).table_valued("key", "value").alias("entry")
        text = entries.c.value
    else:
        entries = func.json_each(Account.attributes).table_valued("key", "value", "type")
        entries = entries.alias("entry")
        text = case(
            (entries.c.type == "true", "true"),
            (entries.c.type == "false", "false"),
            else_=cast(entries.c.value, String),
        )
    return MultiValued(
        exists_rows(lambda: select(entries.c.key).select_from(entries)),
        {
            "name": StringField(entries.c.key, case_exact=True),
            "value": StringField(text),
        },
    )


@lru_cache(maxsize=256)
def users(system: str, dialect: str) -> SqlTranslator:
    """Filters over accounts (the dialect decides how custom attributes are read)."""
    has_email = Account.email.is_not(None)
    has_mobile = Account.mobile.is_not(None)
    email = StringField(Account.email_key, lowered=True)
    mobile = StringField(Account.mobile, case_exact=True)
    core: Mapping = {
        "id": StringField(Account.uuid, case_exact=True),
        "externalid": ExternalIdField(system, "account", Account.id),
        "username": StringField(Account.username_key, lowered=True),
        "displayname": StringField(Account.display_name),
        "name.formatted": StringField(Account.display_name),
        "name.givenname": StringField(Account.given_name),
        "name.familyname": StringField(Account.family_name),
        "title": StringField(Account.title),
        "preferredlanguage": StringField(Account.locale, case_exact=True),
        "active": BoolField(Account.status == "active"),
        "emails": email,
        "emails.value": email,
        "emails.type": ConstField("work", presence=has_email),
        "phonenumbers": mobile,
        "phonenumbers.value": mobile,
        "phonenumbers.type": ConstField("mobile", presence=has_mobile),
        "groups": MultiValued(
            _joined_rows(
                GroupMember.group_id,
                Group,
                Group.id == GroupMember.group_id,
                GroupMember.account_id == Account.id,
            ),
            {
                "value": IdField(Group.id),
                "display": StringField(Group.name),
                "type": ConstField("direct"),
            },
        ),
        **_meta("User", Account),
    }
    in_department = (Department, Department.id == Membership.department_id)
    primary_department = _joined_rows(
        Membership.department_id,
        *in_department,
        Membership.account_id == Account.id,
        Membership.is_primary.is_(True),
    )
    manager = aliased(Account, name="manager")
    enterprise: Mapping = {
        "employeenumber": StringField(Account.employee_number, case_exact=True),
        "department": MultiValued(primary_department, {"value": StringField(Department.name)}),
        # `manager_id IN (the managers that match)`: the uuid and manager_id indexes.
        "manager": MultiValued(
            lambda condition: Account.manager_id.in_(select(manager.id).where(condition)),
            {
                "value": StringField(manager.uuid, case_exact=True),
                "displayname": StringField(manager.display_name),
            },
        ),
    }
    idaas: Mapping = {
        "departments": MultiValued(
            _joined_rows(
                Membership.department_id, *in_department, Membership.account_id == Account.id
            ),
            {
                "value": IdField(Membership.department_id),
                "display": StringField(Department.name),
                "primary": BoolField(Membership.is_primary.is_(True)),
                "title": StringField(Membership.title),
            },
        ),
        "dingtalk": MultiValued(
            exists_rows(
                lambda: select(ExternalIdentity.id).where(
                    ExternalIdentity.account_id == Account.id,
                    ExternalIdentity.provider == "dingtalk",
                )
            ),
            {
                "corpid": StringField(ExternalIdentity.tenant, case_exact=True),
                "userid": StringField(ExternalIdentity.subject, case_exact=True),
                "unionid": StringField(ExternalIdentity.union_id, case_exact=True),
            },
        ),
        "attributes": _custom_attributes(dialect),
        "source": StringField(Account.source, case_exact=True),
    }
    return SqlTranslator(
        {USER_SCHEMA: core, ENTERPRISE_SCHEMA: enterprise, IDAAS_USER_SCHEMA: idaas},
        USER_SCHEMA,
    )


def _named(
    system: str, schema: str, resource_type: str, model: Any, extra: Mapping
) -> SqlTranslator:
    """Filters over a resource type with an integer id, a client externalId and a name
    (`displayName`), plus its `extra` attributes."""
    core: Mapping = {
        "id": IdField(model.id),
        "externalid": ExternalIdField(system, resource_type.lower(), model.id),
        "displayname": StringField(model.name),
        **extra,
        **_meta(resource_type, model),
    }
    return SqlTranslator({schema: core}, schema)


@lru_cache(maxsize=256)
def groups(system: str) -> SqlTranslator:
    """Filters over groups."""
    members = MultiValued(
        _joined_rows(
            GroupMember.account_id,
            Account,
            Account.id == GroupMember.account_id,
            GroupMember.group_id == Group.id,
        ),
        {
            "value": StringField(Account.uuid, case_exact=True),
            "display": StringField(Account.display_name),
            "type": ConstField("User"),
        },
    )
    return _named(system, GROUP_SCHEMA, "Group", Group, {"members": members})


@lru_cache(maxsize=256)
def departments(system: str) -> SqlTranslator:
    """Filters over departments."""
    extra: Mapping = {
        "parent": IdField(Department.parent_id),
        "parent.value": IdField(Department.parent_id),
        "sortorder": IntField(Department.sort_order),
        "path": StringField(Department.path, case_exact=True),
    }
    return _named(system, DEPARTMENT_SCHEMA, "Department", Department, extra)
