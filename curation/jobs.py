"""Background jobs: ingest, score, rescore, reason and train run in a worker, not in the page or
command that asked for them.

The jobs table is the truth the UI and `python -m curation jobs` read: each job's status,
progress (done/total, message), result or error. Huey only carries job ids to the workers
(curation/worker.py). Three rules keep that safe when several workers run:
- at most one queued or running job per kind (per URL list for ingest): `active_key` is unique
  in the database, so two processes submitting at once cannot both create one;
- a worker claims a job with a conditional UPDATE, so a message delivered twice runs once;
- a running job's worker writes a heartbeat; a job whose worker died is marked failed with the
  reason by the next worker to start (and every minute by a running one), and run once more.
"""

import hashlib
import json
import logging
import os
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session

from curation.audit import record
from curation.enums import Action, AuditAction, JobKind, JobStatus, ModelStatus
from curation.errors import JobError
from curation.permissions import HasRole, Permission, require
from curation.progress import ProgressFn
from curation.settings import get_settings
from db.models import Decision, Job, ModelVersion, utcnow
from db.session import session_scope

logger = logging.getLogger(__name__)

# How often a running job's progress and heartbeat reach the database: often enough for a
# progress bar, rare enough that a job of many small steps is not slowed by its own reports.
PROGRESS_INTERVAL_S = 1.0

Runner = Callable[[dict[str, Any], ProgressFn], dict[str, Any]]


@dataclass(frozen=True)
class JobKindSpec:
    """What a kind runs and which params it takes. `per_params`: jobs with different params may
    run side by side (two ingests of different URLs); otherwise one job of the kind at a time."""

    run: Runner
    params: frozenset[str] = frozenset()
    per_params: bool = False


def _ingest(params: dict[str, Any], progress: ProgressFn) -> dict[str, Any]:
    from curation.fetch.ingest import ingest_urls

    result = ingest_urls(
        params["urls"], allow_private_hosts=params.get("allow_private_hosts"), progress=progress
    )
    return {**result.summary(), "errors": result.errors}


def _score(params: dict[str, Any], progress: ProgressFn) -> dict[str, Any]:
    from models.scoring import score_unscored

    return score_unscored(progress=progress)


def _rescore(params: dict[str, Any], progress: ProgressFn) -> dict[str, Any]:
    from models.scoring import rescore_all

    return rescore_all(progress=progress)


def _reason(params: dict[str, Any], progress: ProgressFn) -> dict[str, Any]:
    from curation.llm.reasoning import reason_items

    return reason_items(limit=params.get("limit"), progress=progress)


def _train(params: dict[str, Any], progress: ProgressFn) -> dict[str, Any]:
    """Train; a promoted model makes every stored score stale, so queue a rescore."""
    from models.training import train

    result = train(**params, progress=progress)
    if result.get("promoted"):
        rescore, _ = submit(JobKind.RESCORE)
        result = {**result, "rescore_job": rescore.id}
    return result


KINDS: dict[str, JobKindSpec] = {
    JobKind.INGEST: JobKindSpec(_ingest, frozenset({"urls", "allow_private_hosts"}), per_params=True),
    JobKind.SCORE: JobKindSpec(_score),
    JobKind.RESCORE: JobKindSpec(_rescore),
    JobKind.REASON: JobKindSpec(_reason, frozenset({"limit"})),
    JobKind.TRAIN: JobKindSpec(_train, frozenset({"base_model", "promote", "force"})),
}


# --- submitting ---------------------------------------------------------------------------


def submit(kind: str, params: dict[str, Any] | None = None, *,
           retry_of: int | None = None) -> tuple[Job, bool]:
    """Queue a job; returns (job, True), or (the queued or running job of the same kind, False).
    retry_of names the job whose dead worker this one runs again for."""
    params = _checked_params(kind, params or {})
    key = _active_key(kind, params)
    for _ in range(3):  # the existing job may end between our failed insert and the lookup
        try:
            with session_scope() as session:
                job = Job(kind=kind, status=JobStatus.QUEUED, params=params, active_key=key,
                          message="queued", retry_of=retry_of)
                session.add(job)
        except IntegrityError:
            with session_scope() as session:
                existing = session.scalar(select(Job).where(Job.active_key == key))
            if existing is not None:
                return existing, False
            continue
        _enqueue(job)
        return job, True
    raise JobError(f"could not submit a {kind} job: another one kept starting and ending; try again")


