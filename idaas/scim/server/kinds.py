"""The three resource types: how each is found, rendered and written through the directory.

Every write goes through `directory.service` with origin `scim:<client_id>` (see `http.origin`);
a request that maps to several service calls runs them in one `atomic()` transaction, so a
refusal of a later call leaves nothing of the earlier ones applied.
"""

from __future__ import annotations

import zlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from typing import Any

from flask_babel import gettext
from scim2_models import InvalidValueException, NotFoundException
from sqlalchemy import Select, select
from sqlalchemy.orm import joinedload

from idaas.directory import service
from idaas.directory.models import Account, Department, Group, GroupMember
from idaas.directory.service.accounts import PROFILE_FIELDS
from idaas.directory.service.unit import atomic
from idaas.extensions import db
from idaas.scim import casting, facts
from idaas.scim.resources import Department as ScimDepartment
from idaas.scim.resources import Group as ScimGroup
from idaas.scim.resources import UserResource
from idaas.scim.server import mappings
from idaas.scim.server.filters import SqlTranslator, dialect
from idaas.scim.server.http import base_url, origin, system

_MISSING = object()
# Always decided from the new state (they are compared with the current one below).
_ALWAYS = ("active",)


class Kind(ABC):
    """A resource type served under `/scim/v2/<endpoint>`."""

    name: str
    endpoint: str
    model: Any
    row: Any

    # The calling client's (system's) filter/sort translation, and the facts loader.
    translators: Callable[[str], SqlTranslator]
    load_facts: Callable[[Sequence[Any], str], dict[int, Any]]

    def translator(self) -> SqlTranslator:
        """Filter/sort translation for the calling client."""
        return self.translators(system())

    def query(self) -> Select[Any]:
        """All resources of this type."""
        return select(self.row)

    def key(self) -> Any:
        """The unique column giving a stable order (tie-breaker of sortBy)."""
        return self.row.id

    def find(self, resource_id: str) -> Any:
        """The object with that SCIM id (its integer primary key), or 404."""
        found = db.session.get(self.row, _int_id(self.name, resource_id))
        if found is None:
            raise _not_found(self.name, resource_id)
        return found

    def facts(self, objects: Sequence[Any]) -> dict[int, Any]:
        """What the representations need from other tables, by object id (loaded in bulk)."""
        return self.load_facts(objects, system())

    # (object, its facts, base URL) -> its scim2-models resource, and the response JSON of that
    # resource with default attributes, built directly (see the casting module's fast path).
    to_scim: Callable[[Any, Any, str], Any]
    to_json: Callable[[Any, Any, str], dict[str, Any]]

    def render(self, objects: Sequence[Any]) -> list[Any]:
        """SCIM resources for objects (facts loaded in bulk)."""
        found = self.facts(objects)
        url = base_url()
        return [self.to_scim(obj, found[obj.id], url) for obj in objects]

    def render_json(self, objects: Sequence[Any]) -> list[dict[str, Any]]:
        """The response JSON of `render(objects)` with default attributes."""
        found = self.facts(objects)
        url = base_url()
        return [self.to_json(obj, found[obj.id], url) for obj in objects]

    def public_id(self, obj: Any) -> str:
        """The SCIM `id` of an object."""
        return str(obj.id)

    def etag(self, obj: Any) -> str:
        """The weak ETag (also `meta.version`)."""
        return casting.weak_etag(obj.version)

    def version(self, obj: Any) -> int:
        """The directory version behind the ETag."""
        return int(obj.version)

    @abstractmethod
    def create(self, resource: Any) -> Any:
        """Create from a validated resource."""
        ...

    @abstractmethod
    def replace(
        self,
        obj: Any,
        resource: Any,
        expected_version: int | None,
        complete: bool = False,
        before: Any = None,
    ) -> Any:
        """Make the object what the resource says (PUT, and PATCH after applying it, where
        the resource is `complete`: what it lacks was removed; `before` is the representation
        the PATCH started from, so only what it changed is written)."""
        ...

    @abstractmethod
    def delete(self, obj: Any, expected_version: int | None) -> None:
        """Delete the object."""
        ...


def _not_found(kind: str, resource_id: str) -> NotFoundException:
    return NotFoundException(
        detail=gettext("%(kind)s %(id)s not found.", kind=kind, id=resource_id)
    )


