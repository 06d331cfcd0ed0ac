"""The OpenAPI document: valid, complete; against the live app schemathesis finds no 5xx and
every response body matches the documented schema of its status code."""

from __future__ import annotations

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from openapi_spec_validator import validate
from schemathesis import GenerationMode
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
)

from idaas.applications.scopes import SCOPES
from idaas.directory import service
from tests.oidc.helpers import fetch_token, make_client

MIN_CASES = 500


def test_document_validates_and_covers_every_route(app, client):
    document = client.get("/api/v1/openapi.json").get_json()
    validate(document)
    assert document["openapi"] == "3.1.0"
    flows = document["components"]["securitySchemes"]["oauth2"]["flows"]
    assert flows["clientCredentials"]["scopes"].keys() == SCOPES.keys()
    assert flows["clientCredentials"]["tokenUrl"] == "http://localhost/oauth2/token"
    documented = {
        (path, method.upper()) for path, item in document["paths"].items() for method in item
    }
    routes = set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("api."):
            path = rule.rule
            for converter in ("int(min=1, max=2147483647):", "string(minlength=1, maxlength=64):"):
                path = path.replace(converter, "")
            path = path.replace("<", "{").replace(">", "}")
            routes |= {(path, m) for m in rule.methods - {"HEAD", "OPTIONS"}}
    assert routes == documented
    for path, item in document["paths"].items():
        for method, operation in item.items():
            assert operation["summary"] and operation["description"]
            if operation["security"]:
                assert {"401", "403"} <= set(operation["responses"]), (path, method)
            if "requestBody" in operation:
                assert {"400", "415", "422"} <= set(operation["responses"])


def _seed() -> None:
    """A few objects with small ids, so generated paths hit real objects, not only 404s."""
    root = service.create_department("system", name="Root")
    child = service.create_department("system", name="Child", parent_id=root.id)
    group = service.create_group("system", name="Staff")
    role = service.create_role(
        "system", code="viewer", name="Viewer", permissions=[("docs", "read")]
    )
    service.define_attribute("system", target="account", key="badge", label="Badge", type="string")
    for n in range(3):
        account = service.create_account(
            "system", username=f"seed{n}", memberships=[child.id if n else root.id]
        )
        service.set_group_membership("system", group.id, account.id, True)
        service.set_role_assignment("system", role.id, account.id, True)


BODY_CHECKS = [response_schema_conformance, content_type_conformance]


# Hypothesis warns when it builds the repr of a very large drawn value (a cost, not a finding).
@pytest.mark.filterwarnings(
    "ignore:Generating overly large repr:hypothesis.errors.HypothesisWarning"
)
def test_schemathesis_finds_no_server_errors_and_bodies_match_the_schema(
    app, live_server, leak_guard
):
    _seed()
    client_id, secret = make_client(*SCOPES, leak_guard=leak_guard)
    token = fetch_token(app.test_client(), client_id, secret)
    leak_guard.register(token)
    schema = schemathesis.openapi.from_url(f"{live_server.url}/api/v1/openapi.json")
    strategy = st.one_of(
        schema.as_strategy(GenerationMode.POSITIVE), schema.as_strategy(GenerationMode.NEGATIVE)
    )
    # Half of the cases aim their path ids at the seeded objects (ids 1..6) instead of 404s.
    aimed = st.tuples(strategy, st.booleans(), st.integers(1, 6))
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    seen: list[tuple[str, int]] = []
    failures: list[str] = []

    @settings(
        max_examples=MIN_CASES + 100,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(drawn=aimed)
    def run(drawn: tuple[schemathesis.Case, bool, int]) -> None:
        case, aim, small = drawn
        if aim and case.path_parameters:
            case.path_parameters = {
                name: small if isinstance(value, int) and not isinstance(value, bool) else value
                for name, value in case.path_parameters.items()
            }
        response = case.call(base_url=live_server.url, session=session, timeout=10)
        seen.append((case.operation.label, response.status_code))
        if response.status_code >= 500:
            failures.append(
                f"{case.operation.label}: {response.status_code} "
                f"{case.as_curl_command()} -> {response.text[:300]}"
            )
            return
        try:
            # The body (and its media type) must match what the document says for the status.
            case.validate_response(response, checks=BODY_CHECKS)
        except FailureGroup as error:
            failures.append(
                f"{case.operation.label}: {response.status_code} body off-schema: "
                f"{str(error)[:400]}"
            )

    run()
    assert not failures, "\n".join(failures[:10])
    assert len(seen) >= MIN_CASES
    operations = {label for label, _ in seen}
    assert len(operations) >= 40, sorted(operations)
    # Success bodies were checked too, across many operations (a count of calls would shrink as
    # the API grows and the same number of cases spreads over more operations).
    succeeded = {label for label, status in seen if status < 300}
    assert len(succeeded) >= 20, sorted(succeeded)


def test_the_body_check_rejects_an_off_schema_body(app, live_server):
    """The body checks above are not vacuous: a wrong body for a documented 200 fails them."""
    schema = schemathesis.openapi.from_url(f"{live_server.url}/api/v1/openapi.json")
    operation = schema["/api/v1/departments/{department_id}"]["GET"]
    case = operation.Case(path_parameters={"department_id": 1})
    wrong = requests.Response()
    wrong.status_code = 200
    wrong.headers["Content-Type"] = "application/json"
    wrong._content = b'{"id": "not a number", "name": 7}'
    wrong.url = f"{live_server.url}/api/v1/departments/1"
    wrong.request = requests.Request("GET", wrong.url).prepare()
    with pytest.raises(FailureGroup, match="distinct failures"):
        case.validate_response(wrong, checks=BODY_CHECKS)
