"""Request and response models of `/api/v1` (pydantic v2): they validate input and are the
source of the JSON Schemas in the OpenAPI document, so the two cannot drift apart.

Bounds mirror the database columns (PostgreSQL refuses what SQLite would store), ids fit a
32-bit integer column, and text refuses control characters (PostgreSQL refuses NUL).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from idaas.applications.scopes import SCOPES

MAX_ID = 2**31 - 1
NO_CONTROL = r"^[^\x00-\x1f\x7f]*$"
ScopeName = Literal[
    "directory:read",
    "directory:write",
    "scim:read",
    "scim:write",
    "audit:read",
    "clients:admin",
    "applications:admin",
    "tokens:introspect",
    "industry",
    "industry:write",
    "industry:roles",
    "deliveries:admin",
    "jobs:admin",
    "provisioning:admin",
    "settings:read",
    "settings:admin",
]
assert set(ScopeName.__args__) == set(SCOPES)  # type: ignore[attr-defined]


def _no_surrogates(value: str) -> str:
    if any(0xD800 <= ord(ch) <= 0xDFFF for ch in value):
        raise ValueError("Text must be valid Unicode.")
    return value


# Bounded text without control characters or lone surrogates: `TextN` may be empty,
# `NameN` may not. Type aliases (not calls) so that type checkers accept them as types.
_Clean = AfterValidator(_no_surrogates)
Text16 = Annotated[str, Field(min_length=0, max_length=16, pattern=NO_CONTROL), _Clean]
Text32 = Annotated[str, Field(min_length=0, max_length=32, pattern=NO_CONTROL), _Clean]
Text64 = Annotated[str, Field(min_length=0, max_length=64, pattern=NO_CONTROL), _Clean]
Text97 = Annotated[str, Field(min_length=0, max_length=97, pattern=NO_CONTROL), _Clean]
Text128 = Annotated[str, Field(min_length=0, max_length=128, pattern=NO_CONTROL), _Clean]
Text254 = Annotated[str, Field(min_length=0, max_length=254, pattern=NO_CONTROL), _Clean]
Text255 = Annotated[str, Field(min_length=0, max_length=255, pattern=NO_CONTROL), _Clean]
Text512 = Annotated[str, Field(min_length=0, max_length=512, pattern=NO_CONTROL), _Clean]
Text1024 = Annotated[str, Field(min_length=0, max_length=1024, pattern=NO_CONTROL), _Clean]
Name64 = Annotated[str, Field(min_length=1, max_length=64, pattern=NO_CONTROL), _Clean]
Name128 = Annotated[str, Field(min_length=1, max_length=128, pattern=NO_CONTROL), _Clean]
Name254 = Annotated[str, Field(min_length=1, max_length=254, pattern=NO_CONTROL), _Clean]
Name1024 = Annotated[str, Field(min_length=1, max_length=1024, pattern=NO_CONTROL), _Clean]


def _drop_default(schema: dict[str, Any]) -> None:
    schema.pop("default", None)


def optional(**constraints: Any) -> Any:
    """A PATCH member: may be omitted (then unchanged); its schema shows no default."""
    return Field(default=None, json_schema_extra=_drop_default, **constraints)


Id = Annotated[int, Field(ge=1, le=MAX_ID)]
SortOrder = Annotated[int, Field(ge=-(2**31), le=MAX_ID)]
AttributeKey = Annotated[
    str, Field(min_length=1, max_length=64, pattern=r"^[a-z][a-z0-9_]{0,63}$"), _Clean
]
AttributeValue = Text1024 | Annotated[int, Field(ge=-(2**53), le=2**53)] | bool | None
Attributes = dict[AttributeKey, AttributeValue]
Code = Annotated[
    str, Field(min_length=1, max_length=64, pattern=r"^[a-z][a-z0-9_.:-]{0,63}$"), _Clean
]
Username = Annotated[
    str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$"), _Clean
]
Status = Literal["active", "disabled", "left"]


class Strict(BaseModel):
    """Bodies: unknown members are an error."""

    model_config = ConfigDict(extra="forbid")


class Query(BaseModel):
    """Query strings: unknown parameters are ignored."""

    model_config = ConfigDict(extra="ignore")


# -- departments --


class DepartmentCreate(Strict):
    """A new department; without `parent_id` it is a root."""

    name: Name128
    parent_id: Id | None = None
    sort_order: SortOrder = 0
    attributes: Attributes = Field(default_factory=dict)


class DepartmentUpdate(Strict):
    """Fields to change (omitted ones stay); use `move` to change the parent."""

    name: Name128 = optional()
    sort_order: SortOrder = optional()
    attributes: Attributes = optional()


class DepartmentMove(Strict):
    """The new parent (`null`: make it a root)."""

    parent_id: Id | None


class DepartmentListQuery(Query):
    """Direct children of `parent`, or the roots."""

    parent: Id | None = None


class TreeQuery(Query):
    """The whole tree, or the subtree under `root`."""

    root: Id | None = None


# -- accounts --


class MembershipSpec(Strict):
    """An account's place in a department."""

    department_id: Id
    is_primary: bool = False
    sort_order: SortOrder = 0
    title: Text128 | None = None


