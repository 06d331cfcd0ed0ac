"""Write one department or person of the pushed subtree to DingTalk, idempotently (§5).

Every step can be repeated after a crash or a concurrent worker: a department is created with
`source_identifier` and, when DingTalk says the name exists under the parent (60021), adopted;
a person is created with a userid derived from the account's uuid, and "userid exists" (60102)
means a previous attempt created it, so it is updated instead. A missing parent department
(60003) is created first. DingTalk ids are kept as push links and as the directory's external
references (`dingtalk:<corpId>`), so a pushed person signing in with DingTalk is already linked.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from flask_babel import gettext
from sqlalchemy import select

from idaas.dingtalk import connections
from idaas.dingtalk.client import DingTalkClient
from idaas.dingtalk.connections import DingTalkConnection
from idaas.dingtalk.errors import Conflict, DingTalkError, NotFound
from idaas.dingtalk.push import links
from idaas.dingtalk.push.actions import errcode_of, failure_for
from idaas.dingtalk.push.fields import FieldsRefused, user_fields
from idaas.dingtalk.push.models import PushSettings
from idaas.dingtalk.sync.settings import origin_of, system_of
from idaas.directory import service as directory
from idaas.directory.errors import DirectoryError
from idaas.directory.models import Account, Department, Membership
from idaas.events.targets import PermanentFailure, RetryLater
from idaas.extensions import db

DEPT_NAME_BANNED = "-,，"


@dataclass
class Pusher:
    """One connection's push: its settings, its DingTalk client and the origins it never pushes."""

    conn: DingTalkConnection
    settings: PushSettings
    client: DingTalkClient

    @property
    def name(self) -> str:
        """The connection name (the links' key)."""
        return self.conn.name

    def root(self) -> Department | None:
        """The local department whose subtree is pushed."""
        if self.settings.source_department_id is None:
            return None
        return db.session.get(Department, self.settings.source_department_id)

    @cached_property
    def same_corp_origins(self) -> set[str]:
        """Origins of every connection to this corp: what they wrote came from DingTalk."""
        return {origin_of(c) for c in connections.list_all() if c.corp_id == self.conn.corp_id}

    def owns(self, department: Department | None) -> bool:
        """Whether a department is in the pushed subtree and not DingTalk's own."""
        root = self.root()
        if department is None or root is None:
            return False
        if department.source in self.same_corp_origins:
            return False
        return department.path.startswith(root.path)

    # ---------------------------------------------------------------- departments

    def ensure_department(self, department_id: int) -> int:
        """The DingTalk id of a pushed department, creating it (and its parents first)."""
        if department_id == self.settings.source_department_id:
            assert self.settings.root_dept_id is not None
            return int(self.settings.root_dept_id)
        known = links.dingtalk_id(self.name, "department", department_id)
        if known:
            return int(known)
        department = db.session.get(Department, department_id)
        if department is None or not self.owns(department):
            raise PermanentFailure(
                gettext("Department %(id)s is not in the pushed subtree.", id=department_id)
            )
        assert department.parent_id is not None
        parent = self.ensure_department(department.parent_id)
        name = self._dept_name(department)
        try:
            dept_id = self.client.create_department(
                name,
                parent,
                source_identifier=f"idaas:{department.id}",
                order=department.sort_order,
            )
        except Conflict as error:
            if errcode_of(error) != 60021:
                raise
            dept_id = self._adopt(parent, name, department.id)
        self._remember("department", department.id, str(dept_id))
        return dept_id

    def _dept_name(self, department: Department) -> str:
        if any(ch in department.name for ch in DEPT_NAME_BANNED) or len(department.name) > 64:
            message = gettext(
                "DingTalk department names cannot contain - , or ， (and at most 64 "
                "characters): rename %(name)s.",
                name=department.name,
            )
            links.refused(self.name, "department", department.id, message)
            raise PermanentFailure(message)
        return department.name

    def _adopt(self, parent: int, name: str, our_id: int) -> int:
        """The DingTalk department of that name under `parent` (ours from an earlier attempt)."""
        for child in self.client.list_sub_departments(parent):
            if child.get("name") == name:
                return int(child["dept_id"])
        raise RetryLater(1, gettext("Department %(id)s is being created; retrying.", id=our_id))

    def _remember(self, object_type: str, object_id: int, dingtalk_id: str) -> None:
        links.remember(self.name, object_type, object_id, dingtalk_id)
        current = directory.reference_of(system_of(self.conn), object_type, object_id)
        if current is None or current.external_id != dingtalk_id:
            try:
                directory.set_reference(
                    origin_of(self.conn), system_of(self.conn), object_type, object_id, dingtalk_id
                )
            except DirectoryError:
                pass  # the id already names another object of ours (pulled): the link suffices

    def _subtree(self, department: Department) -> tuple[list[Department], list[int]]:
        """A department's sub-departments (parents first) and the people in its subtree."""
        below = list(
            db.session.scalars(
                select(Department)
                .where(Department.path.startswith(department.path), Department.id != department.id)
                .order_by(Department.depth, Department.id)
            )
        )
        ids = [department.id] + [d.id for d in below]
        people = sorted(
            set(
                db.session.scalars(
                    select(Membership.account_id).where(Membership.department_id.in_(ids))
                )
            )
        )
        return below, people

    def _moved_out(self, department: Department) -> str:
        """A pushed department moved out of the subtree: its people, then it, leave DingTalk."""
        below, people = self._subtree(department)
        self._push_people(people)
        for child in reversed(below):
            self.remove_department(child.id)
        return self.remove_department(department.id, cascade=False)

    def _moved_in(self, department: Department) -> str:
        """A department new to DingTalk (created or moved in): it, then what is below it."""
        self.ensure_department(department.id)
        below, people = self._subtree(department)
        for child in below:
            self.ensure_department(child.id)
        self._push_people(people)
        return "created"

    def _push_people(self, people: list[int]) -> None:
        """Push each person; one refused person (kept on their link) does not stop the rest."""
        for account_id in people:
            try:
                self.push_account(account_id)
            except PermanentFailure:
                continue

    def push_department(self, department_id: int, cascade: bool = True) -> str:
        """Create, rename or move one department in DingTalk, or remove it when out of scope.

        With `cascade`, what is below a department moving in or out goes with it (a move
        changes no person, so no person's own delivery would)."""
        department = db.session.get(Department, department_id)
        if department is None or not self.owns(department):
            return self.remove_department(department_id, cascade)
        if department.id == self.settings.source_department_id:
            return "unchanged"
        known = links.dingtalk_id(self.name, "department", department.id)
        if not known:
            if not cascade:
                self.ensure_department(department.id)
                return "created"
            return self._moved_in(department)
        assert department.parent_id is not None
        parent = self.ensure_department(department.parent_id)
        try:
            self.client.update_department(
                int(known), name=self._dept_name(department), parent_id=parent
            )
        except NotFound:
            links.forget(self.name, "department", department.id)
            self.ensure_department(department.id)
            return "created"
        return "updated"

    def remove_department(self, department_id: int, cascade: bool = True) -> str:
        """Delete a department we pushed (deleted here or left the subtree with its people)."""
        known = links.dingtalk_id(self.name, "department", department_id)
        if not known:
            return "unchanged"
        department = db.session.get(Department, department_id)
        if cascade and department is not None:
            return self._moved_out(department)
        try:
            self.client.delete_department(int(known))
        except NotFound:
            pass
        except DingTalkError as error:
            if errcode_of(error) in (60005, 60006):
                # its people or sub-departments have deliveries of their own still to run
                raise RetryLater(
                    5, gettext("The DingTalk department still has members; retrying.")
                ) from None
            raise
        links.forget(self.name, "department", department_id)
        return "deleted"

    # ---------------------------------------------------------------- people

    def departments_of(self, account: Account) -> list[int]:
        """The account's departments inside the pushed subtree (primary first)."""
        ids = [m.department_id for m in sorted(account.memberships, key=lambda m: not m.is_primary)]
        found = db.session.scalars(select(Department).where(Department.id.in_(ids))).all()
        owned = {d.id for d in found if self.owns(d)}
        return [i for i in ids if i in owned]

    def wanted(self, account: Account | None) -> bool:
        """Whether the account should exist in DingTalk now."""
        if account is None or account.source in self.same_corp_origins:
            return False
        if account.status != "active" and (self.settings.disabled or "delete") == "delete":
            return False
        return bool(self.departments_of(account))

    def fields_of(self, account: Account) -> dict[str, str]:
        """The DingTalk fields of an account; a clear per-object error when it cannot be."""
        try:
            return user_fields(account, list(self.settings.mapping or []))
        except FieldsRefused as refused:
            links.refused(self.name, "account", account.id, str(refused))
            raise PermanentFailure(str(refused)) from None

    def push_account(self, account_id: int) -> str:
        """Create or update one person in DingTalk, or remove them when out of scope."""
        account = db.session.get(Account, account_id)
        if account is None or not self.wanted(account):
            return self.remove_account(account_id)
        fields = self.fields_of(account)
        depts = ",".join(str(self.ensure_department(d)) for d in self.departments_of(account))
        known = links.dingtalk_id(self.name, "account", account.id)
        try:
            if known:
                try:
                    self.client.update_user(known, dept_id_list=depts, **fields)
                    what = "updated"
                except NotFound:
                    known = None
            if not known:
                known = account.uuid.replace("-", "")
                what = self._create_user(known, fields, depts)
        except DingTalkError as error:
            failure = failure_for(error)
            if isinstance(failure, PermanentFailure):
                links.refused(self.name, "account", account.id, str(failure))
            raise failure from None
        self._remember("account", account.id, known)
        return what

    def _create_user(self, userid: str, fields: dict[str, str], depts: str) -> str:
        try:
            self.client.create_user(userid=userid, dept_id_list=depts, **fields)
            return "created"
        except Conflict as error:
            if errcode_of(error) != 60102:
                raise
        self.client.update_user(userid, dept_id_list=depts, **fields)  # an earlier attempt
        return "updated"

    def remove_account(self, account_id: int) -> str:
        """Delete a person we pushed (deleted, disabled or out of the subtree)."""
        known = links.dingtalk_id(self.name, "account", account_id)
        if not known:
            return "unchanged"
        try:
            self.client.delete_user(known)
        except NotFound:
            pass
        links.forget(self.name, "account", account_id)
        if db.session.get(Account, account_id) is not None:
            try:
                directory.remove_reference(
                    origin_of(self.conn), system_of(self.conn), "account", account_id
                )
            except DirectoryError:
                pass
        return "deleted"
