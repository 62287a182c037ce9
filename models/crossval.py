"""Metrics from all labels: grouped, stratified k-fold cross-validation of the head on stored
document vectors.

A holdout of 20% spends labels on measuring only, and with tens of labels its F1 is noise. Here
every current label is predicted once by a head that never saw it (folds grouped by canonical URL,
so a duplicate never sits on both sides; stratified, so each fold has both labels). The deployed
head is then fitted on all labels. A fit is a regularised logistic regression on a few thousand
vectors at most, milliseconds, which is what makes k fits per decision affordable.

`out_of_fold(session)` is public: the label-issue finder reads the out-of-fold probabilities and
who gave each label."""

from dataclasses import dataclass

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score
from sklearn.model_selection import StratifiedGroupKFold
from sqlalchemy.orm import Session

from curation.errors import ModelError
from models.data import Labelled, labelled_items
from models.embeddings import encoder_in_use, stored_for

SEED = 42  # the folds of a label set are the same in every run, so candidate and active meet on them
MAX_FOLDS = 5
HEAD_C = 100.0  # inverse L2 strength: what grouped inner CV picked on the dev rows (short vectors)
HEAD_RECIPE = f"logistic regression C={HEAD_C}, balanced classes, on the first and last 4 windows' mean"


@dataclass(frozen=True)
class Head:
    weight: np.ndarray  # float32 (dim,)
    bias: float

    def logits(self, vectors: np.ndarray) -> np.ndarray:
        return vectors.astype(np.float32) @ self.weight + self.bias


@dataclass(frozen=True)
class OutOfFold:
    item_ids: np.ndarray  # int64, in item-id order
    y: np.ndarray  # int8: 1 for the task's positive label
    probabilities: np.ndarray  # float64: of the positive label, from a head that never saw the item
    curators: list[str]  # who gave each current label
    folds: np.ndarray  # int8: the fold each item was predicted in


def fit_head(vectors: np.ndarray, y: np.ndarray) -> Head:
    """The head on document vectors; positives weigh as much as negatives whatever their count."""
    model = LogisticRegression(C=HEAD_C, class_weight="balanced", max_iter=1000)
    model.fit(vectors.astype(np.float32), y)
    return Head(model.coef_[0].astype(np.float32), float(model.intercept_[0]))


def fold_of(y: np.ndarray, groups: list[str], seed: int = SEED) -> np.ndarray:
    """A fold index per item: stratified by label, grouped by canonical URL."""
    fewest = int(np.bincount(y, minlength=2).min())
    if fewest < 2:
        raise ModelError(f"cross-validation needs at least 2 labelled items of each label; the rarest "
                         f"label has {fewest}. Label more items of it, then try again.")
    k = min(MAX_FOLDS, fewest)
    folds = np.zeros(len(y), dtype=np.int8)
    splitter = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=seed)
    for fold, (_, test) in enumerate(splitter.split(np.zeros(len(y)), y, groups)):
        folds[test] = fold
    return folds


def predict_out_of_fold(vectors: np.ndarray, y: np.ndarray, folds: np.ndarray) -> np.ndarray:
    """Each item's probability from the head fitted on the other folds."""
    probabilities = np.zeros(len(y))
    for fold in np.unique(folds):
        test = folds == fold
        head = fit_head(vectors[~test], y[~test])
        probabilities[test] = 1 / (1 + np.exp(-head.logits(vectors[test])))
    return probabilities


def labelled_vectors(session: Session) -> tuple[list[Labelled], np.ndarray]:
    """The current labels and their head inputs for the encoder in use (only texts not yet stored
    run the encoder)."""
    items = labelled_items(session)
    stored = stored_for(session, encoder_in_use(session), [i.item_id for i in items])
    items = [i for i in items if i.item_id in stored]
    dim = next(iter(stored.values())).head_input.shape[0] if stored else 0
    vectors = np.stack([stored[i.item_id].head_input for i in items]) if items else np.zeros((0, dim))
    return items, vectors.astype(np.float32)


def out_of_fold(session: Session) -> OutOfFold:
    """Every current label with the probability a head that never saw it gives it."""
    items, vectors = labelled_vectors(session)
    y = np.array([i.y for i in items], dtype=np.int8)
    folds = fold_of(y, [i.group for i in items])
    return OutOfFold(np.array([i.item_id for i in items], dtype=np.int64), y,
                     predict_out_of_fold(vectors, y, folds), [i.curator for i in items], folds)


CURVE_FRACTIONS = (0.25, 0.5, 0.75, 1.0)
CURVE_SEEDS = 5  # shuffles of folds and subsamples: the spread says how much a point can be trusted


def _curve_f1(vectors: np.ndarray, y: np.ndarray, groups: list[str], fraction: float, seed: int) -> float:
    """Out-of-fold F1 when each fold's head sees only `fraction` of its training labels (at
    least one of each label)."""
    rng = np.random.default_rng(seed)
    folds = fold_of(y, groups, seed)
    predicted = np.zeros(len(y), dtype=np.int8)
    for fold in np.unique(folds):
        test, train = np.flatnonzero(folds == fold), np.flatnonzero(folds != fold)
        keep = np.concatenate([
            rng.permutation(own)[:max(1, round(fraction * len(own)))]
            for own in (train[y[train] == label] for label in (0, 1))])
        head = fit_head(vectors[keep], y[keep])
        predicted[test] = head.logits(vectors[test]) >= 0
    return float(f1_score(y, predicted, zero_division=0))


def train_curve(session: Session, fractions: tuple[float, ...] = CURVE_FRACTIONS,
                seeds: int = CURVE_SEEDS) -> dict[str, list[dict[str, float]]]:
    """Cross-validated F1 at growing shares of the labels, mean and spread over seeds: whether
    more labels still help."""
    items, vectors = labelled_vectors(session)
    y = np.array([i.y for i in items], dtype=np.int8)
    groups = [i.group for i in items]
    fold_of(y, groups)  # the clear error when there are too few labels
    points = []
    for fraction in fractions:
        f1s = [_curve_f1(vectors, y, groups, fraction, SEED + seed) for seed in range(seeds)]
        points.append({"fraction": fraction, "n_labels": round(fraction * len(y)),
                       "f1_mean": round(float(np.mean(f1s)), 4), "f1_std": round(float(np.std(f1s)), 4)})
    return {"points": points}
