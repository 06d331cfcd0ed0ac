"""What the server announces (RFC 7644 §4): derived from the settings and the models it uses.

`service_provider_config()` reads the same settings the views enforce (page size, Bulk limits),
and the flags below are the features the views implement; `tests/scim/test_compliance.py`
fails when one of them is advertised and scim2-tester cannot verify it.
"""

from __future__ import annotations

from functools import cache

from flask import current_app
from scim2_models import (
    AuthenticationScheme,
    Bulk,
    ChangePassword,
    ETag,
    Filter,
    Patch,
    ResourceType,
    ScimPolicy,
    ScimProvider,
    ServiceProviderConfig,
    Sort,
)

from idaas.scim.resources import (
    Department,
    EnterpriseUser,
    Group,
    IdaasUser,
    User,
    UserResource,
)

DOCUMENTATION = "https://datatracker.ietf.org/doc/html/rfc7644"


def _resource_type(model: type, description: str) -> ResourceType:
    resource_type = ResourceType.from_resource(model)
    resource_type.description = description
    return resource_type


@cache
def provider() -> ScimProvider:
    """The models and resource types idaas serves (discovery settings apart)."""
    return ScimProvider(
        models=[User, EnterpriseUser, IdaasUser, Group, Department],
        resource_types=[
            _resource_type(UserResource, "People's accounts"),
            _resource_type(Group, "Flat groups of users (groups cannot contain groups)"),
            _resource_type(Department, "The department tree; each names its parent"),
        ],
    )


def policy() -> ScimPolicy:
    """How tolerant request parsing is: Entra's PATCH habits are accepted (RFC 7644 deviations
    documented by Microsoft), unknown attributes per `SCIM_UNKNOWN_ATTRIBUTES`."""
    return ScimPolicy(
        unknown=current_app.config["SCIM_UNKNOWN_ATTRIBUTES"],
        remove_value_as_filter=ScimPolicy.RemoveValue.apply,
        unmatched_path_filter=ScimPolicy.UnmatchedPathFilter.create,
    )


def service_provider_config() -> ServiceProviderConfig:
    """The ServiceProviderConfig (RFC 7643 §5): exactly what the views implement."""
    config = current_app.config
    return ServiceProviderConfig(
        documentation_uri=DOCUMENTATION,  # type: ignore[arg-type]
        patch=Patch(supported=True),
        bulk=Bulk(
            supported=True,
            max_operations=int(config["SCIM_BULK_MAX_OPERATIONS"]),
            max_payload_size=int(config["SCIM_BULK_MAX_PAYLOAD"]),
        ),
        filter=Filter(supported=True, max_results=int(config["SCIM_MAX_RESULTS"])),
        change_password=ChangePassword(supported=True),
        sort=Sort(supported=True),
        etag=ETag(supported=True),
        authentication_schemes=[
            AuthenticationScheme(
                type="oauthbearertoken",  # type: ignore[arg-type]
                name="OAuth Bearer Token",
                description=(
                    "An access token from /oauth2/token (client credentials, scope scim:read "
                    "or scim:write), or a static SCIM token of the API client."
                ),
                spec_uri="https://datatracker.ietf.org/doc/html/rfc6750",  # type: ignore[arg-type]
                primary=True,
            )
        ],
    )
