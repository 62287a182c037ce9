"""Rules that queue jobs by themselves: a refit after every decision, a full retrain once enough
new labels have come in, a score job when new items arrive, an index job when an import wrote them."""

import logging

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from curation.corpus.search_index import pending_count
from curation.enums import JobKind, ModelStatus
from curation.errors import JobError
from curation.jobs.submit import submit
from curation.settings import get_settings
from curation.triage.labels import stands
from db.models import Decision, Job, ModelVersion
from db.session import session_scope

log = logging.getLogger(__name__)


def labels_since_last_training(session: Session) -> int:
    """Labels (not skips, not undone) given since the newest trained model version or train job
    (cold-start versions do not count: they are rebuilt as labels come in, not trained)."""
    newest = [
        session.scalar(select(func.max(ModelVersion.created_at)).where(
            ModelVersion.status == ModelStatus.TRAINED)),
        session.scalar(select(func.max(Job.created_at)).where(Job.kind == JobKind.TRAIN)),
    ]
    since = max((moment for moment in newest if moment is not None), default=None)
    query = select(func.count(Decision.id)).where(stands(Decision))
    if since is not None:
        query = query.where(Decision.created_at > since)
    return session.scalar(query) or 0


def maybe_schedule_retrain() -> tuple[Job, bool] | None:
    """Queue a retrain once CURATION_RETRAIN_EVERY_LABELS new labels exist. Call it after a
    decision is committed (it writes in its own transaction); returns what submit() returns, or
    None when no retrain is due."""
    every = get_settings().retrain_every_labels
    if every <= 0:
        return None
    with session_scope() as session:
        due = labels_since_last_training(session) >= every
    return submit(JobKind.TRAIN, {"promote": True}) if due else None


def request_refit() -> Job | None:
    """After a decision is committed: queue the refit that makes it count at once. One refit job
    at a time; a request while one is queued folds into it, and a running one looks again for
    decisions that came in meanwhile before it ends (models.training.refit). A queue that cannot
    be reached is logged, never the curator's problem: the decision stands and the next one (or
    the retrain schedule) asks again."""
    try:
        return submit(JobKind.REFIT)[0]
    except JobError as exc:
        log.warning("no refit queued after a decision: %s", exc)
        return None


def request_search_index() -> Job:
    """A bulk import wrote items for the search index to add; one index job at a time, and a
    request while one is live folds into it (it runs until the backlog is empty)."""
    return submit(JobKind.INDEX)[0]


def index_what_waits() -> Job | None:
    """The index job of items nobody's request reached: an import that commits just as the
    index job finds the backlog empty folds its request into that job, which has already
    looked. Run every minute by the worker (check_jobs); a count over a partial index."""
    with session_scope() as session:
        waiting = pending_count(session)
    return request_search_index() if waiting else None


def request_scoring() -> Job:
    """New items arrived (import, ingest): the worker embeds and scores them; a request while a
    score job is live folds into it, since that job walks the items in id order to the end."""
    return submit(JobKind.SCORE)[0]
