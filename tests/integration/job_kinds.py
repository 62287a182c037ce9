"""Job kinds for the job-machinery tests only, and a worker entry point that knows them:
`python -m tests.integration.job_kinds` runs the real worker with these kinds added."""

import time
from pathlib import Path
from typing import Any

from curation.errors import CurationError
from curation.jobs.catalog import KINDS, JobKindSpec
from curation.progress import ProgressFn


def record(params: dict[str, Any], progress: ProgressFn) -> dict[str, Any]:
    """Report a few steps, then append the tag to a log so the test can count the runs."""
    steps = params.get("steps", 3)
    for step in range(1, steps + 1):
        progress(step, steps, f"step {step} of {steps}")
    with Path(params["log"]).open("a") as log:
        log.write(f"{params['tag']}\n")
    return {"tag": params["tag"], "steps": steps}


def fail(params: dict[str, Any], progress: ProgressFn) -> dict[str, Any]:
    progress(1, 2, "about to fail")
    raise CurationError("the test kind failed on purpose")


def block(params: dict[str, Any], progress: ProgressFn) -> dict[str, Any]:
    """Say it started, then wait (up to a minute) for the test to kill the worker."""
    progress(1, 2, "blocking")
    Path(params["started"]).write_text("started")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        time.sleep(0.05)
    return {}


TEST_KINDS = {
    "record": JobKindSpec(f"{__name__}:record", frozenset({"log", "tag", "steps"}), per_params=True),
    "fail": JobKindSpec(f"{__name__}:fail"),
    "block": JobKindSpec(f"{__name__}:block", frozenset({"started"})),
}

if __name__ == "__main__":
    import logging

    from curation.jobs.worker import run_worker

    logging.basicConfig(level=logging.INFO)
    KINDS.update(TEST_KINDS)
    run_worker()