class AccountCreate(Strict):
    """A new account; `password` is optional and never returned."""

    username: Username
    display_name: Text128 | None = None
    email: Text254 | None = None
    mobile: Text32 | None = None
    employee_number: Text64 | None = None
    title: Text128 | None = None
    status: Status = "active"
    locale: Text16 | None = None
    password: (
        Annotated[
            str,
            Field(min_length=1, max_length=256, json_schema_extra={"writeOnly": True}),
            AfterValidator(_no_surrogates),
        ]
        | None
    ) = None
    must_change_password: bool | None = None
    memberships: list[MembershipSpec] = Field(default_factory=list, max_length=50)
    attributes: Attributes = Field(default_factory=dict)
    manager_id: Id | None = Field(None, description="The account's manager (another account).")


class AccountUpdate(Strict):
    """Fields to change (omitted ones stay; `null` clears an optional field)."""

    username: Username = optional()
    display_name: Text128 | None = optional()
    email: Text254 | None = optional()
    mobile: Text32 | None = optional()
    employee_number: Text64 | None = optional()
    title: Text128 | None = optional()
    locale: Text16 | None = optional()
    memberships: list[MembershipSpec] = optional(max_length=50)
    attributes: Attributes = optional()
    manager_id: Id | None = optional(description="The account's manager; `null` clears it.")


class MembershipsReplace(Strict):
    """The complete new list of memberships (one of them primary)."""

    memberships: list[MembershipSpec] = Field(max_length=50)


class AccountListQuery(Query):
    """Filters and keyset pagination for the account list."""

    q: Text128 | None = None
    department: Id | None = None
    include_subdepartments: bool = True
    status: Status | None = None
    group: Id | None = None
    role: Id | None = None
    limit: Annotated[int, Field(ge=1, le=200)] = 50
    cursor: Text512 | None = None


class PageQuery(Query):
    """Keyset pagination."""

    limit: Annotated[int, Field(ge=1, le=200)] = 50
    cursor: Text512 | None = None


# -- groups, roles, attributes --


class GroupCreate(Strict):
    """A new group."""

    name: Name128
    description: Text512 | None = None


class GroupUpdate(Strict):
    """Fields to change."""

    name: Name128 = optional()
    description: Text512 | None = optional()


class PermissionSpec(Strict):
    """A (resource, action) pair, e.g. `users` + `read`."""

    resource: Code
    action: Code


class RoleCreate(Strict):
    """A new role with its permissions."""

    code: Code
    name: Name128
    description: Text512 | None = None
    permissions: list[PermissionSpec] = Field(default_factory=list, max_length=200)


class RoleUpdate(Strict):
    """Fields to change; `permissions` replaces the whole list."""

    code: Code = optional()
    name: Name128 = optional()
    description: Text512 | None = optional()
    permissions: list[PermissionSpec] = optional(max_length=200)


AttributeType = Literal["string", "integer", "boolean", "date", "enum", "email"]
Options = Annotated[list[Name128], Field(max_length=200)]


class AttributeDefinitionCreate(Strict):
    """A custom field of accounts or departments."""

    target: Literal["account", "department"]
    key: AttributeKey
    label: Name128
    type: AttributeType
    required: bool = False
    unique: bool = False
    editable: bool = False
    enabled: bool = True
    options: Options = Field(default_factory=list)
    sort_order: SortOrder = 0


