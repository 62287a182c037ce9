"""Run one job inside a worker: claim it, call its kind's function with progress, record the
outcome. The function is looked up by its catalog name here, at run time, so only workers load
the heavy domain."""

import json
import logging
from importlib import import_module
from typing import Any

from curation.enums import JobStatus
from curation.jobs import store
from curation.jobs.catalog import JobKindSpec, spec_of

logger = logging.getLogger(__name__)


def resolve(spec: JobKindSpec) -> Any:
    """The function behind a "module:function" target."""
    module, _, name = spec.target.partition(":")
    return getattr(import_module(module), name)


def run_job(job_id: int) -> None:
    """The one Huey task: claim the job, run its kind with progress, record the outcome."""
    worker = store.worker_id()
    job = store.claim(job_id, worker)
    if job is None:
        logger.warning("job %s is not queued any more (run or failed already); skipping it", job_id)
        return
    reporter = store.ProgressReporter(job_id, worker)
    try:
        result = resolve(spec_of(job.kind))(job.params, reporter.report)
    except Exception as exc:
        logger.exception("job %s (%s) failed", job_id, job.kind)
        reporter.stop()
        store.finish(job_id, worker, JobStatus.FAILED, error=f"{type(exc).__name__}: {exc}")
    else:
        reporter.stop()
        store.finish(job_id, worker, JobStatus.DONE, result=json.loads(json.dumps(result, default=str)))
