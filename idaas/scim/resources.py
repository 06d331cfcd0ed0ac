"""The SCIM resources idaas serves, as scim2-models classes (RFC 7643 §4, §8.7.1).

These classes declare only the attributes the directory really stores, so the `/Schemas` and
`/ResourceTypes` documents generated from them tell a client exactly what round-trips. The
core schema URNs are kept (a `User` is still `urn:ietf:params:scim:schemas:core:2.0:User`),
with fewer attributes than RFC 7643 lists: RFC 7643 §2 lets a service provider support a
subset. Attributes a client sends that are not declared here are ignored (policy `unknown`,
RFC 7644 §3.3 leaves this to the service provider), so Entra's and Okta's default mappings
still provision.

Pydantic `examples` guide compliance checkers to values the directory accepts (a mobile
number, a language code).
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

from pydantic import Field
from scim2_models import (
    URN,
    CaseExact,
    ComplexAttribute,
    Extension,
    Mutability,
    Reference,
    Required,
    Resource,
    Returned,
    Uniqueness,
)

USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE_SCHEMA = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
IDAAS_USER_SCHEMA = "urn:idaas:params:scim:schemas:extension:idaas:2.0:User"
DEPARTMENT_SCHEMA = "urn:idaas:params:scim:schemas:core:2.0:Department"


class Name(ComplexAttribute):
    """The person's name parts (RFC 7643 §4.1.1); the full name is `displayName`."""

    family_name: str | None = None
    """The family name (surname)."""

    given_name: str | None = None
    """The given name."""


class Email(ComplexAttribute):
    """The account's one email address (idaas stores a single work address)."""

    value: Annotated[str | None, Uniqueness.server] = None
    """The address; unique among accounts, compared without case."""

    type: str | None = Field(None, examples=["work"])
    """Always `work`."""


class PhoneNumber(ComplexAttribute):
    """The account's one mobile number (E.164 after normalisation)."""

    value: Annotated[str | None, Uniqueness.server] = Field(
        None, examples=["+8613800138000", "+8613900139000", "+8618600186000"]
    )
    """The number; national numbers are read in the configured default region."""

    type: str | None = Field(None, examples=["mobile"])
    """Always `mobile`."""


class UserGroup(ComplexAttribute):
    """A group the user belongs to (read-only: change it on the Group)."""

    value: Annotated[str | None, Mutability.read_only, CaseExact.true] = None
    """The group's id."""

    ref: Annotated[Reference[Group] | None, Mutability.read_only] = Field(
        None, serialization_alias="$ref", validation_alias="$ref"
    )
    """The group's URI."""

    display: Annotated[str | None, Mutability.read_only] = None
    """The group's name."""

    type: Annotated[str | None, Mutability.read_only] = None
    """Always `direct`: groups are flat."""


class User(Resource[Any]):
    """A person's account."""

    __schema__ = URN(USER_SCHEMA)

    user_name: Annotated[str | None, Uniqueness.server, Required.true] = None
    """The sign-in name; unique, compared without case."""

    name: Name | None = None
    """The name parts."""

    Name: ClassVar[type[ComplexAttribute]] = Name

    display_name: str | None = None
    """The name shown to people; unassigned means the user name is shown."""

    title: str | None = None
    """The job title."""

    preferred_language: str | None = Field(None, examples=["zh_CN", "en"])
    """The interface language (one of the languages idaas speaks)."""

    active: Annotated[bool | None, Required.true] = None
    """False when the account is disabled or has left (always sent: the directory has no
    "unknown" status)."""

    password: Annotated[str | None, Mutability.write_only, Returned.never] = None
    """A new password (checked against the password policy); never returned."""

    emails: list[Email] | None = None
    """At most one address."""

    Emails: ClassVar[type[ComplexAttribute]] = Email

    phone_numbers: list[PhoneNumber] | None = None
    """At most one mobile number."""

    PhoneNumbers: ClassVar[type[ComplexAttribute]] = PhoneNumber

    groups: Annotated[list[UserGroup] | None, Mutability.read_only] = None
    """The groups the user is a member of."""

    Groups: ClassVar[type[ComplexAttribute]] = UserGroup


class Manager(ComplexAttribute):
    """The user's manager, another User (RFC 7643 §4.3)."""

    value: Annotated[str | None, CaseExact.true] = None
    """The manager's id (always returned); an empty value removes the manager."""

    ref: Annotated[Reference[User] | None, Mutability.read_only, Returned.request] = Field(
        None, serialization_alias="$ref", validation_alias="$ref"
    )
    """The manager's URI (returned when asked for; set the manager by its `value`)."""

    display_name: Annotated[str | None, Mutability.read_only, Returned.request] = None
    """The manager's display name (returned when asked for)."""


