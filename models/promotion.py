"""The promotion gate: a trained version becomes active only if its cross-validated F1 is not
worse than the active version's ON THE SAME FOLDS of the same labels. The active version's
figure is its recipe (its encoder's stored vectors, the head) cross-validated again on the
candidate's folds, so both are measured on items neither saw: comparing the active head on
labels it was fitted on would always favour it. A refit of the same encoder and recipe on more
labels therefore meets an equal figure and is promoted; another encoder or recipe must be as good.

Before the version goes live every stored item gets its score (one matrix product, written in
bulk), so the queue never ranks by a half-scored model; the passages follow. Training calls it; a
person choosing a version on the Model page goes through registry.promote_as, which skips the gate."""

import numpy as np

from curation.enums import ModelStatus
from curation.errors import ModelError
from curation.progress import ProgressFn, no_progress
from db.models import ModelVersion
from db.session import session_scope
from models.crossval import predict_out_of_fold
from models.embeddings import stored_for
from models.loading import load_version
from models.metrics import classification_metrics
from models.registry import activate, active_version, check_promotable, get_version
from models.scoring import fill_passages, forget_superseded_scores, write_all_probabilities


def f1_of(version: ModelVersion) -> float:
    metrics = version.metrics.get("cv") or version.metrics.get("holdout") or {}
    return float(metrics.get("f1", 0.0))


def f1_on_folds(active: ModelVersion, candidate: ModelVersion) -> float:
    """The active version's recipe cross-validated on the candidate's folds. The same encoder and
    head recipe give the candidate's own figure by construction (the fit is deterministic), so
    that is not computed twice. A fine-tuned active version cannot be refit per fold cheaply, so
    its own stored figure stands in."""
    if active.metrics.get("encoder_trained") or not active.metrics.get("encoder"):
        return f1_of(active)
    if (active.metrics.get("encoder"), active.metrics.get("head")) == (
            candidate.metrics.get("encoder"), candidate.metrics.get("head")):
        return f1_of(candidate)
    ids, y = candidate.metrics["cv_item_ids"], np.array(candidate.metrics["cv_labels"], dtype=np.int8)
    folds = np.array(candidate.metrics["cv_folds"], dtype=np.int8)
    with session_scope() as session:
        stored = stored_for(session, load_version(active), ids)
    vectors = np.stack([stored[i].head_input for i in ids]).astype(np.float32)
    return classification_metrics(y.tolist(), predict_out_of_fold(vectors, y, folds).tolist())["f1"]


def promote(version_id: int, *, force: bool = False, progress: ProgressFn = no_progress) -> float | None:
    """Activate a trained version if its cross-validated F1 is not worse than the active version's
    on the same folds (force skips the gate; a cold-start scorer is always replaced), after
    scoring every stored item with it. Returns the active version's F1 it was compared with."""
    with session_scope() as session:
        candidate = get_version(session, version_id)
        check_promotable(candidate)
        current = active_version(session)
    old_f1 = None
    if current and current.id != candidate.id and current.status == ModelStatus.TRAINED:
        old_f1, new_f1 = f1_on_folds(current, candidate), f1_of(candidate)
        if new_f1 < old_f1 and not force:
            raise ModelError(
                f"model version {candidate.id} has cross-validated F1 {new_f1:.3f}, worse than the "
                f"active version {current.id} ({old_f1:.3f}) on the same folds; it stays inactive. "
                "Pass --force to promote it anyway."
            )
    write_all_probabilities(candidate)
    with session_scope() as session:
        activate(session, get_version(session, version_id))
        if current and current.id != candidate.id:
            forget_superseded_scores(session, current)
    fill_passages(candidate, progress)
    return old_f1
