"""The triage side starts without torch: importing it takes about 12 s and 550k objects, which a
curator would wait for on the first page and the collector would walk on later key presses."""

import subprocess
import sys

from tests.factories import REPO

TRIAGE_SIDE = ["pages.common", "curation.triage.queue", "curation.triage.similar", "curation.triage.search",
               "models.registry", "models.vectors"]


def test_the_queue_and_more_like_this_load_without_torch() -> None:
    probe = (f"import sys\nfor name in {TRIAGE_SIDE!r}: __import__(name)\n"
             "print(sorted(m for m in ('torch', 'transformers') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
