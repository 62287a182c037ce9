"""Queue a job: submit() for the system (schedules, a promotion's rescore), submit_as() for a
person, which checks their role first and writes retrains to the audit log."""

import json
from typing import Any

from curation.accounts.audit import record
from curation.accounts.permissions import HasRole, require
from curation.corpus.urls import without_userinfo
from curation.enums import AuditAction, JobKind, JobStatus, Permission
from curation.errors import JobError, PermissionDenied
from curation.jobs import broker, store
from curation.jobs.catalog import spec_of
from curation.jobs.params import check_values, lifting
from curation.settings import get_settings
from db.models import Job
from db.session import session_scope


def submit(kind: str, params: dict[str, Any] | None = None, *,
           retry_of: int | None = None) -> tuple[Job, bool]:
    """Queue a job; returns (job, True), or (the queued or running job of the same kind, False).
    retry_of names the job whose dead worker this one runs again for."""
    params = checked_params(kind, params or {})
    for _ in range(3):  # the existing job may end between our failed insert and the look-up
        inserted = store.insert_job(kind, params, retry_of)
        if inserted is None:
            continue
        job, created = inserted
        if created:
            _enqueue(job)
        return job, created
    raise JobError(f"could not submit a {kind} job: another one kept starting and ending; try again")


def submit_as(who: HasRole, kind: str, params: dict[str, Any] | None = None) -> tuple[Job, bool]:
    """A person asks for a job: checks their role for the kind and for every parameter that lifts
    a safety rule, then submit(); retrains go in the audit log."""
    require(who, spec_of(kind).permission)
    params = checked_params(kind, params or {})
    for name in lifting(params):
        try:
            require(who, Permission.LIFT_SAFETY)
        except PermissionDenied as exc:
            raise PermissionDenied(f"{kind} job parameter {name}: {exc}") from exc
    job, created = submit(kind, params)
    if kind == JobKind.TRAIN and created:
        with session_scope() as session:
            record(session, who.name, AuditAction.RETRAIN, f"job:{job.id}", job.params)
    return job, created


def checked_params(kind: str, params: dict[str, Any]) -> dict[str, Any]:
    spec = spec_of(kind)
    unknown = sorted(set(params) - spec.params)
    if unknown:
        allowed = ", ".join(sorted(spec.params)) or "none"
        raise JobError(f"{kind} jobs take no parameter {', '.join(unknown)}; allowed: {allowed}")
    if kind == JobKind.INGEST and "urls" not in params:
        raise JobError(f"ingest needs params {{\"urls\": [\"https://...\", ...]}}, got {params!r}")
    check_values(kind, params)
    try:
        plain = json.loads(json.dumps(params))
    except (TypeError, ValueError) as exc:
        raise JobError(f"{kind} job params must be plain JSON values: {exc}") from exc
    if "urls" in plain:  # a password in a link is not stored with the job either
        plain["urls"] = [without_userinfo(url) for url in plain["urls"]]
    return plain


def _enqueue(job: Job) -> None:
    """Hand the job id to Huey; if the queue is unreachable, fail the job so it does not block."""
    try:
        broker.enqueue(job.id)
    except Exception as exc:  # redis errors, a locked or unwritable SQLite queue file
        store.finish(job.id, None, JobStatus.FAILED, error=f"could not queue: {exc}")
        raise JobError(
            f"could not put job {job.id} ({job.kind}) on the queue {get_settings().queue_name!r}: "
            f"{exc}; check that Redis at CURATION_REDIS_URL is running, or unset it"
        ) from exc
