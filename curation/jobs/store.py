"""The jobs table, which the UI and `python -m curation jobs` read: each job's status, progress
(done/total, message), result or error. Three rules keep it safe when several workers run:
- at most one queued or running job per kind (per params for ingest): `active_key` is unique
  in the database, so two processes submitting at once cannot both create one;
- a worker claims a job with a conditional UPDATE, so a message delivered twice runs once;
- a running job's worker writes a heartbeat; a job whose worker died is found by
  dead_jobs() and failed with the reason (curation.jobs.worker runs it once more)."""

import hashlib
import json
import logging
import os
import socket
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session

from curation.enums import JobStatus
from curation.jobs.catalog import spec_of
from curation.settings import get_settings
from db.models import Job, utcnow
from db.session import session_scope

logger = logging.getLogger(__name__)

# How often a running job's progress and heartbeat reach the database: often enough for a
# progress bar, rare enough that a job of many small steps is not slowed by its own reports.
PROGRESS_INTERVAL_S = 1.0
LIVE = (JobStatus.QUEUED, JobStatus.RUNNING)


def active_key(kind: str, params: dict[str, Any]) -> str:
    if not spec_of(kind).per_params:
        return kind
    digest = hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()
    return f"{kind}:{digest[:32]}"


def insert_job(kind: str, params: dict[str, Any], retry_of: int | None) -> tuple[Job, bool] | None:
    """Insert a queued job: (job, True); or (the live job of the same key, False); None when
    that one ended between our failed insert and the look-up (the caller tries again)."""
    key = active_key(kind, params)
    try:
        with session_scope() as session:
            job = Job(kind=kind, status=JobStatus.QUEUED, params=params, active_key=key,
                      message="queued", retry_of=retry_of)
            session.add(job)
        return job, True
    except IntegrityError:
        with session_scope() as session:
            existing = session.scalar(select(Job).where(Job.active_key == key))
        return (existing, False) if existing is not None else None


def list_jobs(session: Session, limit: int = 50, kinds: tuple[str, ...] | None = None) -> list[Job]:
    """Newest first, optionally only some kinds (the Sources page shows ingests only)."""
    query = select(Job).order_by(Job.id.desc()).limit(limit)
    if kinds:
        query = query.where(Job.kind.in_(kinds))
    return list(session.scalars(query))


def get_job(session: Session, job_id: int) -> Job | None:
    return session.get(Job, job_id)


def is_live(status: str) -> bool:
    """Queued or running: a progress bar that still moves."""
    return status in LIVE


def job_summary(job: Job) -> dict[str, Any]:
    """A job as plain JSON values, for the CLI and the pages."""
    fields = ("id", "kind", "status", "done", "total", "message", "params", "result", "error",
              "worker", "retry_of", "created_at", "started_at", "finished_at")
    summary = {name: getattr(job, name) for name in fields}
    for name in ("created_at", "started_at", "finished_at"):
        if summary[name] is not None:
            summary[name] = summary[name].isoformat()
    return summary


def worker_id() -> str:
    """host:pid, so a worker on the same host can tell whether the process still exists."""
    return f"{socket.gethostname()}:{os.getpid()}"


def claim(job_id: int, worker: str) -> Job | None:
    now = utcnow()
    with session_scope() as session:
        claimed = session.execute(
            update(Job)
            .where(Job.id == job_id, Job.status == JobStatus.QUEUED)
            .values(status=JobStatus.RUNNING, worker=worker, started_at=now, heartbeat_at=now,
                    message="started")
        ).rowcount
        return session.get(Job, job_id) if claimed == 1 else None


def finish(job_id: int, worker: str | None, status: JobStatus, *, result: dict[str, Any] | None = None,
           error: str | None = None) -> None:
    """End a job and free its active_key; only the worker that holds it may end it."""
    with session_scope() as session:
        ended = session.execute(
            update(Job)
            .where(Job.id == job_id, Job.worker.is_(None) if worker is None else Job.worker == worker,
                   Job.status.in_(LIVE))
            .values(status=status, result=result, error=error, finished_at=utcnow(), active_key=None)
        ).rowcount
    if ended != 1:
        logger.warning("job %s was already ended by someone else; keeping that outcome", job_id)