# What a person needs to start each kind from a page or script; see request().
KIND_PERMISSIONS: dict[str, Permission] = {
    JobKind.INGEST: Permission.ADD_SOURCES,
    JobKind.SCORE: Permission.ADD_SOURCES,
    JobKind.RESCORE: Permission.ADD_SOURCES,
    JobKind.REASON: Permission.ADD_SOURCES,
    JobKind.TRAIN: Permission.RETRAIN,
}


def request(who: HasRole, kind: str, params: dict[str, Any] | None = None) -> tuple[Job, bool]:
    """A person asks for a job: checks their role, then submit(); retrains go in the audit log.
    submit() itself is for the system (schedules, a promotion's rescore)."""
    require(who, KIND_PERMISSIONS.get(kind, Permission.CHANGE_SETTINGS))
    job, created = submit(kind, params)
    if kind == JobKind.TRAIN and created:
        with session_scope() as session:
            record(session, who.name, AuditAction.RETRAIN, f"job:{job.id}", job.params)
    return job, created


def _checked_params(kind: str, params: dict[str, Any]) -> dict[str, Any]:
    spec = KINDS.get(kind)
    if spec is None:
        raise JobError(f"unknown job kind {kind!r}; use one of: {', '.join(sorted(KINDS))}")
    unknown = sorted(set(params) - spec.params)
    if unknown:
        allowed = ", ".join(sorted(spec.params)) or "none"
        raise JobError(f"{kind} jobs take no parameter {', '.join(unknown)}; allowed: {allowed}")
    if kind == JobKind.INGEST and not (
        isinstance(params.get("urls"), list) and params["urls"]
        and all(isinstance(url, str) for url in params["urls"])
    ):
        raise JobError(f"ingest needs params {{\"urls\": [\"https://...\", ...]}}, got {params!r}")
    try:
        return json.loads(json.dumps(params))
    except (TypeError, ValueError) as exc:
        raise JobError(f"{kind} job params must be plain JSON values: {exc}") from exc


def _active_key(kind: str, params: dict[str, Any]) -> str:
    if not KINDS[kind].per_params:
        return kind
    digest = hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()
    return f"{kind}:{digest[:32]}"


def _enqueue(job: Job) -> None:
    """Hand the job id to huey; if the queue is unreachable, fail the job so it does not block."""
    from curation.worker import get_queue

    try:
        get_queue().run_job(job.id)
    except Exception as exc:  # redis errors, a locked or unwritable SQLite queue file
        _finish(job.id, None, JobStatus.FAILED, error=f"could not queue: {exc}")
        raise JobError(
            f"could not put job {job.id} ({job.kind}) on the queue {get_settings().queue_name!r}: "
            f"{exc}; check that Redis at CURATION_REDIS_URL is running, or unset it"
        ) from exc


# --- reading --------------------------------------------------------------------------------


def list_jobs(session: Session, limit: int = 50, kinds: tuple[str, ...] | None = None) -> list[Job]:
    """Newest first, optionally only some kinds (the Sources page shows ingests only)."""
    query = select(Job).order_by(Job.id.desc()).limit(limit)
    if kinds:
        query = query.where(Job.kind.in_(kinds))
    return list(session.scalars(query))


def get_job(session: Session, job_id: int) -> Job | None:
    return session.get(Job, job_id)


def job_summary(job: Job) -> dict[str, Any]:
    """A job as plain JSON values, for the CLI and the pages."""
    fields = ("id", "kind", "status", "done", "total", "message", "params", "result", "error",
              "worker", "retry_of", "created_at", "started_at", "finished_at")
    summary = {name: getattr(job, name) for name in fields}
    for name in ("created_at", "started_at", "finished_at"):
        if summary[name] is not None:
            summary[name] = summary[name].isoformat()
    return summary


# --- running (inside a worker) --------------------------------------------------------------


def worker_id() -> str:
    """host:pid, so a worker on the same host can tell whether the process still exists."""
    return f"{socket.gethostname()}:{os.getpid()}"


def run_job(job_id: int) -> None:
    """The one huey task: claim the job, run its kind with progress, record the outcome."""
    worker = worker_id()
    job = _claim(job_id, worker)
    if job is None:
        logger.warning("job %s is not queued any more (run or failed already); skipping it", job_id)
        return
    reporter = _ProgressReporter(job_id, worker)
    try:
        result = KINDS[job.kind].run(job.params, reporter.report)
    except Exception as exc:
        logger.exception("job %s (%s) failed", job_id, job.kind)
        reporter.stop()
        _finish(job_id, worker, JobStatus.FAILED, error=f"{type(exc).__name__}: {exc}")
    else:
        reporter.stop()
        _finish(job_id, worker, JobStatus.DONE, result=json.loads(json.dumps(result, default=str)))


