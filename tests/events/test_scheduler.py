"""The scheduler: one leader, due periodic jobs, and the housekeeping job kinds."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import func, select

from idaas.events import jobs, scheduler
from idaas.events.models import Job, ScheduleState
from idaas.events.worker import Worker


def _jobs(app: Any) -> list[tuple[str, str]]:
    from idaas.extensions import db

    with app.app_context():
        rows = db.session.execute(select(Job.kind, Job.status).order_by(Job.id)).all()
        db.session.remove()
        return [tuple(r) for r in rows]  # type: ignore[misc]


def test_exactly_one_leader_starts_each_due_job_once(make_app: Any) -> None:
    app = make_app(
        EVENTS_SCHEDULES={"housekeeping.prune": 3600, "audit.retention": 86400, "nope": 5}
    )
    clock = app.extensions["idaas_clock"]
    first, second = (Worker(app, run_deliveries=False, run_jobs=False) for _ in range(2))
    try:
        assert first.schedule_once() == 0  # first sight: runs are one interval away
        with app.app_context():
            from idaas.extensions import db

            assert db.session.scalar(select(func.count()).select_from(ScheduleState)) == 2
            assert first.leadership.acquire(clock.now())
            assert not second.leadership.acquire(clock.now())
        clock.advance(3601)
        first._next_schedule = second._next_schedule = 0
        assert first.schedule_once() + second.schedule_once() == 1
        assert _jobs(app) == [("housekeeping.prune", "queued")]
        first._next_schedule = second._next_schedule = 0
        assert first.schedule_once() + second.schedule_once() == 0  # not due again yet
        clock.advance(86400)
        first._next_schedule = second._next_schedule = 0
        # The previous prune is still queued: skipped; the audit retention is due.
        assert first.schedule_once() == 1
        assert sorted(_jobs(app)) == [
            ("audit.retention", "queued"),
            ("housekeeping.prune", "queued"),
        ]
        first.leadership.release()
        if not str(app.config["DATABASE_URL"]).startswith("postgresql"):
            clock.advance(60)  # the SQLite lease runs out; PostgreSQL's lock went with release()
        with app.app_context():
            assert second.leadership.acquire(clock.now())  # the lead passes on
    finally:
        first.leadership.release()
        second.leadership.release()


def test_prune_deletes_only_what_expired_past_the_grace_period(make_app: Any) -> None:
    from idaas.auth.models import AuthSession
    from idaas.auth.reset_models import PasswordResetCode
    from idaas.directory import service
    from idaas.events.models import ReplayEntry
    from idaas.extensions import db, utcnow
    from idaas.industry.models import UsedNonce
    from idaas.oidc.models import AuthorizationCode, OidcToken, RpSession

    app = make_app()
    with app.app_context():
        account = service.create_account("system", username="pruned", display_name="P")
        old, now = utcnow() - timedelta(days=2), utcnow()

        def code(tag: str, expires: Any) -> AuthorizationCode:
            return AuthorizationCode(
                code_hash=tag * 64,
                client_id="c",
                account_id=account.id,
                redirect_uri="https://rp/cb",
                scope="openid",
                auth_time=0,
                expires_at=expires,
            )

        def token(tag: str, refresh_expires: Any) -> OidcToken:
            return OidcToken(
                family=tag,
                client_id="c",
                account_id=account.id,
                jti=tag,
                scope="openid",
                subject="s",
                auth_time=0,
                access_expires_at=old,
                refresh_expires_at=refresh_expires,
            )

        gone_session = AuthSession(token_hash="a" * 64, account_id=account.id, expires_at=old)
        live_session = AuthSession(
            token_hash="b" * 64, account_id=account.id, expires_at=now + timedelta(hours=1)
        )
        db.session.add_all(
            [
                code("a", old),
                code("b", now),
                token("t-old", None),
                token("t-refresh", now + timedelta(days=1)),
                gone_session,
                live_session,
                ReplayEntry(key="x" * 64, namespace="t", expires_at=old),
                ReplayEntry(key="y" * 64, namespace="t", expires_at=now + timedelta(hours=1)),
                UsedNonce(client_id="c", nonce="old", expires_at=int(old.timestamp() * 1000)),
                UsedNonce(
                    client_id="c", nonce="live", expires_at=int(now.timestamp() * 1000) + 900_000
                ),
                *(
                    PasswordResetCode(
                        id=tag,
                        account_id=None,
                        code_hash=tag * 64,
                        link_hash=tag * 64,
                        created_at=old,
                        expires_at=expires,
                        attempts=0,
                    )
                    for tag, expires in (("r", old), ("s", now + timedelta(minutes=5)))
                ),
            ]
        )
        db.session.flush()
        db.session.add_all(
            [
                RpSession(
                    auth_session_id=gone_session.id,
                    account_id=account.id,
                    client_id="c",
                    subject="s",
                ),
                RpSession(
                    auth_session_id=live_session.id,
                    account_id=account.id,
                    client_id="d",
                    subject="s",
                ),
            ]
        )
        db.session.commit()
        job_id = jobs.start("housekeeping.prune").id
    Worker(app, run_deliveries=False, run_scheduler=False).drain()
    with app.app_context():
        job = jobs.get(job_id)
        assert job.status == "succeeded", job.error
        counts = job.result or {}
        assert counts["authorization_codes"] == 1 and counts["tokens"] == 1
        assert counts["sessions"] == 1 and counts["rp_sessions"] == 1
        assert counts["replay_entries"] == 1
        assert counts["industry_nonces"] == 1 and counts["password_reset_codes"] == 1
        assert (job.total, job.done) == (len(counts), len(counts))
        assert db.session.scalars(select(AuthorizationCode.code_hash)).all() == ["b" * 64]
        assert db.session.scalars(select(OidcToken.jti)).all() == ["t-refresh"]
        assert db.session.scalars(select(RpSession.client_id)).all() == ["d"]
        assert db.session.scalars(select(ReplayEntry.key)).all() == ["y" * 64]
        assert db.session.scalars(select(UsedNonce.nonce)).all() == ["live"]
        assert db.session.scalars(select(PasswordResetCode.id)).all() == ["s"]


def test_key_rotation_and_audit_retention_jobs(make_app: Any) -> None:
    from idaas.audit.models import AuditEvent
    from idaas.extensions import db, utcnow
    from idaas.oidc import keys
    from idaas.oidc.models import SigningKey

    app = make_app(AUDIT_RETENTION_DAYS=30)
    with app.app_context():
        keys.ensure_active_key()
        db.session.add(
            AuditEvent(
                actor="system",
                action="old.thing",
                outcome="success",
                details={},
                occurred_at=utcnow() - timedelta(days=31),
            )
        )
        db.session.commit()
        rotate = jobs.start("oidc.rotate_keys").id
        retention = jobs.start("audit.retention").id
    Worker(app, run_deliveries=False, run_scheduler=False).drain()
    with app.app_context():
        assert jobs.get(rotate).result == {"rotated": ["ES256"], "expired": 0}
        assert (
            db.session.scalar(select(SigningKey.status).where(SigningKey.status == "next"))
            == "next"
        )
        assert jobs.get(retention).status == "succeeded"
        assert jobs.get(retention).result["purged"] == 1  # type: ignore[index]
        assert (
            db.session.scalar(select(AuditEvent.id).where(AuditEvent.action == "old.thing")) is None
        )


def test_scheduler_defaults_cover_the_housekeeping(app: Any) -> None:
    assert set(scheduler.schedules()) == {
        "oidc.rotate_keys",
        "housekeeping.prune",
        "audit.retention",
        "dingtalk.reconcile_all",
        "dingtalk.events",
    }
    assert set(scheduler.schedules()) <= set(jobs.kinds())
