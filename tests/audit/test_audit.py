"""The audit log: context capture, append-only rows, retention."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from idaas import audit
from idaas.audit.models import AuditEvent, AuditIsAppendOnly
from idaas.extensions import db, utcnow


def test_record_captures_request_context(app):
    with app.test_request_context(
        headers={"User-Agent": "pytest-agent"}, environ_base={"REMOTE_ADDR": "10.1.2.3"}
    ):
        audit.record("admin:1", "account.disabled", "account:9", "success", {"why": "left"})
        db.session.commit()
    row = db.session.scalars(select(AuditEvent)).one()
    assert (row.actor, row.action, row.target_type, row.target_id, row.outcome) == (
        "admin:1",
        "account.disabled",
        "account",
        "9",
        "success",
    )
    assert (row.ip, row.user_agent) == ("10.1.2.3", "pytest-agent")


def test_rows_cannot_be_changed_or_deleted(app):
    row = audit.record("system", "x.y")
    db.session.commit()
    row.action = "tampered"
    with pytest.raises(AuditIsAppendOnly):
        db.session.commit()
    db.session.rollback()
    db.session.delete(db.session.get(AuditEvent, row.id))
    with pytest.raises(AuditIsAppendOnly):
        db.session.commit()
    db.session.rollback()


def test_outcome_is_checked(app):
    with pytest.raises(ValueError):
        audit.record("system", "x.y", outcome="maybe")


def test_purge_applies_retention(app, runner):
    old = audit.record("system", "old.event")
    recent = audit.record("system", "recent.event")
    db.session.flush()
    db.session.execute(
        AuditEvent.__table__.update()
        .where(AuditEvent.id == old.id)
        .values(occurred_at=utcnow() - timedelta(days=181))
    )
    db.session.commit()
    result = runner.invoke(args=["audit", "purge", "--json"])
    assert result.exit_code == 0, result.output
    assert '"removed": 1' in result.output
    actions = set(db.session.scalars(select(AuditEvent.action)))
    assert actions == {"recent.event", "audit.purged"}
    assert recent.id in set(db.session.scalars(select(AuditEvent.id)))
