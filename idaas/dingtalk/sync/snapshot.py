"""Read a corp's departments and people from DingTalk with the fewest calls paging allows (§4).

Departments: one `department/listsub` per department (the tree, breadth first, §4.1). People:
`user/list` pages of 100 per department (§4.5), so a department with n direct members costs
max(1, ceil(n / 100)) calls. A person in several departments is listed by each; kept once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from idaas.dingtalk.client import MAX_PAGE_SIZE, DingTalkClient, flag
from idaas.dingtalk.errors import DingTalkError
from idaas.dingtalk.sync.advice import action_for, is_scope_error


@dataclass
class Snapshot:
    """What DingTalk holds below the start department."""

    root: int
    departments: dict[int, dict[str, Any]] = field(default_factory=dict)
    order: list[int] = field(default_factory=list)
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    members: dict[int, list[str]] = field(default_factory=dict)
    #: departments DingTalk refused to list (outside the visible range): dept_id -> action
    refused: dict[int, str] = field(default_factory=dict)

    def in_scope(self, dept_id: int) -> bool:
        """Whether a department is the start department or below it."""
        return dept_id == self.root or dept_id in self.departments


Progress = Callable[[str, int], None]


def read_departments(client: DingTalkClient, root: int, snap: Snapshot) -> None:
    """Fill `snap.departments` breadth first; a refused root is an error, a refused child noted."""
    queue = [root]
    while queue:
        parent = queue.pop(0)
        try:
            children = client.list_sub_departments(parent)
        except DingTalkError as error:
            if parent == root or not is_scope_error(error):
                raise
            snap.refused[parent] = action_for(error)
            continue
        for child in children:
            dept_id = int(child["dept_id"])
            snap.departments[dept_id] = {
                "dept_id": dept_id,
                "name": str(child.get("name") or ""),
                "parent_id": int(child.get("parent_id") or parent),
                "order": int(child.get("order") or 0),
            }
            snap.order.append(dept_id)
            queue.append(dept_id)


def read_people(client: DingTalkClient, snap: Snapshot, progress: Progress | None = None) -> None:
    """Fill `snap.users` and `snap.members` with user/list pages of every department."""
    for index, dept_id in enumerate([snap.root, *snap.order]):
        if dept_id in snap.refused:
            continue
        cursor, ids = 0, []
        try:
            while True:
                page = client.list_users_page(dept_id, cursor, MAX_PAGE_SIZE)
                for user in page.get("list") or []:
                    userid = str(user["userid"])
                    snap.users.setdefault(userid, user)
                    ids.append(userid)
                if not flag(page.get("has_more")):
                    break
                cursor = int(page["next_cursor"])
        except DingTalkError as error:
            if dept_id == snap.root or not is_scope_error(error):
                raise
            snap.refused[dept_id] = action_for(error)
            continue
        snap.members[dept_id] = ids
        if progress is not None:
            progress("people", index + 1)


def read(client: DingTalkClient, root: int = 1, progress: Progress | None = None) -> Snapshot:
    """The whole tree below `root` and every person in it."""
    snap = Snapshot(root=root)
    read_departments(client, root, snap)
    read_people(client, snap, progress)
    return snap
