"""The `/industry/...` blueprint: one POST route per contract endpoint (§1), one dispatcher."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, request
from flask_babel import force_locale, gettext
from werkzeug.wrappers import Response

from idaas.extensions import db
from idaas.industry import accounts, envelope, errors, organizations, permissions, roles
from idaas.industry.auth import authenticate
from idaas.industry.context import Context

log = logging.getLogger(__name__)

READ = "industry"
WRITE = "industry:write"  # "Grant: admin must authorise the app" (§4, §5, §6.5)
ROLES = "industry:roles"  # the second authorisation by the in-factory administrator (§6)


@dataclass(frozen=True)
class Endpoint:
    """A contract endpoint: its apiVer, the scopes it needs and its handler."""

    path: str
    api_ver: str
    scopes: frozenset[str]
    handler: Callable[[Context], Any]


def _ep(path: str, api_ver: str, handler: Callable[[Context], Any], *extra: str) -> Endpoint:
    return Endpoint(path, api_ver, frozenset({READ, *extra}), handler)


ENDPOINTS = (
    _ep("/user/account/add", "1.0.1", accounts.add, WRITE),
    _ep("/user/account/query", "1.0.7", accounts.query),
    _ep("/user/account/get", "1.0.4", accounts.get),
    _ep("/user/account/modify", "1.0.1", accounts.modify, WRITE),
    _ep("/user/account/delete", "1.0.0", accounts.delete, WRITE),
    _ep("/user/organization/tree/get", "1.0.2", organizations.tree),
    _ep("/user/organization/add", "1.0.0", organizations.add, WRITE),
    _ep("/user/organization/modify", "1.0.0", organizations.modify, WRITE),
    _ep("/user/organization/delete", "1.0.0", organizations.delete, WRITE),
    _ep("/user/role/add", "1.0.0", roles.add, ROLES),
    _ep("/user/role/modify", "1.0.0", roles.modify, ROLES),
    _ep("/user/role/delete", "1.0.0", roles.delete, ROLES),
    _ep("/user/role/all/list", "1.0.1", roles.list_all),
    _ep("/user/role/getroleperm", "1.0.0", roles.get_permissions, WRITE),
    _ep("/user/role/setroleperm", "1.0.0", roles.set_permissions, ROLES),
    _ep("/app/resource/batch/authenticate", "1.0.0", permissions.check_batch),
    _ep("/app/res/permission/authenticate", "1.0.2", permissions.check_one),
    _ep("/app/administrator/query", "1.0.2", permissions.administrators),
    _ep("/account/alieco/get", "1.0.0", permissions.ecosystem_account),
)


def serve(endpoint: Endpoint) -> Response:
    """Authenticate, parse the envelope, check apiVer and scopes, run the handler, answer."""
    body = request.get_data(cache=True)
    document = envelope.load(body)
    request_id = envelope.request_id_of(document)
    with force_locale(envelope.choose_locale(envelope.language_of(document))):
        try:
            caller = authenticate(body)
            parsed = envelope.parse(document)
            if parsed.api_ver != endpoint.api_ver:
                raise errors.ParameterError(
                    gettext("request.apiVer must be %(version)s.", version=endpoint.api_ver)
                )
            missing = sorted(endpoint.scopes - caller.scopes)
            if missing:
                raise errors.Forbidden(
                    gettext(
                        "The administrator has not granted this client: %(scopes)s.",
                        scopes=", ".join(missing),
                    )
                )
            data = endpoint.handler(Context(caller, parsed.params))
            return envelope.success(parsed.id, data)
        except errors.IndustryError as error:
            db.session.rollback()
            return envelope.failure(request_id, error)
        except Exception:
            db.session.rollback()
            log.exception("industry endpoint %s failed", endpoint.path)
            return envelope.failure(request_id, errors.InternalError())


def _view(endpoint: Endpoint) -> Callable[[], Response]:
    def view() -> Response:
        return serve(endpoint)

    view.__doc__ = f"POST {endpoint.path} (apiVer {endpoint.api_ver})."
    view.__name__ = endpoint.path.strip("/").replace("/", "_")
    return view


def blueprint(prefix: str) -> Blueprint:
    """The blueprint with every endpoint, mounted at `prefix` (default `/industry`)."""
    bp = Blueprint("industry", __name__, url_prefix=prefix.rstrip("/") or None)
    for endpoint in ENDPOINTS:
        view = _view(endpoint)
        bp.add_url_rule(endpoint.path, endpoint=view.__name__, view_func=view, methods=["POST"])
    return bp
