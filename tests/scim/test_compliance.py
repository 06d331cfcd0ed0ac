"""scim2-tester, the third-party SCIM compliance checker, against the live server."""

from __future__ import annotations

from typing import Annotated, Any

import httpx
from pydantic import Field
from scim2_models import CaseExact, Required, ResourceType, ScimProvider
from scim2_tester import Status, check_server

from idaas.directory import service
from idaas.scim.resources import (
    CustomAttribute,
    Department,
    DepartmentMembership,
    EnterpriseUser,
    Group,
    IdaasUser,
    ParentReference,
    User,
)
from idaas.scim.server.provider import policy
from tests.oidc.helpers import make_client
from tests.scim.support import HttpxSCIMClient

PASSING = {Status.SUCCESS, Status.COMPLIANT, Status.ACCEPTABLE, Status.SKIPPED}


def _token(live_url: str, client_id: str, secret: str) -> str:
    response = httpx.post(
        live_url + "/oauth2/token",
        data={"grant_type": "client_credentials"},
        auth=(client_id, secret),
        timeout=10,
    )
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def _hinted_provider(department_id: int, attribute_key: str) -> ScimProvider:
    """The server's models, with value hints for the ids and keys the directory checks.

    scim2-tester invents random strings for every writable attribute; department ids and
    custom attribute keys must name things that exist, and a sole membership must be the
    primary one, so the client-side models carry such values as pydantic `examples` (what
    scim2-tester draws from). The schemas and attributes are the server's own.
    """

    class HintedAttribute(CustomAttribute):
        name: Annotated[str | None, Required.true, CaseExact.true] = Field(
            None, examples=[attribute_key]
        )

    class HintedMembership(DepartmentMembership):
        value: Annotated[str | None, Required.true, CaseExact.true] = Field(
            None, examples=[str(department_id)]
        )
        # The directory keeps exactly one primary department.
        primary: bool | None = Field(None, examples=[True])

    class HintedIdaasUser(IdaasUser):
        departments: list[HintedMembership] | None = None
        attributes: list[HintedAttribute] | None = None

    class HintedParent(ParentReference):
        value: Annotated[str | None, CaseExact.true] = Field(None, examples=[str(department_id)])

    class HintedDepartment(Department):
        parent: HintedParent | None = None

    user = User[EnterpriseUser | HintedIdaasUser]  # type: ignore[misc]
    return ScimProvider(
        models=[User, EnterpriseUser, HintedIdaasUser, Group, HintedDepartment],
        resource_types=[
            ResourceType.from_resource(user),
            ResourceType.from_resource(Group),
            ResourceType.from_resource(HintedDepartment),
        ],
    )


def _client(app: Any, live_server: Any, leak_guard: Any) -> tuple[HttpxSCIMClient, httpx.Client]:
    root = service.create_department("system", name="Tester root")
    service.define_attribute("system", target="account", key="grade", label="Grade", type="string")
    client_id, secret = make_client("scim:read", "scim:write", leak_guard=leak_guard)
    token = _token(live_server.url, client_id, secret)
    http = httpx.Client(
        base_url=live_server.url + "/scim/v2",
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    described = _hinted_provider(root.id, "grade")
    with app.test_request_context():
        tolerant = policy()
    scim = HttpxSCIMClient(
        http,
        provider=ScimProvider(described.models, described.resource_types, None, tolerant),
    )
    return scim, http


def test_scim2_tester_passes_every_check(app, live_server, leak_guard):
    """Every check scim2-tester runs (discovery, CRUD, attributes, PATCH) passes."""
    scim, http = _client(app, live_server, leak_guard)
    with http:
        results = check_server(scim)
    failures = [
        f"{r.resource_type or ''} {r.title}: {r.status.name} {r.reason}"
        for r in results
        if r.status not in PASSING
    ]
    assert not failures, "\n".join(failures)
    ran = {r.title for r in results if r.status == Status.SUCCESS}
    assert len(ran) > 10, ran
