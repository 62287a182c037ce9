"""What happens to new items, the same from every entry point (the CLI `ingest`, the ingest job
behind the Sources page, feed schedules): fetch them, then score them with the active model, then
(CURATION_LLM_AUTO) let the LLM assess those the model is unsure of, within the daily cap."""

from typing import Any

from curation.fetch.ingest import ingest_urls
from curation.llm.reasoning import assess_uncertain
from curation.progress import ProgressFn, no_progress
from curation.settings import get_settings
from db.session import session_scope
from models.registry import active_version
from models.scoring import score_unscored

NO_MODEL_YET = "not scored: no active model yet; `python -m curation score` scores them later"


def score_new_items(progress: ProgressFn = no_progress) -> dict[str, Any]:
    """Score items the active model has not scored. Only when a model is active, so ingest
    never waits for a cold-start build or loads a model nobody chose."""
    with session_scope() as session:
        active = active_version(session) is not None
    if not active:
        return {"scored": 0, "scorer": None, "note": NO_MODEL_YET}
    result = score_unscored(progress=progress)
    if get_settings().llm_auto and result["scored"]:  # a second opinion where the model is unsure
        result["llm_auto"] = assess_uncertain(progress=progress)
    return result


def ingest_and_score(urls: list[str], *, allow_private_hosts: bool | None = None, score: bool = True,
                     progress: ProgressFn = no_progress) -> dict[str, Any]:
    """Fetch the URLs into items, then score what was fetched; the summary says both."""
    result = ingest_urls(urls, allow_private_hosts=allow_private_hosts, progress=progress)
    summary: dict[str, Any] = {**result.summary(), "errors": result.errors}
    if score and result.fetched:
        summary["scoring"] = score_new_items(progress)
    return summary
