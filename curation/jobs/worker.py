"""The worker process: `python -m curation worker`. It runs queued jobs, the schedules (retrain,
re-read feeds) and the every-minute check for jobs of dead workers. Run the schedules on one
machine only (`--no-periodic` on the others), so each fires once."""

import logging
from functools import lru_cache

from huey import Huey, crontab
from huey.signals import SIGNAL_INTERRUPTED

from curation.enums import JobKind
from curation.errors import ConfigError, JobError
from curation.jobs import store
from curation.jobs.broker import get_broker
from curation.jobs.submit import submit
from curation.jobs.triggers import index_what_waits
from curation.settings import get_settings

logger = logging.getLogger(__name__)


@lru_cache(maxsize=1)
def scheduled_huey() -> Huey:
    """The broker's Huey with the schedules of the current settings registered."""
    settings = get_settings()
    huey = get_broker().huey
    huey.periodic_task(crontab(), name="check_jobs")(check_jobs)
    if settings.retrain_cron:
        schedule = parse_cron(settings.retrain_cron, "CURATION_RETRAIN_CRON")
        huey.periodic_task(schedule, name="scheduled_retrain")(scheduled_retrain)
    if settings.feed_cron and settings.feed_urls:
        schedule = parse_cron(settings.feed_cron, "CURATION_FEED_CRON")
        huey.periodic_task(schedule, name="reread_feeds")(reread_feeds)
    huey.signal(SIGNAL_INTERRUPTED)(_on_interrupted)
    return huey


def parse_cron(expression: str, setting: str) -> crontab:
    """'minute hour day month weekday' (UTC) into a Huey schedule; a bad one names the setting."""
    fields = expression.split()
    try:
        if len(fields) != 5:
            raise ValueError(f"it has {len(fields)} fields, not 5")
        minute, hour, day, month, weekday = fields
        return crontab(minute, hour, day, month, weekday, strict=True)
    except ValueError as exc:
        raise ConfigError(
            f"{setting}={expression!r} is not a cron schedule ({exc}); write five fields, "
            "minute hour day month weekday, e.g. '0 3 * * *', or leave it empty to switch it off"
        ) from exc


def check_jobs() -> None:
    """Every minute and at start: fail the jobs of dead workers and run them once more, requeue
    jobs whose message was lost, index imported items that no index job is coming for."""
    recovered = recover_dead_jobs()
    if recovered:
        logger.warning("marked %d job(s) of dead workers as failed: %s", len(recovered), recovered)
    requeued = requeue_lost_jobs()
    if requeued:
        logger.warning("requeued %d job(s) whose queue message was lost: %s", len(requeued), requeued)
    index_what_waits()


def recover_dead_jobs() -> list[int]:
    """Fail running jobs whose worker is gone, with the reason, and run each once more; returns
    the failed ids. A crash never leaves a job "running" and its work is not lost. A retry whose
    worker dies too is not run a third time: a job that kills its worker (out of memory, say)
    would only do it again."""
    recovered = []
    for job in store.dead_jobs():
        if job.retry_of is not None:  # the whole story is known now: say it in one write
            by_hand = f"submit it again (python -m curation jobs submit {job.kind})"
            error = (f"{job.why}; it was already the second try of job {job.retry_of}, so it is "
                     f"not run again; {by_hand}")
            if store.fail_dead_job(job, error):
                recovered.append(job.id)
            continue
        if not store.fail_dead_job(job, job.why):  # frees its kind, so it can be submitted again
            continue
        error = f"{job.why}; {_run_again(job)}"
        store.set_error(job.id, error)
        recovered.append(job.id)
        logger.warning("job %s: %s", job.id, error)
    return recovered


def _run_again(job: store.DeadJob) -> str:
    """Queue a dead worker's job once more; says what happened, for the failed job's error."""
    by_hand = f"submit it again (python -m curation jobs submit {job.kind})"
    try:
        again, created = submit(job.kind, job.params, retry_of=job.id)
    except JobError as exc:
        return f"running it again failed ({exc}); {by_hand}"
    if not created:
        return f"not run again: job {again.id} of the same kind is already {again.status}"
    return f"it runs again as job {again.id}"


def requeue_lost_jobs() -> list[int]:
    """Queued jobs older than CURATION_JOB_STALE_AFTER_S with no message in the queue (Redis
    restarted without persistence, a worker died between taking the message and claiming the
    job) would hold their kind forever; put them on the queue again. A duplicate message is
    harmless: the claim lets a job run once."""
    broker = get_broker()
    waiting = {task.args[0] for task in broker.huey.pending() if task.name == "run_job"}
    lost = [job_id for job_id in store.queued_job_ids(older_than_s=get_settings().job_stale_after_s)
            if job_id not in waiting]
    for job_id in lost:
        broker.run_job(job_id)
    return lost


def scheduled_retrain() -> None:
    job, created = submit(JobKind.TRAIN, {"promote": True})
    logger.info("scheduled retrain: job %s %s", job.id, "queued" if created else "already queued or running")


def reread_feeds() -> None:
    job, created = submit(JobKind.INGEST, {"urls": get_settings().feed_urls})
    logger.info("feed re-read: job %s %s", job.id, "queued" if created else "already queued or running")


def _on_interrupted(signal: str, task: object) -> None:
    """The worker is stopping hard (SIGTERM) with this task running: fail its job with why."""
    if getattr(task, "name", None) == "run_job":
        job_id = task.args[0]  # type: ignore[attr-defined]
        store.mark_interrupted(job_id, f"worker {store.worker_id()} was stopped while running this job; "
                               f"submit it again")


def run_worker(workers: int | None = None, periodic: bool = True) -> str:
    """Check for dead workers' and lost jobs, then run jobs until SIGINT (running jobs finish)
    or SIGTERM (they are failed with the reason)."""
    settings = get_settings()
    check_jobs()
    consumer = scheduled_huey().create_consumer(workers=workers or settings.workers, periodic=periodic,
                                                max_delay=1.0)
    logger.info("worker %s: queue %r, %d thread(s)", store.worker_id(), settings.queue_name,
                workers or settings.workers)
    consumer.run()
    return store.worker_id()
