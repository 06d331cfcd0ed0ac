"""The directory service: the only writer of directory objects.

Every write function takes the `origin` of the change first (`admin:<id>`, `api:<client>`,
`scim:<client>`, `dingtalk:<connection>`, `user:<id>`, `cli:<user>` or `system`), validates,
and commits the change together with exactly one change event and one audit row.
"""

from idaas.directory.service.accounts import (
    accounts_query,
    create_account,
    delete_account,
    find_by_identifier,
    get_account,
    get_account_by_uuid,
    list_accounts,
    rehash_password,
    set_password,
    set_status,
    update_account,
)
from idaas.directory.service.attributes import (
    define_attribute,
    definitions,
    delete_definition,
    get_definition,
    update_definition,
)
from idaas.directory.service.departments import (
    ancestors,
    children,
    create_department,
    delete_department,
    get_department,
    move_department,
    subtree,
    subtree_ids,
    update_department,
)
from idaas.directory.service.groups import (
    create_group,
    delete_group,
    get_group,
    group_members,
    groups_of,
    list_groups,
    set_group_membership,
    update_group,
)
from idaas.directory.service.identities import (
    find_identity,
    find_reference,
    identities_of,
    link_identity,
    reference_of,
    set_reference,
    touch_identity,
    unlink_identity,
)
from idaas.directory.service.roles import (
    create_role,
    delete_role,
    get_role,
    list_roles,
    permissions_of,
    roles_of,
    set_role_assignment,
    update_role,
)

__all__ = [
    "accounts_query", "ancestors", "children", "create_account", "create_department",
    "create_group", "create_role", "define_attribute", "definitions", "delete_account",
    "delete_definition", "delete_department", "delete_group", "delete_role", "find_by_identifier",
    "find_identity", "find_reference", "get_account", "get_account_by_uuid", "get_definition",
    "get_department", "get_group", "get_role", "group_members", "groups_of", "identities_of",
    "link_identity", "list_accounts", "list_groups", "list_roles", "move_department",
    "permissions_of", "reference_of", "rehash_password", "roles_of", "set_group_membership",
    "set_password", "set_reference", "set_role_assignment", "set_status", "subtree",
    "subtree_ids", "touch_identity", "unlink_identity", "update_account", "update_definition",
    "update_department", "update_group", "update_role",
]
