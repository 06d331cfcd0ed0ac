"""Source records: a directory account as the flat dict mapping rules read."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from idaas.directory.service.accounts import PROFILE_FIELDS
from idaas.extensions import db
from idaas.mapping.rules import MappingContext

if TYPE_CHECKING:
    from idaas.applications.models import Application
    from idaas.directory.models import Account

ACCOUNT_FIELDS = ("uuid", *PROFILE_FIELDS, "status", "source")


def dingtalk_userid(account_id: int) -> str | None:
    """The account's DingTalk userid (its bound DingTalk identity), if any."""
    from idaas.directory.models import ExternalIdentity

    return db.session.scalar(
        select(ExternalIdentity.subject)
        .where(ExternalIdentity.account_id == account_id, ExternalIdentity.provider == "dingtalk")
        .order_by(ExternalIdentity.id)
        .limit(1)
    )


def account_record(
    account: Account, application: Application | None = None
) -> tuple[dict[str, Any], MappingContext]:
    """The fields rules can read for `account` (with `attributes.*`, `dingtalk_userid` and,
    for an application, `sub_account`), and the context the `sub_account` transform needs."""
    record: dict[str, Any] = {name: getattr(account, name) for name in ACCOUNT_FIELDS}
    record["id"] = account.id
    record["attributes"] = dict(account.attributes or {})
    record["dingtalk_userid"] = dingtalk_userid(account.id)
    record["email_local"] = (account.email or "").split("@", 1)[0] or None
    if application is None:
        return record, MappingContext()
    from idaas.applications.apps import app_username

    username, state = app_username(application, account)
    record["sub_account"] = username
    return record, MappingContext(
        application=application.client_id, sub_account=username, sub_account_state=state
    )
