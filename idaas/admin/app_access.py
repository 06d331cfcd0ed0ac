"""An account's access to each application and its username there (account detail page)."""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext
from sqlalchemy import select

from idaas.applications import apps
from idaas.applications.models import Application, SubAccount
from idaas.directory.models import Account
from idaas.extensions import db


@dataclass(frozen=True)
class AppAccess:
    """One application as seen from one account."""

    app: Application
    allowed: bool
    reason: str
    username: str | None
    state: str
    state_label: str
    subaccount: SubAccount | None


def reason_text(code: str | None) -> str:
    """A policy refusal code in the reader's language."""
    texts = {
        None: gettext("Allowed"),
        "application_disabled": gettext("The application is disabled"),
        "not_in_access_policy": gettext("Not in the application's access policy"),
    }
    if code in texts:
        return str(texts[code])
    return str(gettext("The account is %(status)s", status=(code or "").removeprefix("account_")))


def state_text(state: str) -> str:
    """A sub-account state in the reader's language."""
    texts = {
        "ok": gettext("In use"),
        "pending": gettext("Waiting for approval"),
        "rejected": gettext("Rejected"),
        "missing": gettext("Not set"),
        "conflict": gettext("Shared with another account"),
    }
    return str(texts.get(state, state))


def of(account: Account) -> list[AppAccess]:
    """Every application with the account's access and its username in it, by name."""
    subs = {
        s.application_id: s
        for s in db.session.scalars(select(SubAccount).where(SubAccount.account_id == account.id))
    }
    rows = []
    for app in apps.list_applications():
        refusal = apps.policy_refusal(app, account)
        username, state = apps.app_username(app, account)
        rows.append(
            AppAccess(
                app,
                refusal is None,
                reason_text(refusal),
                username,
                state,
                state_text(state),
                subs.get(app.id),
            )
        )
    return rows