class AttributeDefinitionUpdate(Strict):
    """Fields to change (the key and target are fixed)."""

    label: Name128 = optional()
    type: AttributeType = optional()
    required: bool = optional()
    unique: bool = optional()
    editable: bool = optional()
    enabled: bool = optional()
    options: Options = optional()
    sort_order: SortOrder = optional()


class AttributeListQuery(Query):
    """Only the definitions of accounts or of departments."""

    target: Literal["account", "department"] | None = None


# -- integration requests --


class IntegrationRequestCreate(Strict):
    """A third party asks for API access."""

    name: Name128
    contact: Name254
    scopes: list[ScopeName] = Field(min_length=1, max_length=len(SCOPES))
    reason: Annotated[
        str,
        Field(min_length=1, max_length=2000, pattern=r"^[^\x00]*$"),
        AfterValidator(_no_surrogates),
    ]


class IntegrationApprove(Strict):
    """Optionally grant fewer scopes than requested."""

    scopes: list[ScopeName] | None = Field(default=None, min_length=1, max_length=len(SCOPES))
    note: Text1024 | None = None


class IntegrationReject(Strict):
    """Why the request was rejected (shown to the requester)."""

    reason: Name1024


class IntegrationListQuery(Query):
    """Only requests with this status."""

    status: Literal["pending", "approved", "rejected", "expired"] | None = None


# -- responses (documentation only: the views serialise with `directory.serialise`) --


class Membership(BaseModel):
    """An account's membership of a department."""

    department_id: int
    is_primary: bool
    sort_order: int
    title: str | None


class Account(BaseModel):
    """An account (never its password or hash)."""

    id: int
    uuid: str
    username: str
    display_name: str
    email: str | None
    mobile: str | None
    employee_number: str | None
    title: str | None
    status: Status
    locale: str | None
    source: str
    must_change_password: bool
    has_password: bool
    password_changed_at: str | None
    memberships: list[Membership]
    attributes: dict[str, Any]
    manager_id: int | None
    version: int
    created_at: str
    updated_at: str


class Department(BaseModel):
    """A department (`path` is the materialised path of ids, e.g. `/1/7/`)."""

    id: int
    name: str
    parent_id: int | None
    path: str
    depth: int
    sort_order: int
    source: str
    attributes: dict[str, Any]
    version: int
    created_at: str
    updated_at: str


class DepartmentNode(Department):
    """A department with its sub-departments."""

    children: list[DepartmentNode]


class Group(BaseModel):
    """A flat group of accounts."""

    id: int
    name: str
    description: str | None
    source: str
    version: int
    created_at: str
    updated_at: str


class Permission(BaseModel):
    """A permission granted by a role."""

    resource: str
    action: str


class Role(BaseModel):
    """A role and its permissions."""

    id: int
    code: str
    name: str
    description: str | None
    permissions: list[Permission]
    version: int
    created_at: str
    updated_at: str


class AttributeDefinition(BaseModel):
    """A custom attribute definition."""

    id: int
    target: str
    key: str
    label: str
    type: str
    required: bool
    unique: bool
    editable: bool
    enabled: bool
    options: list[str]
    sort_order: int
    version: int


class AccountPage(BaseModel):
    """One page of accounts; follow `next_cursor` (or the `Link: rel=next` header)."""

    items: list[Account]
    next_cursor: str | None


class DepartmentList(BaseModel):
    """Departments."""

    items: list[Department]


class DepartmentTree(BaseModel):
    """Root departments with nested children."""

    items: list[DepartmentNode]


class MembershipList(BaseModel):
    """An account's memberships."""

    items: list[Membership]


class GroupList(BaseModel):
    """Groups."""

    items: list[Group]


class RoleList(BaseModel):
    """Roles."""

    items: list[Role]


class PermissionList(BaseModel):
    """Permissions."""

    items: list[Permission]


class AttributeDefinitionList(BaseModel):
    """Attribute definitions."""

    items: list[AttributeDefinition]


