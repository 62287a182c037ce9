"""Huey, which carries job ids from whoever submits (a page, the CLI, a schedule) to
`python -m curation worker` processes. It knows one task, run_job, and no job code.

SqliteHuey in CURATION_HOME needs no extra service, which fits one machine; with
CURATION_REDIS_URL set, RedisHuey lets workers on several machines share one queue."""

from dataclasses import dataclass
from functools import lru_cache

from huey import Huey, RedisHuey, SqliteHuey
from huey.api import TaskWrapper

from curation.jobs.runner import run_job
from curation.settings import Settings, get_settings


@dataclass(frozen=True)
class Broker:
    huey: Huey
    run_job: TaskWrapper


@lru_cache(maxsize=1)
def get_broker() -> Broker:
    """The Huey instance for the current settings with the job task registered (producers and
    workers must register the same task names)."""
    huey = _make_huey(get_settings())
    return Broker(huey, huey.task(name="run_job")(run_job))


def enqueue(job_id: int) -> None:
    get_broker().run_job(job_id)


def _make_huey(settings: Settings) -> Huey:
    if settings.redis_url:
        return RedisHuey(settings.queue_name, url=settings.redis_url, results=False)
    settings.home.mkdir(parents=True, exist_ok=True)
    return SqliteHuey(settings.queue_name, filename=str(settings.home / "queue.db"), results=False)