class ProgressReporter:
    """Keeps the latest progress in memory and writes it, with a heartbeat, from a side thread.
    The job's own thread never waits on the database for a progress report, so a domain function
    that holds SQLite's write lock while it reports progress cannot deadlock against itself."""

    def __init__(self, job_id: int, worker: str) -> None:
        self.job_id, self.worker = job_id, worker
        self._latest: tuple[int, int | None, str] | None = None
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"job-{job_id}-progress", daemon=True)
        self._thread.start()

    def report(self, done: int, total: int | None, message: str) -> None:
        self._latest = (done, total, message)

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join()
        self._flush()

    def _loop(self) -> None:
        while not self._stopped.wait(PROGRESS_INTERVAL_S):
            self._flush()

    def _flush(self) -> None:
        values: dict[str, Any] = {"heartbeat_at": utcnow()}
        if self._latest is not None:
            values["done"], values["total"], values["message"] = self._latest
        try:
            with session_scope() as session:
                session.execute(update(Job).where(
                    Job.id == self.job_id, Job.worker == self.worker, Job.status == JobStatus.RUNNING
                ).values(**values))
        except SQLAlchemyError as exc:  # a missed report is retried next second; the job goes on
            logger.warning("could not record progress of job %s: %s", self.job_id, exc)


@dataclass(frozen=True)
class DeadJob:
    id: int
    kind: str
    params: dict[str, Any]
    retry_of: int | None
    worker: str
    why: str


def dead_jobs() -> list[DeadJob]:
    """Running jobs whose worker is gone (process gone, or no heartbeat for
    CURATION_JOB_STALE_AFTER_S), each with the reason."""
    stale_before = utcnow() - timedelta(seconds=get_settings().job_stale_after_s)
    with session_scope() as session:
        running = session.scalars(select(Job).where(Job.status == JobStatus.RUNNING)).all()
        return [DeadJob(job.id, job.kind, job.params, job.retry_of, job.worker or "", why)
                for job in running if (why := _why_dead(job, stale_before))]


def fail_dead_job(job: DeadJob, error: str) -> bool:
    """Fail it with the error, unless it ended or another recoverer got there first."""
    with session_scope() as session:
        return session.execute(
            update(Job)
            .where(Job.id == job.id, Job.status == JobStatus.RUNNING, Job.worker == job.worker)
            .values(status=JobStatus.FAILED, error=error, finished_at=utcnow(), active_key=None)
        ).rowcount == 1


def set_error(job_id: int, error: str) -> None:
    with session_scope() as session:
        session.execute(update(Job).where(Job.id == job_id).values(error=error))


def _why_dead(job: Job, stale_before: datetime) -> str | None:
    host, _, pid = (job.worker or "").rpartition(":")
    if host == socket.gethostname() and pid.isdigit() and not _process_exists(int(pid)):
        return f"worker {job.worker} died while running this job (its process is gone)"
    heartbeat = job.heartbeat_at or job.started_at
    if heartbeat is not None and heartbeat < stale_before:
        return f"worker {job.worker} sent no heartbeat since {heartbeat.isoformat()}, so it is taken for dead"
    return None


def queued_job_ids(older_than_s: float) -> list[int]:
    """Jobs still waiting for a worker, submitted more than older_than_s ago."""
    before = utcnow() - timedelta(seconds=older_than_s)
    with session_scope() as session:
        return list(session.scalars(
            select(Job.id).where(Job.status == JobStatus.QUEUED, Job.created_at < before).order_by(Job.id)
        ))


def mark_interrupted(job_id: int, reason: str) -> None:
    """A worker stopped (SIGTERM) with this job still running: say so instead of leaving it."""
    with session_scope() as session:
        session.execute(
            update(Job).where(Job.id == job_id, Job.status == JobStatus.RUNNING)
            .values(status=JobStatus.FAILED, error=reason, finished_at=utcnow(), active_key=None)
        )


def _process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
