"""Progress reporting for long work. Domain functions take a ProgressFn; the CLI prints it to
stderr, jobs store it in the jobs table, the pages draw it as a bar."""

import sys
from collections.abc import Callable

ProgressFn = Callable[[int, int | None, str], None]


def no_progress(done: int, total: int | None, message: str) -> None:
    """For callers that do not show progress."""


def stderr_progress(step_percent: int = 10) -> ProgressFn:
    """Print a line to stderr each time another step_percent of the work is done."""
    last = -step_percent

    def report(done: int, total: int | None, message: str) -> None:
        nonlocal last
        if not total:
            print(f"{message}: {done}", file=sys.stderr)
            return
        percent = done * 100 // total
        if percent - last >= step_percent or done == total:
            last = percent
            print(f"{message}: {done}/{total} ({percent}%)", file=sys.stderr)

    return report
