"""What happens to new items, the same from every entry point: they are embedded once into the
store and scored with the active model, without anyone pressing a button. The CLI `ingest` and
the ingest job behind the Sources page (and feed schedules) run ingest_and_score; `import` queues
a score job (jobs.triggers.request_scoring: the light path, no torch in the CLI) whose worker
runs score_new_items. Both are batched across documents and report progress."""

from typing import Any

from curation.fetch.ingest import ingest_urls
from curation.progress import ProgressFn, no_progress
from db.session import session_scope
from models.embeddings import default_encoder, embed_missing
from models.registry import active_version
from models.scoring import score_unscored

NO_MODEL_YET = "embedded, not scored: no active model yet; they are scored once one is trained"


def score_new_items(progress: ProgressFn = no_progress) -> dict[str, Any]:
    """Embed and score items the active model has not scored. With no model active they are
    embedded with the default encoder, so the first training and similar items find them stored,
    and ingest never waits for a cold-start build or loads a model nobody chose."""
    with session_scope() as session:
        active = active_version(session) is not None
    if not active:
        return {"scored": 0, "scorer": None, "note": NO_MODEL_YET,
                **embed_missing(default_encoder(), progress=progress)}
    return score_unscored(progress=progress)


def ingest_and_score(urls: list[str], *, allow_private_hosts: bool | None = None, score: bool = True,
                     progress: ProgressFn = no_progress) -> dict[str, Any]:
    """Fetch the URLs into items, then embed and score what was fetched; the summary says both."""
    result = ingest_urls(urls, allow_private_hosts=allow_private_hosts, progress=progress)
    summary: dict[str, Any] = {**result.summary(), "errors": result.errors}
    if score and result.fetched:
        summary["scoring"] = score_new_items(progress)
    return summary
