"""The queue and the worker: huey carries job ids from whoever submits (a page, the CLI, a
schedule) to `python -m curation worker` processes.

SqliteHuey in CURATION_HOME needs no extra service, which fits one machine; with
CURATION_REDIS_URL set, RedisHuey lets workers on several machines share one queue. Schedules
(retrain, re-read feeds, recover jobs of dead workers) run in workers started with periodic on;
run them on one machine only, so a schedule fires once."""

import logging
from dataclasses import dataclass
from functools import lru_cache

from huey import Huey, RedisHuey, SqliteHuey, crontab
from huey.api import TaskWrapper
from huey.signals import SIGNAL_INTERRUPTED

from curation import jobs
from curation.enums import JobKind
from curation.errors import ConfigError
from curation.settings import Settings, get_settings

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Queue:
    huey: Huey
    run_job: TaskWrapper


@lru_cache(maxsize=1)
def get_queue() -> Queue:
    """The huey instance for the current settings, with the job task and schedules registered
    (producers and workers must register the same task names)."""
    settings = get_settings()
    huey = _make_huey(settings)
    run_job = huey.task(name="run_job")(jobs.run_job)
    huey.periodic_task(crontab(), name="check_jobs")(check_jobs)
    if settings.retrain_cron:
        schedule = parse_cron(settings.retrain_cron, "CURATION_RETRAIN_CRON")
        huey.periodic_task(schedule, name="scheduled_retrain")(scheduled_retrain)
    if settings.feed_cron and settings.feed_urls:
        schedule = parse_cron(settings.feed_cron, "CURATION_FEED_CRON")
        huey.periodic_task(schedule, name="reread_feeds")(reread_feeds)
    huey.signal(SIGNAL_INTERRUPTED)(_on_interrupted)
    return Queue(huey, run_job)


def _make_huey(settings: Settings) -> Huey:
    if settings.redis_url:
        return RedisHuey(settings.queue_name, url=settings.redis_url, results=False)
    settings.home.mkdir(parents=True, exist_ok=True)
    return SqliteHuey(settings.queue_name, filename=str(settings.home / "queue.db"), results=False)


def parse_cron(expression: str, setting: str) -> crontab:
    """'minute hour day month weekday' (UTC) into a huey schedule; a bad one names the setting."""
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
    """Every minute and at start: fail the jobs of dead workers, requeue jobs whose message
    was lost."""
    recovered = jobs.recover_dead_jobs()
    if recovered:
        logger.warning("marked %d job(s) of dead workers as failed: %s", len(recovered), recovered)
    requeued = requeue_lost_jobs()
    if requeued:
        logger.warning("requeued %d job(s) whose queue message was lost: %s", len(requeued), requeued)


def requeue_lost_jobs() -> list[int]:
    """Queued jobs older than CURATION_JOB_STALE_AFTER_S with no message in the queue (Redis
    restarted without persistence, a worker died between taking the message and claiming the
    job) would hold their kind forever; put them on the queue again. A duplicate message is
    harmless: the claim lets a job run once."""
    queue = get_queue()
    waiting = {task.args[0] for task in queue.huey.pending() if task.name == "run_job"}
    lost = [job_id for job_id in jobs.queued_job_ids(older_than_s=get_settings().job_stale_after_s)
            if job_id not in waiting]
    for job_id in lost:
        queue.run_job(job_id)
    return lost


def scheduled_retrain() -> None:
    job, created = jobs.submit(JobKind.TRAIN, {"promote": True})
    logger.info("scheduled retrain: job %s %s", job.id, "queued" if created else "already queued or running")


def reread_feeds() -> None:
    job, created = jobs.submit(JobKind.INGEST, {"urls": get_settings().feed_urls})
    logger.info("feed re-read: job %s %s", job.id, "queued" if created else "already queued or running")


def _on_interrupted(signal: str, task: object) -> None:
    """The worker is stopping hard (SIGTERM) with this task running: fail its job with why."""
    if getattr(task, "name", None) == "run_job":
        job_id = task.args[0]  # type: ignore[attr-defined]
        jobs.mark_interrupted(job_id, f"worker {jobs.worker_id()} was stopped while running this job; "
                              f"submit it again")


def run_worker(workers: int | None = None, periodic: bool = True) -> str:
    """Check for dead workers' and lost jobs, then run jobs until SIGINT (running jobs finish)
    or SIGTERM (they are failed with the reason)."""
    settings = get_settings()
    check_jobs()
    queue = get_queue()
    consumer = queue.huey.create_consumer(workers=workers or settings.workers, periodic=periodic,
                                          max_delay=1.0)
    logger.info("worker %s: queue %r, %d thread(s)", jobs.worker_id(), settings.queue_name,
                workers or settings.workers)
    consumer.run()
    return jobs.worker_id()