class IntegrationRequestStatus(BaseModel):
    """What the requester may see of an integration request."""

    reference: str
    status: Literal["pending", "approved", "rejected", "expired"]
    name: str
    scopes: list[str]
    created_at: str
    decided_at: str | None
    decision_reason: str | None


class IntegrationRequest(IntegrationRequestStatus):
    """An integration request, as administrators see it."""

    contact: str
    reason: str
    decided_by: str | None


class IntegrationRequestList(BaseModel):
    """Integration requests."""

    items: list[IntegrationRequest]


class ApiClient(BaseModel):
    """An API client (never its secret, except `client_secret` right after creation)."""

    kind: Literal["api"]
    client_id: str
    name: str
    note: str | None
    owner: str | None
    scopes: list[str]
    enabled: bool
    created_by: str
    created_at: str
    secret_rotated_at: str
    last_used_at: str | None


class NewApiClient(ApiClient):
    """A just-created API client with its secret: shown once, store it now."""

    client_secret: str


class Approval(BaseModel):
    """The approved request and the API client created for it."""

    request: IntegrationRequest
    client: NewApiClient


# -- applications --

Uri = Annotated[
    str, Field(min_length=1, max_length=512, pattern=r"^https?://[^\s#\x00-\x1f\x7f]+$"), _Clean
]
OidcScopeName = Literal[
    "openid",
    "profile",
    "email",
    "phone",
    "offline_access",
    "departments",
    "groups",
    "roles",
    "employee_number",
]
Grant = Literal["authorization_code", "refresh_token"]
ClaimName = Annotated[
    str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z_][A-Za-z0-9_:.-]{0,63}$"), _Clean
]
MappingRule = Annotated[
    str,
    Field(
        min_length=1,
        max_length=69,
        pattern=r"^(username|employee_number|email_local|mobile|attr:[a-z][a-z0-9_]*)$",
    ),
    _Clean,
]


class Policy(Strict):
    """Everyone, or any of these departments (with sub-departments), groups, roles, accounts."""

    everyone: bool = False
    departments: list[Id] = Field(default_factory=list, max_length=500)
    groups: list[Id] = Field(default_factory=list, max_length=500)
    roles: list[Id] = Field(default_factory=list, max_length=500)
    accounts: list[Id] = Field(default_factory=list, max_length=500)


class _ApplicationFields(Strict):
    """Members shared by creating and changing an application."""

    description: Text1024 | None = optional()
    icon_url: Uri | None = optional()
    show_in_portal: bool | None = optional()
    initiate_login_uri: Uri | None = optional()
    policy: Policy | None = optional()
    post_logout_redirect_uris: list[Uri] | None = optional(max_length=20)
    grant_types: list[Grant] | None = optional(min_length=1, max_length=2)
    scopes: list[OidcScopeName] | None = optional(min_length=1, max_length=9)
    id_token_alg: Literal["ES256", "RS256"] | None = optional()
    consent_required: bool | None = optional()
    pkce_required: bool | None = optional()
    subject_type: Literal["public", "pairwise"] | None = optional()
    sector_identifier: Text255 | None = optional()
    backchannel_logout_uri: Uri | None = optional()
    frontchannel_logout_uri: Uri | None = optional()
    subaccount_mode: Literal["direct", "mapping", "association"] | None = optional()
    subaccount_rule: MappingRule | None = optional()
    subaccount_as_sub: bool | None = optional()
    claim_mapping: dict[ClaimName, AttributeKey] | None = optional(max_length=50)
    access_token_lifetime: int | None = optional(ge=60, le=86400)
    id_token_lifetime: int | None = optional(ge=60, le=86400)
    refresh_token_lifetime: int | None = optional(ge=300, le=365 * 86400)


class ApplicationCreate(_ApplicationFields):
    """A new application and its OIDC client."""

    name: Name128
    redirect_uris: list[Uri] = Field(min_length=1, max_length=20)
    public: bool = False


class ApplicationUpdate(_ApplicationFields):
    """Changes to an application; omitted members stay as they are."""

    name: Name128 | None = optional()
    enabled: bool | None = optional()
    redirect_uris: list[Uri] | None = optional(min_length=1, max_length=20)


