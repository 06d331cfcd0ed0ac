"""The leak guard itself: it must notice a secret in the logs or the audit log."""

import logging

from idaas import audit
from idaas.directory import service
from idaas.extensions import db


def test_guard_finds_a_logged_secret(leak_guard):
    leak_guard.register("very-secret-value-123")
    logging.getLogger("idaas.test").warning("about to use %s", "nothing sensitive")
    assert leak_guard.find() == []
    assert leak_guard.find(["blob with very-secret-value-123 inside"]) == ["very-secret-value-123"]


def test_audit_redacts_sensitive_keys(app, account):
    audit.record(
        "admin:1",
        "test.event",
        "account:1",
        details={
            "password": "Leaky-Password-1",
            "nested": {"client_secret": "abc", "ok": 1},
            "items": [{"token": "t"}],
        },
    )
    db.session.commit()
    row = db.session.scalars(
        db.select(audit.service.AuditEvent).where(audit.service.AuditEvent.action == "test.event")
    ).one()
    assert row.details == {
        "password": "[redacted]",
        "nested": {"client_secret": "[redacted]", "ok": 1},
        "items": [{"token": "[redacted]"}],
    }


def test_password_writes_leave_no_trace(app, account, leak_guard):
    leak_guard.register("Fresh-Password-88")
    service.set_password("user:1", account.id, "Fresh-Password-88")
    service.create_account("system", username="eve", password="Fresh-Password-88x")
    leak_guard.register("Fresh-Password-88x")
