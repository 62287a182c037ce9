"""Progress reporting cost: `python bench/jobs.py [--steps 2000] [--database-url URL]`.

A job reports progress once per step. Ours keeps the latest report in memory and a side thread
writes it to the jobs table once a second; the naive way writes (UPDATE + commit) on every
report. Both run the same job body against the same running job row in one run, with no work
per step (the reporting cost alone) and with 1 ms of work per step (a batch being scored)."""

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

# The repository instead of bench/ first on the path: bench/queue.py would shadow the stdlib queue.
sys.path[0] = str(Path(__file__).resolve().parent.parent)


def fresh_database(folder: Path, url: str | None) -> None:
    from curation.settings import get_settings
    from db.migrate import upgrade
    from db.session import reset_caches

    os.environ["CURATION_HOME"] = str(folder)
    if url:
        os.environ["CURATION_DATABASE_URL"] = url
    get_settings.cache_clear()
    reset_caches()
    upgrade()


def running_job() -> tuple[int, str]:
    from curation.enums import JobStatus
    from curation.jobs.store import worker_id
    from db.models import Job, utcnow
    from db.session import session_scope

    with session_scope() as session:
        job = Job(kind="bench", status=JobStatus.RUNNING, worker=worker_id(), started_at=utcnow())
        session.add(job)
    return job.id, worker_id()


def body(steps: int, work_s: float, progress: Callable[[int, int | None, str], None]) -> None:
    for step in range(1, steps + 1):
        if work_s:
            time.sleep(work_s)
        progress(step, steps, f"step {step}")


def ours(steps: int, work_s: float) -> float:
    from curation.jobs.store import _ProgressReporter

    job_id, worker = running_job()
    started = time.perf_counter()
    reporter = _ProgressReporter(job_id, worker)
    body(steps, work_s, reporter.report)
    reporter.stop()
    return time.perf_counter() - started


def naive(steps: int, work_s: float) -> float:
    """Write every report as it comes."""
    from sqlalchemy import update

    from db.models import Job
    from db.session import session_scope

    job_id, _ = running_job()

    def report(done: int, total: int | None, message: str) -> None:
        with session_scope() as session:
            session.execute(update(Job).where(Job.id == job_id).values(done=done, total=total, message=message))

    started = time.perf_counter()
    body(steps, work_s, report)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--database-url", default=None, help="default: SQLite in a temporary folder")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        fresh_database(Path(folder), args.database_url)
        backend = "postgresql" if args.database_url else "sqlite"
        print(f"{args.steps} progress reports, {backend}")
        for work_s in (0.0, 0.001):
            naive_s, ours_s = naive(args.steps, work_s), ours(args.steps, work_s)
            print(f"work {work_s * 1000:.0f} ms/step: naive {naive_s:.3f}s, ours {ours_s:.3f}s, "
                  f"ratio {naive_s / ours_s:.1f}x")


if __name__ == "__main__":
    main()