class Application(BaseModel):
    """An application and its OIDC client registration (never the secret)."""

    kind: Literal["oidc"]
    client_id: str
    name: str
    description: str | None
    icon_url: str | None
    enabled: bool
    show_in_portal: bool
    initiate_login_uri: str | None
    policy: dict[str, Any]
    public: bool
    redirect_uris: list[str]
    post_logout_redirect_uris: list[str]
    grant_types: list[str]
    scopes: list[str]
    token_endpoint_auth_method: str
    id_token_alg: str
    access_token_lifetime: int
    refresh_token_lifetime: int
    id_token_lifetime: int
    consent_required: bool
    pkce_required: bool
    subject_type: str
    sector_identifier: str | None
    backchannel_logout_uri: str | None
    frontchannel_logout_uri: str | None
    subaccount_mode: str
    subaccount_rule: str | None
    subaccount_as_sub: bool
    claim_mapping: dict[str, str]
    version: int
    created_at: str


class NewApplication(Application):
    """A just-created application; `client_secret` (confidential clients) is shown once."""

    client_secret: str | None = None


class ApplicationList(BaseModel):
    """All applications."""

    items: list[Application]


class Problem(BaseModel):
    """An RFC 9457 problem; `fields` maps each invalid field to its message."""

    type: str
    title: str
    status: int
    detail: str | None = None
    fields: dict[str, str] | None = None
    error: str | None = None


DepartmentNode.model_rebuild()


class LinkedIdentity(BaseModel):
    """An external identity (a DingTalk user) linked to an account."""

    id: int
    provider: str
    tenant: str = Field(description="The DingTalk corp id.")
    subject: str = Field(description="The DingTalk userid in that corp.")
    union_id: str | None
    linked_via: str = Field(description="import, auto, manual, jit or admin")
    linked_at: str
    last_used_at: str | None


class LinkedIdentityList(BaseModel):
    """An account's linked identities."""

    items: list[LinkedIdentity]


# -- audit log (admin console issue 14 / issue 17 item 7) --


class AuditQuery(Query):
    """Audit log filters and keyset pagination (newest first)."""

    actor: Text128 | None = None
    action: Text64 | None = None
    target: Text97 | None = None  # `<object_type>:<object_id>`
    outcome: Literal["success", "failure", "denied"] | None = None
    since: datetime | None = None
    until: datetime | None = None
    limit: Annotated[int, Field(ge=1, le=200)] = 50
    cursor: Text512 | None = None


class AuditEvent(BaseModel):
    """One audit row: who did what to which object, with what outcome, from where."""

    id: int
    occurred_at: str
    actor: str
    action: str
    target_type: str | None
    target_id: str | None
    outcome: Literal["success", "failure", "denied"]
    ip: str | None
    user_agent: str | None
    details: dict[str, Any]


class AuditPage(BaseModel):
    """A page of audit rows and the cursor of the next page."""

    items: list[AuditEvent]
    next_cursor: str | None


# -- SCIM static tokens (SCIM server area) ---------------------------------------------------


class ScimTokenCreate(Strict):
    """A new static SCIM bearer token for an API client."""

    name: str = Field(min_length=1, max_length=128, description="What the token is for.")
    scopes: list[str] | None = Field(
        None, description="scim:read and/or scim:write; default: the client's SCIM scopes."
    )


class ScimToken(BaseModel):
    """A static SCIM bearer token (its value is never shown again after creation)."""

    id: int
    name: str
    prefix: str = Field(description="The first characters, to tell tokens apart.")
    scopes: list[str]
    created_by: str
    created_at: str
    revoked_at: str | None
    last_used_at: str | None


class NewScimToken(ScimToken):
    """A token just created: `token` is shown this once."""

    token: str


class ScimTokenList(BaseModel):
    """A client's static SCIM tokens."""

    items: list[ScimToken]


# -- delivery engine (events) --


class DeliveryListQuery(Query):
    """Filters of the delivery list."""

    status: Literal["pending", "running", "delivered", "dead"] | None = None
    target_type: Text64 | None = None
    after_id: Id | None = Field(default=None, description="Deliveries older than this id.")
    limit: int = Field(default=100, ge=1, le=500)


