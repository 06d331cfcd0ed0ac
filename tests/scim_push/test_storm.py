"""kill -9 the worker during a storm of changes to a flaky target: it converges exactly."""

from __future__ import annotations

import itertools
import random
import time
from typing import Any

import pytest
from sqlalchemy import func, select

from idaas.directory import service
from idaas.directory.models import Account
from idaas.events.models import Delivery
from idaas.extensions import db
from idaas.scim.push.models import ProvisioningLog
from tests.conftest import require
from tests.events import procs
from tests.scim_push.conftest import make_application, push_to, settled
from tests.scim_push.server import Faults, ScimTarget

STEPS = itertools.count()
STORM = {
    "EVENTS_RETRY_BASE_SECONDS": 0.1,
    "EVENTS_RETRY_MAX_SECONDS": 1.0,
    "EVENTS_DELIVERY_TIMEOUT": 0.5,
    "EVENTS_POLL_SECONDS": 0.1,
    "EVENTS_LEASE_SECONDS": 2,
    "EVENTS_DEAD_AFTER_SECONDS": 3600,
    "EVENTS_CONCURRENCY": 4,
}


def storm(accounts: int, seed: int = 3) -> list[tuple[str, Any]]:
    """A mixed list of changes: creates, updates, renames, disables, deletes, memberships."""
    rng = random.Random(seed)
    changes: list[tuple[str, Any]] = [("create", n) for n in range(accounts)]
    for _ in range(accounts * 2):
        changes.append(
            (rng.choice(["title", "title", "rename", "status", "member"]), rng.randrange(accounts))
        )
    changes += [("delete", n) for n in rng.sample(range(accounts), accounts // 10)]
    return changes


def apply_storm(
    changes: list[tuple[str, Any]], team_id: int, ids: dict[int, int], deleted: set[int]
) -> None:
    """Make the changes in the directory, one transaction each, like real admins."""
    for kind, n in changes:
        step = next(STEPS)
        if kind == "create":
            ids[n] = service.create_account(
                "admin:1", username=f"p{n}", email=f"p{n}@example.com"
            ).id
            continue
        if n in deleted:
            continue
        account = db.session.get(Account, ids[n])
        if kind == "title":
            service.update_account("admin:1", ids[n], title=f"T{step}")
        elif kind == "rename":
            service.update_account("admin:1", ids[n], username=f"p{n}-{step}")
        elif kind == "status":
            flipped = "disabled" if account.status == "active" else "active"
            service.set_status("admin:1", ids[n], flipped)
        elif kind == "member":
            service.set_group_membership("admin:1", team_id, ids[n], step % 2 == 0)
        elif kind == "delete":
            service.delete_account("admin:1", ids[n])
            deleted.add(n)


def assert_converged(target: ScimTarget, deleted: int) -> None:
    """The target holds exactly the directory: names, titles, states, the team's members."""
    db.session.rollback()
    users = target.users()
    accounts = db.session.scalars(select(Account)).all()
    for account in accounts:
        user = users[account.username]
        assert user["externalId"] == account.uuid
        assert user.get("title") == account.title
        assert user["active"] is (account.status == "active")
    living = {a.uuid for a in accounts}
    externals = [u["externalId"] for u in users.values()]
    assert len(externals) == len(set(externals))  # no duplicates
    gone = [u for u in users.values() if u["externalId"] not in living]
    # Deleted accounts stay deactivated, unless they were deleted before ever being pushed
    # (the create and the delete coalesced): then the target never saw them.
    assert len(gone) <= deleted and all(u["active"] is False for u in gone)
    team = service.list_groups()[0]
    wanted = {users[a.username]["id"] for a in service.group_members(team.id)}
    assert {m["value"] for m in target.groups()[team.name].get("members") or []} == wanted


@pytest.mark.postgresql_only
@pytest.mark.slow
def test_kill_9_during_a_storm_against_a_flaky_target_converges(
    make_app: Any, target: ScimTarget, database_url: str
) -> None:
    # Worker processes next to the test's: the scale-out setup, on PostgreSQL.
    require(database_url.startswith("postgresql"), "needs IDAAS_TEST_DATABASE_URL (PostgreSQL)")
    app = make_app(**STORM)
    env = procs.env_for(database_url, **STORM)
    with app.app_context():
        application = make_application()
        push_to(application, target.url)
        team = service.create_group("admin:1", name="Team")
        target.faults = Faults(error=0.15, stall=0.05, stall_for=0.8)
        worker = procs.spawn(env)
        procs.wait_started(worker)
        changes = storm(40)
        ids: dict[int, int] = {}
        gone: set[int] = set()
        apply_storm(changes[: len(changes) // 2], team.id, ids, gone)
        deadline = time.monotonic() + 30
        while len(target.requests) < 100 and time.monotonic() < deadline:
            time.sleep(0.05)
        procs.kill9(worker)  # mid-way: leases held, answers lost
        apply_storm(changes[len(changes) // 2 :], team.id, ids, gone)
        with procs.workers(env) as (restarted,):
            procs.wait_started(restarted)
            deadline = time.monotonic() + 45
            while not settled():
                assert time.monotonic() < deadline, "the deliveries did not settle"
                time.sleep(0.2)
        assert (
            db.session.scalar(
                select(func.count()).select_from(Delivery).where(Delivery.status == "dead")
            )
            == 0
        )
        assert_converged(target, len(gone))
        absorbed = db.session.scalar(
            select(func.count())
            .select_from(ProvisioningLog)
            .where(ProvisioningLog.operation == "reconciled")
        )
        print(f"requests {len(target.requests)}, duplicates absorbed {absorbed}")