class EnterpriseUser(Extension):
    """The enterprise extension (RFC 7643 §4.3), limited to what the directory holds: not
    costCenter or division, which idaas does not store (sent values are ignored, or refused
    with 400 when SCIM_UNKNOWN_ATTRIBUTES is forbid)."""

    __schema__ = URN(ENTERPRISE_SCHEMA)

    employee_number: Annotated[str | None, Uniqueness.server, CaseExact.true] = None
    """The employee number; unique and compared exactly, as the directory stores it."""

    organization: Annotated[str | None, Mutability.read_only, Returned.request] = None
    """The root department above the primary department (returned when asked for)."""

    department: Annotated[str | None, Mutability.read_only, Returned.request] = None
    """The primary department's name (returned when asked for; set departments in the idaas
    extension)."""

    manager: Manager | None = None
    """The user's manager (not one of the users who report to this one)."""

    Manager: ClassVar[type[ComplexAttribute]] = Manager


class DepartmentReference(ComplexAttribute):
    """A reference to a department: its id, with its URI and name when asked for."""

    value: Annotated[str | None, CaseExact.true] = None
    """The department's id."""

    ref: Annotated[
        Reference[Department] | None,
        Mutability.read_only,
        Returned.request,
    ] = Field(None, serialization_alias="$ref", validation_alias="$ref")
    """The department's URI (returned when asked for)."""

    display: Annotated[str | None, Mutability.read_only, Returned.request] = None
    """The department's name (returned when asked for)."""


class DepartmentMembership(DepartmentReference):
    """A department the user belongs to."""

    value: Annotated[str | None, Required.true, CaseExact.true] = None
    """The department's id."""

    primary: bool | None = None
    """True for the primary department (exactly one): the one marked, else the first listed."""

    title: str | None = None
    """The job title in this department."""


class CustomAttribute(ComplexAttribute):
    """A value of a custom attribute of the data dictionary."""

    name: Annotated[str | None, Required.true, CaseExact.true] = None
    """The attribute's key."""

    value: str | None = None
    """The value, as text (checked against the attribute's type)."""


class DingTalkIdentity(ComplexAttribute):
    """The DingTalk user this account is linked to."""

    corp_id: Annotated[str | None, Mutability.read_only, CaseExact.true] = None
    """The DingTalk organisation (corpId)."""

    user_id: Annotated[str | None, Mutability.read_only, CaseExact.true] = None
    """The DingTalk userid in that organisation."""

    union_id: Annotated[str | None, Mutability.read_only, CaseExact.true] = None
    """The DingTalk unionId."""


class IdaasUser(Extension):
    """idaas' own user attributes: departments, DingTalk ids and custom attributes."""

    __schema__ = URN(IDAAS_USER_SCHEMA)

    departments: list[DepartmentMembership] | None = None
    """Department memberships."""

    dingtalk: Annotated[list[DingTalkIdentity] | None, Mutability.read_only] = None
    """Linked DingTalk identities (read-only: DingTalk owns them)."""

    attributes: list[CustomAttribute] | None = None
    """Custom attribute values."""

    source: Annotated[str | None, Mutability.read_only, CaseExact.true, Returned.request] = None
    """Who owns the account: `local` or the DingTalk connection that imported it."""


class GroupMember(ComplexAttribute):
    """A member of a group: always a User (groups are flat, not nested)."""

    value: Annotated[str | None, Mutability.immutable, CaseExact.true] = None
    """The member's id."""

    ref: Annotated[Reference[User] | None, Mutability.immutable] = Field(
        None, serialization_alias="$ref", validation_alias="$ref"
    )
    """The member's URI."""

    type: Annotated[str | None, Mutability.immutable] = Field(None, examples=["User"])
    """Always `User`."""

    display: Annotated[str | None, Mutability.read_only, Returned.request] = None
    """The member's display name (returned when asked for)."""


class Group(Resource[Any]):
    """A flat group of users."""

    __schema__ = URN(GROUP_SCHEMA)

    display_name: Annotated[str | None, Required.true, Uniqueness.server] = None
    """The group's name; unique, compared without case."""

    members: list[GroupMember] | None = None
    """The users in the group."""

    Members: ClassVar[type[ComplexAttribute]] = GroupMember


class ParentReference(DepartmentReference):
    """The parent of a department."""


class Department(Resource[Any]):
    """A node of the department tree (a custom resource type, RFC 7643 §6)."""

    __schema__ = URN(DEPARTMENT_SCHEMA)

    display_name: Annotated[str | None, Required.true] = None
    """The department's name (unique among its siblings)."""

    parent: ParentReference | None = None
    """The parent department; absent for a root."""

    sort_order: int | None = None
    """The position among siblings; unassigned means 0."""

    path: Annotated[str | None, Mutability.read_only, CaseExact.true] = None
    """The ids from the root, e.g. `/1/7/42/`."""


UserResource = User[EnterpriseUser | IdaasUser]  # type: ignore[type-arg]

# Complex attributes holding a forward `Reference["..."]` are built before the resource they
# name; rebuilding them once everything exists completes their SCIM attribute table.
for _model in (
    UserGroup,
    Manager,
    EnterpriseUser,
    DepartmentReference,
    DepartmentMembership,
    GroupMember,
    ParentReference,
    User,
    IdaasUser,
    Group,
    Department,
    UserResource,
):
    _model.model_rebuild(force=True)
