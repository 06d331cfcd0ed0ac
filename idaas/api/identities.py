"""`/api/v1/accounts/<id>/identities`: see and remove an account's DingTalk links (admin unlink)."""

from __future__ import annotations

from werkzeug.wrappers import Response

from idaas.api import schemas as s
from idaas.api.blueprint import ID, bp
from idaas.api.directory import READ, WRITE
from idaas.api.http import json_response, no_content, origin
from idaas.api.spec import operation
from idaas.directory import service
from idaas.directory.serialise import identity_to_dict


@bp.get(f"/accounts/<{ID}:account_id>/identities")
@operation(
    "List an account's linked identities",
    tags=["accounts"],
    scopes=READ,
    response=s.LinkedIdentityList,
)
def account_identities(account_id: int) -> Response:
    """The external identities (DingTalk users) bound to the account."""
    service.get_account(account_id)
    items = [identity_to_dict(i) for i in service.identities_of(account_id)]
    return json_response({"items": items})


@bp.delete(f"/accounts/<{ID}:account_id>/identities/<{ID}:identity_id>")
@operation("Unlink an identity", tags=["accounts"], scopes=WRITE, status=204)
def unlink_identity(account_id: int, identity_id: int) -> Response:
    """Remove a link; the person's next DingTalk sign-in asks to bind again (audited)."""
    service.get_account(account_id)
    service.unlink_identity(origin(), identity_id, reason="admin", account_id=account_id)
    return no_content()
