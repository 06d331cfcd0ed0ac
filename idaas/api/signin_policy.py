"""`/api/v1/settings/signin-policy`: read and change the sign-in policy override."""

from __future__ import annotations

from werkzeug.wrappers import Response

from idaas.api import schemas as s
from idaas.api.blueprint import bp
from idaas.api.http import expected_version, json_response, origin
from idaas.api.problems import ApiProblem
from idaas.api.spec import operation
from idaas.security import signin_policy

PATH = "/settings/signin-policy"


def _body(policy: signin_policy.SignInPolicy) -> dict[str, object]:
    return {
        "version": policy.version,
        "policy": policy.values(),
        "overridden": sorted(policy.overridden),
        "defaults": signin_policy.defaults(),
    }


@bp.get(PATH)
@operation(
    "Get the sign-in policy",
    tags=["settings"],
    scopes=["settings:read", "settings:admin"],
    response=s.SignInPolicyOut,
    etag=True,
)
def get_signin_policy() -> Response:
    """Password rules, lockout, the MFA requirement and session lifetimes in force."""
    policy = signin_policy.effective()
    return json_response(_body(policy), obj=policy)


@bp.patch(PATH)
@operation(
    "Change the sign-in policy",
    tags=["settings"],
    scopes=["settings:admin"],
    body=s.SignInPolicyPatch,
    response=s.SignInPolicyOut,
    etag=True,
    if_match=True,
)
def patch_signin_policy(body: s.SignInPolicyPatch) -> Response:
    """Save overrides of the instance settings; audited with the API client as actor."""
    version = expected_version(signin_policy.effective())
    changes = {name: getattr(body, name) for name in body.model_fields_set}
    try:
        policy = signin_policy.update(origin(), changes, version)
    except signin_policy.SignInPolicyError as error:
        if error.conflict:
            raise ApiProblem(
                412, "Precondition Failed", error.message, kind="version-conflict"
            ) from None
        raise ApiProblem(
            422, "Invalid input", error.message, kind="validation-failed", fields=error.fields
        ) from None
    return json_response(_body(policy), obj=policy)