def _claim(job_id: int, worker: str) -> Job | None:
    now = utcnow()
    with session_scope() as session:
        claimed = session.execute(
            update(Job)
            .where(Job.id == job_id, Job.status == JobStatus.QUEUED)
            .values(status=JobStatus.RUNNING, worker=worker, started_at=now, heartbeat_at=now,
                    message="started")
        ).rowcount
        return session.get(Job, job_id) if claimed == 1 else None


def _finish(job_id: int, worker: str | None, status: JobStatus, *, result: dict[str, Any] | None = None,
            error: str | None = None) -> None:
    """End a job and free its active_key; only the worker that holds it may end it."""
    with session_scope() as session:
        ended = session.execute(
            update(Job)
            .where(Job.id == job_id, Job.worker.is_(None) if worker is None else Job.worker == worker,
                   Job.status.in_([JobStatus.QUEUED, JobStatus.RUNNING]))
            .values(status=status, result=result, error=error, finished_at=utcnow(), active_key=None)
        ).rowcount
    if ended != 1:
        logger.warning("job %s was already ended by someone else; keeping that outcome", job_id)


class _ProgressReporter:
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


# --- crash safety ---------------------------------------------------------------------------


def recover_dead_jobs() -> list[int]:
    """Fail running jobs whose worker is gone, with the reason, and run each once more; returns
    the failed ids. Runs when a worker starts and every minute in a running one, so a crash never
    leaves a job "running" and its work is not lost. A retry whose worker dies too is not run a
    third time: a job that kills its worker (out of memory, say) would only do it again."""
    stale_before = utcnow() - timedelta(seconds=get_settings().job_stale_after_s)
    with session_scope() as session:
        running = session.scalars(select(Job).where(Job.status == JobStatus.RUNNING)).all()
        dead = [(job, why) for job in running if (why := _why_dead(job, stale_before))]
        recovered = []
        for job, why in dead:
            ended = session.execute(
                update(Job)
                .where(Job.id == job.id, Job.status == JobStatus.RUNNING, Job.worker == job.worker)
                .values(status=JobStatus.FAILED, error=why, finished_at=utcnow(), active_key=None)
            ).rowcount
            if ended:
                recovered.append((job.id, job.kind, job.params, job.retry_of, why))
    for job_id, kind, params, retry_of, why in recovered:
        error = f"{why}; {_run_again(job_id, kind, params, retry_of)}"
        logger.warning("job %s: %s", job_id, error)
        with session_scope() as session:
            session.execute(update(Job).where(Job.id == job_id).values(error=error))
    return [job_id for job_id, *_ in recovered]


def _run_again(job_id: int, kind: str, params: dict[str, Any], retry_of: int | None) -> str:
    """Queue a dead worker's job once more; says what happened, for the failed job's error."""
    by_hand = f"submit it again (python -m curation jobs submit {kind})"
    if retry_of is not None:
        return f"it was already the second try of job {retry_of}, so it is not run again; {by_hand}"
    try:
        again, created = submit(kind, params, retry_of=job_id)
    except JobError as exc:
        return f"running it again failed ({exc}); {by_hand}"
    if not created:
        return f"not run again: job {again.id} of the same kind is already {again.status}"
    return f"it runs again as job {again.id}"


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


# --- retraining after every N labels --------------------------------------------------------


def labels_since_last_training(session: Session) -> int:
    """Labels (not skips, not undone) given since the newest trained model version or train job
    (cold-start versions do not count: they are rebuilt as labels come in, not trained)."""
    newest = [
        session.scalar(select(func.max(ModelVersion.created_at)).where(
            ModelVersion.status == ModelStatus.TRAINED)),
        session.scalar(select(func.max(Job.created_at)).where(Job.kind == JobKind.TRAIN)),
    ]
    since = max((moment for moment in newest if moment is not None), default=None)
    query = select(func.count(Decision.id)).where(
        Decision.undone_at.is_(None), Decision.label != Action.SKIP
    )
    if since is not None:
        query = query.where(Decision.created_at > since)
    return session.scalar(query) or 0


def maybe_schedule_retrain() -> tuple[Job, bool] | None:
    """Queue a retrain once CURATION_RETRAIN_EVERY_LABELS new labels exist. Call it after a
    decision is committed (it writes in its own transaction); returns what submit() returns, or
    None when no retrain is due."""
    every = get_settings().retrain_every_labels
    if every <= 0:
        return None
    with session_scope() as session:
        due = labels_since_last_training(session) >= every
    return submit(JobKind.TRAIN, {"promote": True}) if due else None