def _int_id(kind: str, resource_id: str) -> int:
    if not resource_id.isdigit() or len(resource_id) > 10 or int(resource_id) > 2**31 - 1:
        raise _not_found(kind, resource_id)
    return int(resource_id)


def _account_ids(uuids: list[str], attribute: str) -> list[int]:
    """The account ids of the users with these SCIM ids, or 400 naming the unknown ones."""
    if not uuids:
        return []
    found = dict(
        db.session.execute(select(Account.uuid, Account.id).where(Account.uuid.in_(uuids)))
        .tuples()
        .all()
    )
    missing = [u for u in uuids if u not in found]
    if missing:
        raise InvalidValueException(
            detail=gettext(
                "%(attribute)s: no user with id %(ids)s.",
                attribute=attribute,
                ids=", ".join(missing[:5]),
            )
        )
    return [found[u] for u in uuids]


def _set_external_id(object_type: str, object_id: int, wanted: str | None) -> None:
    """Record the client's externalId, or forget it when the resource has none."""
    current = service.reference_of(system(), object_type, object_id)
    if wanted is None:
        if current is not None:
            service.remove_reference(origin(), system(), object_type, object_id)
        return
    if current is None or current.external_id != wanted:
        service.set_reference(origin(), system(), object_type, object_id, wanted)


class Users(Kind):
    """`/Users`: accounts."""

    name = "User"
    endpoint = "/Users"
    model = UserResource
    row = Account

    def translator(self) -> SqlTranslator:
        """See `Kind.translator`."""
        return mappings.users(system(), dialect())

    def public_id(self, obj: Account) -> str:
        """See `Kind.public_id`: accounts are known by their uuid."""
        return obj.uuid

    def find(self, resource_id: str) -> Account:
        """See `Kind.find`."""
        # One statement with the memberships (a write and the representation both need them).
        query = (
            select(Account)
            .options(joinedload(Account.memberships))
            .where(Account.uuid == resource_id)
        )
        account = db.session.scalars(query).unique().one_or_none()
        if account is None:
            raise _not_found("User", resource_id)
        return account

    load_facts = staticmethod(facts.user_facts)

    to_scim = staticmethod(casting.account_to_scim)
    to_json = staticmethod(casting.account_to_json)

    def create(self, resource: Any) -> Account:
        """See `Kind.create`."""
        fields = casting.account_from_scim(resource)
        external_id = fields.pop("external_id")
        active = fields.pop("active")
        kwargs = {k: v for k, v in fields.items() if v is not None}
        if not kwargs.get("username"):
            raise InvalidValueException(detail=gettext("userName is required."))
        if "manager" in kwargs:
            kwargs["manager_id"] = _account_ids([kwargs.pop("manager")], "manager")[0]
        return service.create_account(
            origin(),
            status="active" if active else "disabled",
            references={system(): external_id} if external_id else None,
            **kwargs,
        )

    def replace(
        self,
        obj: Account,
        resource: Any,
        expected_version: int | None,
        complete: bool = False,
        before: Any = None,
    ) -> Account:
        """See `Kind.replace`."""
        fields = casting.account_from_scim(resource, complete=complete)
        if before is not None:
            # A PATCH: keep only what the operations changed (fewer checks, same result).
            old = casting.account_from_scim(before, complete=True)
            fields = {k: v for k, v in fields.items() if k in _ALWAYS or old.get(k, _MISSING) != v}
        if "username" in fields and not fields["username"]:
            raise InvalidValueException(detail=gettext("userName is required."))
        changes: dict[str, Any] = {
            name: fields[name] for name in (*PROFILE_FIELDS, "memberships") if name in fields
        }
        if "manager" in fields:
            manager = fields["manager"]
            changes["manager_id"] = _account_ids([manager], "manager")[0] if manager else None
        if "attributes" in fields:
            wanted = fields["attributes"]
            stale = {key: None for key in (obj.attributes or {}) if key not in wanted}
            changes["attributes"] = {**wanted, **stale}
        account_id = obj.id
        with atomic():
            account = service.update_account(
                origin(), account_id, expected_version=expected_version, **changes
            )
            if "external_id" in fields:
                _set_external_id("account", account_id, fields["external_id"])
            if "password" in fields:
                service.set_password(origin(), account_id, fields["password"])
            status = account.status
            if fields["active"] and status != "active":
                service.set_status(origin(), account_id, "active")
            elif not fields["active"] and status == "active":
                service.set_status(origin(), account_id, "disabled")
        return account

    def delete(self, obj: Account, expected_version: int | None) -> None:
        """See `Kind.delete`."""
        service.delete_account(origin(), obj.id, expected_version=expected_version)