class Delivery(BaseModel):
    """One delivery of a change (or coalesced changes) of one object to one target."""

    id: int
    uid: str = Field(description="Stable across retries and replays: the idempotency key.")
    target_type: str
    target_key: str
    object_type: str
    object_id: str
    action: str
    origin: str
    status: Literal["pending", "running", "delivered", "dead"]
    attempts: int
    replays: int
    coalesced: int = Field(description="How many later changes were merged into this one.")
    created_at: str
    next_attempt_at: str | None
    last_attempt_at: str | None
    delivered_at: str | None
    dead_at: str | None
    last_status: int | None
    last_error: str | None
    payload: dict[str, Any]


class DeliveryList(BaseModel):
    """Deliveries, newest first."""

    items: list[Delivery]


class JobListQuery(Query):
    """Filters of the job list."""

    status: Literal["queued", "running", "succeeded", "failed", "cancelled"] | None = None
    kind: Text64 | None = None
    limit: int = Field(default=50, ge=1, le=500)


class JobStart(Strict):
    """A job to queue: a registered kind and its parameters."""

    kind: Name64
    params: dict[str, Any] = Field(default_factory=dict)


class JobProgress(BaseModel):
    """How far a job got."""

    total: int | None
    done: int
    failed: int
    step: str | None
    message: str | None


class Job(BaseModel):
    """A background job."""

    id: int
    kind: str
    params: dict[str, Any]
    origin: str
    status: Literal["queued", "running", "succeeded", "failed", "cancelled"]
    progress: JobProgress
    checkpoint: dict[str, Any] | None
    result: dict[str, Any] | None
    error: str | None
    cancel_requested: bool
    attempts: int
    created_at: str
    started_at: str | None
    finished_at: str | None
    heartbeat_at: str | None


class JobList(BaseModel):
    """Jobs, newest first."""

    items: list[Job]


# -- DingTalk sync (issue 15; views in idaas/dingtalk/sync/api.py) --


class DingTalkSyncObject(BaseModel):
    """A JSON object (described in prose)."""

    model_config = ConfigDict(extra="allow")


class DingTalkSyncSettingsPatch(Strict):
    """Sync settings to change (only the members given)."""

    enabled: bool | None = None
    target_department_id: int | None = None
    root_dept_id: int | None = None
    email_field: Literal["email", "org_email"] | None = None
    password_mode: Literal["none", "initial"] | None = None
    initial_password: str | None = None
    leavers: Literal["disable", "delete"] | None = None
    leaver_delete_days: int | None = None
    unlink_leavers: bool | None = None
    mapping: list[dict[str, Any]] | None = None
    transport: Literal["stream", "http"] | None = None
    callback_owner: Literal["app", "corp"] | None = None
    delete_percent: int | None = None
    delete_minimum: int | None = None
    reconcile_budget: int | None = None


class DingTalkPushSettingsPatch(Strict):
    """Push settings to change (only the members given)."""

    enabled: bool | None = None
    source_department_id: int | None = None
    root_dept_id: int | None = None
    disabled: Literal["delete", "keep"] | None = None
    mapping: list[dict[str, Any]] | None = None


class DingTalkNotifySettings(Strict):
    """The account events that send a work notification."""

    events: list[str]


class DingTalkSyncConfirm(Strict):
    """Confirm a previewed run (or a delete-protection hold with accept_deletions)."""

    accept_deletions: bool = False


class DingTalkSyncRowsQuery(Query):
    """Which rows of a run."""

    invalid: bool | None = None
    after: int = -1
    limit: int = 100


class DingTalkSyncRemove(Strict):
    """Rows to drop: `invalid: true` (all invalid rows at once) or their `seqs`."""

    invalid: bool = False
    seqs: list[int] = []


class DingTalkConnectionDeleteQuery(Query):
    """What becomes of imported people when the connection goes."""

    imported: Literal["keep", "disable"] | None = None


# -- SCIM push provisioning (issue 16) --


class ProvisioningAuth(Strict):
    """Non-secret authentication settings: the Basic username, or the OAuth2 client."""

    username: Text128 | None = None
    client_id: Text255 | None = None
    token_url: Text512 | None = None
    scope: Text255 | None = None


