"""The worker: claims and runs deliveries and jobs, and leads the scheduler when it can.

Run it as `idaas worker` (any number, on any host, with PostgreSQL), or embedded as a thread of
`idaas serve` / `idaas demo` (the default on SQLite, `EVENTS_EMBEDDED_WORKER`). It sleeps until
a commit wakes it (NOTIFY, Redis or in-process), a retry comes due, or `EVENTS_POLL_SECONDS`.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

from flask import Flask

from idaas.events import deliveries, jobs, scheduler, wake
from idaas.events.clock import Clock
from idaas.events.models import Delivery, Job

log = logging.getLogger("idaas.events")


class Worker:
    """One worker: a delivery thread pool, job threads, the scheduler and a wake-up listener."""

    def __init__(
        self,
        app: Flask,
        *,
        name: str | None = None,
        concurrency: int | None = None,
        clock: Clock | None = None,
        run_deliveries: bool = True,
        run_jobs: bool = True,
        run_scheduler: bool = True,
    ) -> None:
        self.app = app
        config = app.config
        self.name = name or f"{socket.gethostname()[:30]}:{os.getpid()}"
        self.concurrency = concurrency or int(config["EVENTS_CONCURRENCY"])
        self.batch = int(config["EVENTS_BATCH_SIZE"])
        self.lease = float(config["EVENTS_LEASE_SECONDS"])
        self.job_lease = float(config["EVENTS_JOB_LEASE_SECONDS"])
        self.poll = float(config["EVENTS_POLL_SECONDS"])
        self.max_jobs = int(config["EVENTS_MAX_JOBS"])
        self.clock = clock or app.extensions["idaas_clock"]
        self.run_deliveries = run_deliveries
        self.run_jobs = run_jobs
        self.run_scheduler = run_scheduler
        self.woken = threading.Event()
        self.stopping = threading.Event()
        self.pool = ThreadPoolExecutor(self.concurrency, thread_name_prefix="idaas-deliver")
        self.job_threads: set[threading.Thread] = set()
        self.leadership = scheduler.Leadership(config["DATABASE_URL"], scheduler.holder_name())
        self.listener = wake.Listener(config["DATABASE_URL"], config.get("REDIS_URL"), self.wake)
        self.thread: threading.Thread | None = None
        # Delivery lanes: each claims, delivers and settles its own batches, so one lane's
        # database round trips overlap another's HTTP.
        self.lanes = [threading.Event() for _ in range(max(1, int(config["EVENTS_LANES"])))]
        self.lane_threads: list[threading.Thread] = []
        self._next_schedule = 0.0

    def wake(self) -> None:
        """Something was queued: look now."""
        self.woken.set()
        for lane in self.lanes:
            lane.set()

    # -- one round of each kind of work -------------------------------------------------

    def now(self) -> datetime:
        """The worker's (controllable) time."""
        return self.clock.now()

    def deliver_once(self) -> int:
        """Claim one batch of due deliveries, run them concurrently, settle them; how many."""
        with self.app.app_context():
            claimed = deliveries.claim(self.batch, self.now(), self.lease, self.name)
        if not claimed:
            return 0
        outcomes = list(self.pool.map(self._run_in_context, claimed))
        with self.app.app_context():
            deliveries.settle(outcomes, self.now())
        return len(claimed)

    def _run_in_context(self, row: Delivery) -> deliveries.Outcome:
        with self.app.app_context():
            return deliveries.run_one(row)

    def jobs_once(self) -> int:
        """Claim queued (or orphaned) jobs up to the job limit and start them in threads."""
        self.job_threads = {t for t in self.job_threads if t.is_alive()}
        started = 0
        while len(self.job_threads) < self.max_jobs:
            with self.app.app_context():
                job = jobs.claim(self.now(), self.job_lease, self.name)
            if job is None:
                break
            thread = threading.Thread(
                target=self._run_job, args=(job,), name=f"idaas-job-{job.id}", daemon=True
            )
            self.job_threads.add(thread)
            thread.start()
            started += 1
        return started

    def _run_job(self, job: Job) -> None:
        with self.app.app_context():
            status = jobs.run(self.app, job, self.job_lease, self.now)
        log.info("job %s (%s) ended: %s", job.id, job.kind, status)
        self.wake()

    def schedule_once(self) -> int:
        """Start due periodic jobs when this worker leads (checked at most once a second)."""
        if time.monotonic() < self._next_schedule:
            return 0
        self._next_schedule = time.monotonic() + 1.0
        with self.app.app_context():
            if not self.leadership.acquire(self.now()):
                return 0
            return len(scheduler.tick(self.now()))

    def run_once(self) -> int:
        """One round of everything this worker does; how much work it found."""
        found = self._other_work()
        if self.run_deliveries:
            found += self.deliver_once()
        return found

    def drain(self, timeout: float = 30.0) -> None:
        """Run rounds until there is nothing due (tests, `idaas worker --once`)."""
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                if not self.run_once() and not any(t.is_alive() for t in self.job_threads):
                    return
                for thread in list(self.job_threads):
                    thread.join(timeout=0.05)
        finally:
            self.leadership.release()

    # -- the loop --------------------------------------------------------------------------

    def _sleep_seconds(self) -> float:
        with self.app.app_context():
            due = deliveries.next_due(self.now())
        if due is None:
            return self.poll
        return max(0.0, min(self.poll, (due - self.now()).total_seconds()))

    def _loop(self, woken: threading.Event, work: Any, sleep: Any) -> None:
        while not self.stopping.is_set():
            woken.clear()
            try:
                while work() and not self.stopping.is_set():
                    woken.clear()
                pause = sleep()
            except Exception:  # database unavailable: log, back off, try again
                log.exception("worker round failed")
                pause = self.poll
            woken.wait(pause)

    def _other_work(self) -> int:
        """A round of everything but deliveries (the scheduler, jobs)."""
        found = 0
        if self.run_scheduler:
            found += self.schedule_once()
        if self.run_jobs:
            found += self.jobs_once()
        return found

    def run(self) -> None:
        """Work until `stop()`: delivery lanes in threads, jobs and the scheduler here."""
        for event in (self.woken, *self.lanes):
            wake.add_local_waiter(event)
        self.listener.start()
        if self.run_deliveries:
            self.lane_threads = [
                threading.Thread(
                    target=self._loop,
                    args=(lane, self.deliver_once, self._sleep_seconds),
                    name=f"idaas-lane-{number}",
                    daemon=True,
                )
                for number, lane in enumerate(self.lanes)
            ]
            for thread in self.lane_threads:
                thread.start()
        try:
            self._loop(self.woken, self._other_work, lambda: self.poll)
        finally:
            for thread in self.lane_threads:
                thread.join(timeout=30)
            for event in (self.woken, *self.lanes):
                wake.remove_local_waiter(event)
            self.listener.stop()
            self.leadership.release()

    def start(self) -> Worker:
        """Run in a daemon thread (embedded mode and tests)."""
        self.thread = threading.Thread(target=self.run, name="idaas-worker", daemon=True)
        self.thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Stop looking for work; let running deliveries and job threads finish (bounded)."""
        self.stopping.set()
        self.wake()
        if self.thread is not None:
            self.thread.join(timeout=timeout)
        self.pool.shutdown(wait=True, cancel_futures=True)
        for thread in list(self.job_threads):
            thread.join(timeout=timeout)
        self.leadership.release()


def embedded_enabled(app: Flask) -> bool:
    """Whether `idaas serve`/`idaas demo` run a worker thread: `auto` means on SQLite only."""
    setting = str(app.config["EVENTS_EMBEDDED_WORKER"]).lower()
    if setting in ("auto", ""):
        return str(app.config["DATABASE_URL"]).startswith("sqlite")
    return setting in ("1", "true", "yes", "on")


def start_embedded(app: Flask) -> Worker | None:
    """Start the embedded worker thread when configured; returns it (or None)."""
    if not embedded_enabled(app):
        return None
    return Worker(app, name=f"embedded:{socket.gethostname()[:20]}:{os.getpid()}").start()
