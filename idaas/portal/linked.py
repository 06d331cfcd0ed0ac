"""What the linked-accounts page shows of a DingTalk link: the person's name and the corp's name.

Read live from DingTalk (`topapi/v2/user/get` §4.6 and the root department §4.2, whose name is
the organisation's) with the connection of the link's corp; when DingTalk cannot answer, the
page falls back to the raw ids rather than failing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from idaas.directory.models import ExternalIdentity

log = logging.getLogger(__name__)
ROOT_DEPARTMENT = 1


@dataclass(frozen=True)
class LinkedIdentity:
    """A linked identity as people see it."""

    id: int
    provider: str
    person_name: str | None
    organisation: str | None
    subject: str
    linked_at: datetime
    last_used_at: datetime | None


def describe(identity: ExternalIdentity) -> LinkedIdentity:
    """The person's DingTalk name and the corp's name for one link (ids when unknown)."""
    person_name = organisation = None
    if identity.provider == "dingtalk":
        person_name, organisation = _from_dingtalk(identity.tenant, identity.subject)
    return LinkedIdentity(
        id=identity.id,
        provider=identity.provider,
        person_name=person_name,
        organisation=organisation,
        subject=identity.subject,
        linked_at=identity.linked_at,
        last_used_at=identity.last_used_at,
    )


def _from_dingtalk(corp_id: str, userid: str) -> tuple[str | None, str | None]:
    from idaas.dingtalk import connections
    from idaas.dingtalk.errors import DingTalkError

    conn = next((c for c in connections.list_all() if c.corp_id == corp_id), None)
    if conn is None:
        return None, None
    name = organisation = None
    try:
        with connections._http() as http:
            client = connections.client(conn, http)
            name = client.get_user(userid).get("name")
            organisation = client.get_department(ROOT_DEPARTMENT).get("name")
    except (DingTalkError, Exception) as error:  # noqa: BLE001 - the page still shows the link
        log.info("could not read the linked DingTalk person: %s", type(error).__name__)
    return (str(name) if name else None), (str(organisation) if organisation else None)