class ProvisioningScope(Strict):
    """Who is provisioned: everyone, the application's access policy, or the objects named."""

    everyone: bool | None = None
    policy: bool | None = None
    departments: list[Id] | None = Field(default=None, max_length=1000)
    groups: list[Id] | None = Field(default=None, max_length=1000)
    roles: list[Id] | None = Field(default=None, max_length=1000)
    accounts: list[Id] | None = Field(default=None, max_length=1000)


class ProvisioningSettings(Strict):
    """A SCIM push target's settings; omitted members keep their value. `secret` is write-only."""

    enabled: bool | None = optional()
    base_url: Text512 | None = optional()
    users: bool | None = optional()
    groups: bool | None = optional()
    departments: Literal["none", "groups", "custom"] | None = optional()
    auth_type: Literal["none", "basic", "bearer", "oauth2"] | None = optional()
    auth: ProvisioningAuth | None = optional()
    secret: Annotated[str, Field(max_length=4096)] | None = optional()
    scope: ProvisioningScope | None = optional()
    deprovision: Literal["deactivate", "delete"] | None = optional()
    mapping: list[dict[str, Any]] | None = optional(max_length=200)
    echo_client: Text64 | None = optional()


class ProvisioningOut(BaseModel):
    """A SCIM push target (the secret is never shown, only whether one is set)."""

    application: str
    enabled: bool
    base_url: str
    users: bool
    groups: bool
    departments: str
    auth_type: str
    auth: dict[str, str]
    secret_set: bool
    scope: dict[str, Any]
    deprovision: str
    mapping: list[dict[str, Any]]
    echo_client: str | None
    capabilities: dict[str, Any]


class ProvisioningTestResult(BaseModel):
    """What the target's ServiceProviderConfig says it supports, or why it failed."""

    ok: bool
    status: int | None = None
    message: str | None = None
    patch: bool | None = None
    filter: bool | None = None
    bulk: bool | None = None
    resource_types: list[str] | None = None
    checked_at: str | None = None


class ProvisioningPreviewRequest(Strict):
    """An account to preview, and optionally a mapping to try instead of the saved one."""

    account_id: Id
    mapping: list[dict[str, Any]] | None = Field(default=None, max_length=200)


class ProvisioningPreview(BaseModel):
    """What the target would receive for the account, or the mapping's per-field errors."""

    resource: dict[str, Any] | None
    values: dict[str, Any]
    errors: list[dict[str, str]]


class ProvisioningSyncRequest(Strict):
    """Apply the diff of a finished dry run."""

    plan_job: Id


class ProvisioningLogQuery(Query):
    """Which log entries: failures only, older than an id."""

    failed: bool = False
    before_id: Id | None = None
    limit: int = Field(default=100, ge=1, le=500)


class ProvisioningLogEntry(BaseModel):
    """One request to the target: summary, status and the target's error text."""

    id: int
    at: str
    delivery: str | None
    object: str
    operation: str
    request: str
    status: int | None
    error: str | None


class ProvisioningLogList(BaseModel):
    """A page of a target's delivery log, newest first."""

    items: list[ProvisioningLogEntry]


# -- sign-in policy --


class SignInPolicyValues(BaseModel):
    """The nine values of the sign-in policy."""

    password_min_length: int
    password_required_classes: int
    password_history: int
    password_max_age_days: int
    lockout_threshold: int
    lockout_minutes: float
    mfa_required: bool
    session_idle_minutes: float
    session_absolute_hours: float


class SignInPolicyPatch(Strict):
    """Overrides to save: a value sets it, `null` goes back to the instance setting.

    Bounds are the instance settings' (docs/configuration.md); members left out do not change.
    """

    password_min_length: int | None = None
    password_required_classes: int | None = None
    password_history: int | None = None
    password_max_age_days: int | None = None
    lockout_threshold: int | None = None
    lockout_minutes: float | None = None
    mfa_required: bool | None = None
    session_idle_minutes: float | None = None
    session_absolute_hours: float | None = None


class SignInPolicyOut(BaseModel):
    """The policy in force, what the console overrides and the instance settings under it."""

    version: int = Field(description="0 until the policy is first changed; also the ETag.")
    policy: SignInPolicyValues
    overridden: list[str]
    defaults: SignInPolicyValues
