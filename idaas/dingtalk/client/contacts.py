"""DingTalk contacts (通讯录) APIs: departments and users, read and write.

DingTalk docs (under https://open.dingtalk.com/document/development/):
  user-management-acquires-the-list-departments,
  queries-the-complete-information-of-a-department-user, query-user-details,
  query-a-user-by-the-union-id, address-book-creation-department-established-department,
  user-information-creation.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from idaas.dingtalk.client.transport import DingTalkTransport, _comma, flag

MAX_PAGE_SIZE = 100


class ContactsApi(DingTalkTransport):
    """Departments and users: listing, paging, details, creation, updates, deletion."""

    def list_sub_departments(self, dept_id: int = 1, language: str = "zh_CN") -> list[Any]:
        """Direct child departments with details."""
        body = self.oapi(
            "POST", "topapi/v2/department/listsub", json={"dept_id": dept_id, "language": language}
        )
        return list(body.get("result") or [])

    def get_department(self, dept_id: int, language: str = "zh_CN") -> dict[str, Any]:
        """One department's details."""
        body = self.oapi(
            "POST", "topapi/v2/department/get", json={"dept_id": dept_id, "language": language}
        )
        return dict(body["result"])

    def list_sub_department_ids(self, dept_id: int = 1) -> list[int]:
        """Ids of the direct child departments."""
        body = self.oapi("POST", "topapi/v2/department/listsubid", json={"dept_id": dept_id})
        return [int(d) for d in body["result"]["dept_id_list"]]

    def iter_departments(self, root: int = 1) -> Iterator[dict[str, Any]]:
        """Every department below `root`, breadth first, one listsub call per department."""
        queue = [root]
        while queue:
            parent = queue.pop(0)
            for child in self.list_sub_departments(parent):
                yield child
                queue.append(int(child["dept_id"]))

    def list_user_ids(self, dept_id: int) -> list[str]:
        """Userids directly in a department."""
        body = self.oapi("POST", "topapi/user/listid", json={"dept_id": dept_id})
        return list(body["result"]["userid_list"])

    def list_users_page(
        self,
        dept_id: int,
        cursor: int = 0,
        size: int = MAX_PAGE_SIZE,
        order_field: str | None = None,
        contain_access_limit: bool | None = None,
        language: str = "zh_CN",
    ) -> dict[str, Any]:
        """One page of a department's users: {has_more, next_cursor, list}."""
        if not 1 <= size <= MAX_PAGE_SIZE:
            raise ValueError("size must be 1..100")
        payload: dict[str, Any] = {
            "dept_id": dept_id,
            "cursor": cursor,
            "size": size,
            "language": language,
        }
        if order_field:
            payload["order_field"] = order_field
        if contain_access_limit is not None:
            payload["contain_access_limit"] = contain_access_limit
        return dict(self.oapi("POST", "topapi/v2/user/list", json=payload)["result"])

    def iter_users(self, dept_id: int, size: int = MAX_PAGE_SIZE) -> Iterator[dict[str, Any]]:
        """Every user directly in a department, following `next_cursor`."""
        cursor = 0
        while True:
            page = self.list_users_page(dept_id, cursor, size)
            yield from page.get("list") or []
            if not flag(page.get("has_more")):
                return
            cursor = int(page["next_cursor"])

    def iter_all_users(self, root: int = 1, size: int = MAX_PAGE_SIZE) -> Iterator[dict[str, Any]]:
        """Every user in the tree below `root` once (users in several departments appear once)."""
        seen: set[str] = set()
        departments = [root] + [int(d["dept_id"]) for d in self.iter_departments(root)]
        for dept_id in departments:
            for user in self.iter_users(dept_id, size):
                if user["userid"] not in seen:
                    seen.add(user["userid"])
                    yield user

    def get_user(self, userid: str, language: str = "zh_CN") -> dict[str, Any]:
        """One user's details."""
        body = self.oapi(
            "POST", "topapi/v2/user/get", json={"userid": userid, "language": language}
        )
        return dict(body["result"])

    def userid_by_unionid(self, unionid: str) -> dict[str, Any]:
        """{contact_type, userid} for a unionid; NotFound (60121) outside the corp."""
        body = self.oapi("POST", "topapi/user/getbyunionid", json={"unionid": unionid})
        return dict(body["result"])

    def userid_by_mobile(self, mobile: str) -> str:
        """The userid of an active employee with this mobile."""
        body = self.oapi("POST", "topapi/v2/user/getbymobile", json={"mobile": mobile})
        return str(body["result"]["userid"])

    def count_users(self, only_active: bool = False) -> int:
        """The number of employees."""
        body = self.oapi("POST", "topapi/user/count", json={"only_active": only_active})
        return int(body["result"]["count"])

    # ------------------------------------------------------------------ contacts write

    def create_department(self, name: str, parent_id: int = 1, **fields: Any) -> int:
        """Create a department; return its dept_id."""
        body = self.oapi(
            "POST",
            "topapi/v2/department/create",
            json={"name": name, "parent_id": parent_id, **fields},
        )
        return int(body["result"]["dept_id"])

    def update_department(self, dept_id: int, **fields: Any) -> None:
        """Update the given fields of a department."""
        if isinstance(fields.get("dept_manager_userid_list"), list | tuple):
            fields["dept_manager_userid_list"] = _comma(fields["dept_manager_userid_list"])
        self.oapi("POST", "topapi/v2/department/update", json={"dept_id": dept_id, **fields})

    def delete_department(self, dept_id: int) -> None:
        """Delete an empty, non-root department."""
        self.oapi("POST", "topapi/v2/department/delete", json={"dept_id": dept_id})

    def create_user(
        self, name: str, mobile: str, dept_id_list: Iterable[int] | str, **fields: Any
    ) -> dict[str, Any]:
        """Create a user; return {userid, unionId} (note the camelCase unionId)."""
        payload = {"name": name, "mobile": mobile, "dept_id_list": _comma(dept_id_list), **fields}
        return dict(self.oapi("POST", "topapi/v2/user/create", json=payload)["result"])

    def update_user(self, userid: str, **fields: Any) -> None:
        """Update the given fields of a user."""
        if "dept_id_list" in fields:
            fields["dept_id_list"] = _comma(fields["dept_id_list"])
        self.oapi("POST", "topapi/v2/user/update", json={"userid": userid, **fields})

    def delete_user(self, userid: str) -> None:
        """Delete a user."""
        self.oapi("POST", "topapi/v2/user/delete", json={"userid": userid})
