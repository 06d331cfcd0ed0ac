"""External identities (a DingTalk user bound to an account) and external references."""

from __future__ import annotations

from flask_babel import gettext
from sqlalchemy import select

from idaas.directory.errors import NotFound, ValidationFailed
from idaas.directory.models import ExternalIdentity, ExternalReference
from idaas.directory.service.accounts import get_account
from idaas.directory.service.unit import record_change, unit_of_work
from idaas.extensions import db, utcnow

LINK_METHODS = ("import", "auto", "manual", "jit", "admin")


def find_identity(provider: str, tenant: str, subject: str) -> ExternalIdentity | None:
    """The link for (provider, tenant, subject), e.g. ('dingtalk', corpId, userid)."""
    query = select(ExternalIdentity).filter_by(provider=provider, tenant=tenant, subject=subject)
    return db.session.scalar(query)


def identities_of(account_id: int) -> list[ExternalIdentity]:
    """An account's linked external identities."""
    return list(
        db.session.scalars(
            select(ExternalIdentity)
            .where(ExternalIdentity.account_id == account_id)
            .order_by(ExternalIdentity.id)
        )
    )


def link_identity(
    origin: str,
    account_id: int,
    *,
    provider: str,
    tenant: str,
    subject: str,
    union_id: str | None = None,
    linked_via: str,
) -> ExternalIdentity:
    """Bind an external identity to an account; one per (provider, tenant) on either side."""
    if linked_via not in LINK_METHODS:
        raise ValidationFailed({"linked_via": gettext("Unknown link method.")})
    with unit_of_work():
        account = get_account(account_id)
        if find_identity(provider, tenant, subject) is not None:
            raise ValidationFailed(
                {"subject": gettext("This identity is already linked to an account.")}
            )
        taken = db.session.scalar(
            select(ExternalIdentity.id).where(
                ExternalIdentity.account_id == account.id,
                ExternalIdentity.provider == provider,
                ExternalIdentity.tenant == tenant,
            )
        )
        if taken is not None:
            raise ValidationFailed(
                {"account_id": gettext("This account is already linked to another identity there.")}
            )
        identity = ExternalIdentity(
            account_id=account.id,
            provider=provider,
            tenant=tenant,
            subject=subject,
            union_id=union_id,
            linked_via=linked_via,
        )
        db.session.add(identity)
        db.session.flush()
        record_change(
            origin,
            "account",
            account.id,
            "identity_linked",
            account.version,
            {"provider": provider, "tenant": tenant, "subject": subject, "linked_via": linked_via},
        )
    return identity


def unlink_identity(
    origin: str, identity_id: int, *, reason: str, account_id: int | None = None
) -> None:
    """Remove a link (of `account_id`, when given); the next sign-in asks to bind again."""
    with unit_of_work():
        identity = db.session.get(ExternalIdentity, identity_id)
        if identity is None or (account_id is not None and identity.account_id != account_id):
            raise NotFound(gettext("Linked identity %(id)s does not exist.", id=identity_id))
        account = get_account(identity.account_id)
        db.session.delete(identity)
        record_change(
            origin,
            "account",
            account.id,
            "identity_unlinked",
            account.version,
            {
                "provider": identity.provider,
                "tenant": identity.tenant,
                "subject": identity.subject,
                "reason": reason,
            },
        )


def touch_identity(identity: ExternalIdentity) -> None:
    """Remember when an identity was last used to sign in (bookkeeping, not a directory change)."""
    identity.last_used_at = utcnow()
    db.session.commit()


def find_reference(system: str, object_type: str, external_id: str) -> ExternalReference | None:
    """Our object for an external id in `system`."""
    query = select(ExternalReference).filter_by(
        system=system, object_type=object_type, external_id=external_id
    )
    return db.session.scalar(query)


def reference_of(system: str, object_type: str, object_id: object) -> ExternalReference | None:
    """The external id of our object in `system`."""
    return db.session.scalar(
        select(ExternalReference).where(
            ExternalReference.system == system,
            ExternalReference.object_type == object_type,
            ExternalReference.object_id == str(object_id),
        )
    )


def set_reference(
    origin: str, system: str, object_type: str, object_id: object, external_id: str
) -> ExternalReference:
    """Record (or move) the mapping between our object and its id in `system`."""
    with unit_of_work():
        other = find_reference(system, object_type, external_id)
        if other is not None and other.object_id != str(object_id):
            raise ValidationFailed(
                {"external_id": gettext("This external id belongs to another object.")}
            )
        reference = reference_of(system, object_type, object_id)
        if reference is None:
            reference = ExternalReference(
                system=system,
                object_type=object_type,
                object_id=str(object_id),
                external_id=external_id,
            )
            db.session.add(reference)
        reference.external_id = external_id
        db.session.flush()
        record_change(
            origin,
            object_type,
            object_id,
            "reference_set",
            0,
            {"system": system, "external_id": external_id},
        )
    return reference


def remove_reference(origin: str, system: str, object_type: str, object_id: object) -> bool:
    """Forget our object's id in `system`; return whether there was one."""
    with unit_of_work():
        reference = reference_of(system, object_type, object_id)
        if reference is None:
            return False
        db.session.delete(reference)
        record_change(
            origin,
            object_type,
            object_id,
            "reference_removed",
            0,
            {"system": system, "external_id": reference.external_id},
        )
    return True
