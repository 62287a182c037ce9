"""What each job kind does: one domain call each. Only the worker imports this module (through
catalog targets), so the heavy domain (torch, trafilatura) loads where the work runs."""

from typing import Any

from curation.corpus.search_index import index_pending
from curation.enums import JobKind
from curation.jobs.submit import submit
from curation.llm.reasoning import assess_uncertain, reason_items
from curation.pipeline import ingest_and_score, score_new_items
from curation.progress import ProgressFn
from models.scoring import rescore_all
from models.training import refit as refit_model
from models.training import train as train_model


def ingest(params: dict[str, Any], progress: ProgressFn) -> dict[str, Any]:
    return ingest_and_score(params["urls"], allow_private_hosts=params.get("allow_private_hosts"),
                            progress=progress)


def score(params: dict[str, Any], progress: ProgressFn) -> dict[str, Any]:
    return score_new_items(progress)


def rescore(params: dict[str, Any], progress: ProgressFn) -> dict[str, Any]:
    return rescore_all(progress=progress)


def reason(params: dict[str, Any], progress: ProgressFn) -> dict[str, Any]:
    run = assess_uncertain if params.get("auto") else reason_items
    return run(limit=params.get("limit"), batch=bool(params.get("batch")), progress=progress)


def train(params: dict[str, Any], progress: ProgressFn) -> dict[str, Any]:
    """Train; a promotion has scored every stored item, so queue a score job for the rest."""
    result = train_model(**params, progress=progress)
    if result.get("promoted"):
        follow_up, _ = submit(JobKind.SCORE)
        result = {**result, "score_job": follow_up.id}
    return result


def refit(params: dict[str, Any], progress: ProgressFn) -> dict[str, Any]:
    return refit_model(progress=progress)


def index(params: dict[str, Any], progress: ProgressFn) -> dict[str, Any]:
    return index_pending(progress)
