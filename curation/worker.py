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
    huey.periodic_task(crontab(), name="recover_dead_jobs")(jobs.recover_dead_jobs)
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
    """Recover jobs of dead workers, then run jobs until SIGINT (finish running jobs) or SIGTERM."""
    settings = get_settings()
    recovered = jobs.recover_dead_jobs()
    if recovered:
        logger.warning("marked %d job(s) of dead workers as failed: %s", len(recovered), recovered)
    queue = get_queue()
    consumer = queue.huey.create_consumer(workers=workers or settings.workers, periodic=periodic,
                                          max_delay=1.0)
    logger.info("worker %s: queue %r, %d thread(s)", jobs.worker_id(), settings.queue_name,
                workers or settings.workers)
    consumer.run()
    return jobs.worker_id()