class Groups(Kind):
    """`/Groups`: flat groups of users."""

    name = "Group"
    endpoint = "/Groups"
    model = ScimGroup
    row = Group

    translators = staticmethod(mappings.groups)
    load_facts = staticmethod(facts.group_facts)
    to_scim = staticmethod(casting.group_to_scim)
    to_json = staticmethod(casting.group_to_json)

    def create(self, resource: Any) -> Group:
        """See `Kind.create`."""
        fields = casting.group_from_scim(resource)
        members = _account_ids(fields["members"], "members")
        with atomic():
            group = service.create_group(origin(), name=fields["name"] or "")
            _set_external_id("group", group.id, fields["external_id"])
            for account_id in members:
                service.set_group_membership(origin(), group.id, account_id, True)
        return group

    def replace(
        self,
        obj: Group,
        resource: Any,
        expected_version: int | None,
        complete: bool = False,
        before: Any = None,
    ) -> Group:
        """See `Kind.replace`: rename, then add and remove the members that differ."""
        fields = casting.group_from_scim(resource)
        wanted = set(_account_ids(fields["members"], "members"))
        group_id = obj.id
        current = set(
            db.session.scalars(
                select(GroupMember.account_id).where(GroupMember.group_id == group_id)
            )
        )
        with atomic():
            service.update_group(
                origin(), group_id, expected_version=expected_version, name=fields["name"] or ""
            )
            _set_external_id("group", group_id, fields["external_id"])
            for account_id in sorted(wanted - current):
                service.set_group_membership(origin(), group_id, account_id, True)
            for account_id in sorted(current - wanted):
                service.set_group_membership(origin(), group_id, account_id, False)
        return service.get_group(group_id)

    def delete(self, obj: Group, expected_version: int | None) -> None:
        """See `Kind.delete`."""
        service.delete_group(origin(), obj.id, expected_version=expected_version)


class Departments(Kind):
    """`/Departments`: the department tree (a custom resource type)."""

    name = "Department"
    endpoint = "/Departments"
    model = ScimDepartment
    row = Department

    translators = staticmethod(mappings.departments)
    load_facts = staticmethod(facts.department_facts)

    def etag(self, obj: Department) -> str:
        """Version plus a checksum of the path, which changes when an ancestor moves."""
        return casting.weak_etag(self._tag(obj))

    def _tag(self, obj: Department) -> str:
        return f"{obj.version}.{zlib.crc32(obj.path.encode()):08x}"

    def to_scim(self, obj: Department, facts: Any, url: str) -> Any:
        """See `Kind.to_scim`: the ETag's tag is the department's version."""
        return casting.department_to_scim(obj, facts, url, self._tag(obj))

    def to_json(self, obj: Department, facts: Any, url: str) -> dict[str, Any]:
        """See `Kind.to_json`."""
        return casting.department_to_json(obj, facts, url, self._tag(obj))

    def create(self, resource: Any) -> Department:
        """See `Kind.create`."""
        fields = casting.department_from_scim(resource)
        with atomic():
            department = service.create_department(
                origin(),
                name=fields["name"] or "",
                parent_id=fields["parent_id"],
                sort_order=fields["sort_order"],
            )
            _set_external_id("department", department.id, fields["external_id"])
        return department

    def replace(
        self,
        obj: Department,
        resource: Any,
        expected_version: int | None,
        complete: bool = False,
        before: Any = None,
    ) -> Department:
        """See `Kind.replace`: rename / reorder, then move under the new parent."""
        fields = casting.department_from_scim(resource)
        department_id = obj.id
        with atomic():
            department = service.update_department(
                origin(),
                department_id,
                expected_version=expected_version,
                name=fields["name"] or "",
                sort_order=fields["sort_order"],
            )
            if department.parent_id != fields["parent_id"]:
                service.move_department(origin(), department_id, fields["parent_id"])
            _set_external_id("department", department_id, fields["external_id"])
        return service.get_department(department_id)

    def delete(self, obj: Department, expected_version: int | None) -> None:
        """See `Kind.delete`."""
        service.delete_department(origin(), obj.id, expected_version=expected_version)


KINDS: dict[str, Kind] = {
    "Users": Users(),
    "Groups": Groups(),
    "Departments": Departments(),
}
