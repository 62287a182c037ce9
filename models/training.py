"""Train a classifier from the current labels: `python -m curation train [--promote]`.

On a CPU the encoder stays frozen (the default): data (current labels) -> their stored head
inputs (models.embeddings; the encoder runs only on texts not yet stored) -> grouped, stratified
k-fold cross-validation over all labels for the metrics (models.crossval) -> the head fitted on
all labels -> save the head into a staging folder -> register (and promote through the gate when
asked, which scores every stored item before the version goes live). A fit is milliseconds.

On a GPU (or CURATION_TRAIN_ENCODER=always) the loop below fine-tunes the whole encoder, with
early stopping on an inner grouped split and one grouped fold held out for the metrics."""

import json
import logging
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from sklearn.model_selection import StratifiedGroupKFold
from torch import nn
from sqlalchemy import func, select
from transformers import set_seed

from curation.enums import ModelStatus
from curation.errors import ModelError
from curation.progress import ProgressFn, no_progress
from curation.settings import get_settings
from curation.task import get_task
from db.models import Decision
from db.session import session_scope
from models import crossval, embeddings, promotion, registry
from models.base import frozen_base, load_base
from models.classifier import ClassifierConfig, WindowClassifier, weights_digest
from models.crossval import Head
from models.data import Labelled, labelled_items
from models.loading import predict_metrics
from models.metrics import classification_metrics
from models.scoring import rescore_all
from models.runtime import configure_threads, device, use_compute_dtype

log = logging.getLogger(__name__)

SEED = 42  # splits, head initialisation and batch order are reproducible
HOLDOUT_FOLDS = 5  # the holdout is one fold of five: 20% of the labelled items


@dataclass(frozen=True)
class Knobs:
    learning_rate: float
    l2: float  # penalty on the head's weights: with tens of labels the head must stay simple
    max_epochs: int
    patience: int  # epochs without a better validation loss before stopping
    batch_docs: int


# Fine-tuning moves the encoder: a small rate, few epochs, small batches of documents.
FINE_TUNE = Knobs(learning_rate=3e-5, l2=0.0, max_epochs=6, patience=2, batch_docs=4)


def check_enough(items: list[Labelled], minimum: int) -> None:
    task = get_task()
    counts = Counter(task.positive_label if item.y else task.negative_label for item in items)
    if min(counts[label] for label in task.labels) < minimum:
        have = ", ".join(f"{counts[label]} {label}" for label in task.labels)
        raise ModelError(
            f"You need at least {minimum} labelled items of each label to train; have {have}. "
            "Label more items (until then the cold-start similarity scorer is used), or lower "
            "CURATION_MIN_LABELS_PER_CLASS."
        )


def grouped_split(y: list[int], groups: list[str], folds: int, seed: int = SEED) -> tuple[list[int], list[int]]:
    """One stratified fold, grouped: (train indices, test indices)."""
    folds = max(2, min(folds, min(Counter(y).values())))
    splitter = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=seed)
    train, test = next(splitter.split(np.zeros(len(y)), y, groups))
    return train.tolist(), test.tolist()


def fine_tune(model: WindowClassifier, texts: list[str], y: list[int], groups: list[str], *,
              progress: ProgressFn = no_progress) -> dict[str, Any]:
    """Fine-tune the encoder and the head: early stopping on an inner grouped split picks the
    number of epochs, then training repeats on all the given documents."""
    fit_idx, val_idx = grouped_split(y, groups, HOLDOUT_FOLDS, seed=SEED + 1)
    knobs = FINE_TUNE
    windows = [[w.input_ids for w in model.windows(t)] for t in texts]

    def doc_logits(indices: list[int]) -> torch.Tensor:
        return torch.stack([model.doc_logit(model.embed(windows[i])) for i in indices])
    params = list(model.parameters())
    targets = torch.tensor(y, dtype=torch.float32, device=model.device)
    initial = {k: v.detach().clone() for k, v in model.state_dict().items()}
    rng = np.random.default_rng(SEED)

    def loss_on(indices: list[int], loss_fn: nn.Module) -> torch.Tensor:
        return loss_fn(doc_logits(indices), targets[indices]) + knobs.l2 * model.head.weight.pow(2).sum()

    def run(indices: list[int], epochs: int, validation: list[int] | None = None) -> int:
        """Train from the initial weights; with validation, stop early and return the best epoch."""
        model.load_state_dict(initial, strict=False)
        n_pos = sum(y[i] for i in indices)
        loss_fn = nn.BCEWithLogitsLoss(  # class balance: positives weigh as much as negatives
            pos_weight=torch.tensor((len(indices) - n_pos) / max(n_pos, 1), device=model.device))
        optimizer = torch.optim.AdamW(params, lr=knobs.learning_rate, weight_decay=0.0)
        best_loss, best_epoch = float("inf"), epochs
        for epoch in range(1, epochs + 1):
            model.train(True)
            order = rng.permutation(indices).tolist()
            for start in range(0, len(order), knobs.batch_docs):
                optimizer.zero_grad()
                loss_on(order[start:start + knobs.batch_docs], loss_fn).backward()
                nn.utils.clip_grad_norm_(params, 1.0)
                optimizer.step()
            progress(epoch, epochs, "fine-tuning")
            if validation is None:
                continue
            model.eval()
            with torch.no_grad():
                val_loss = float(loss_on(validation, loss_fn))
            if val_loss < best_loss - 1e-4:
                best_loss, best_epoch = val_loss, epoch
            elif epoch - best_epoch >= knobs.patience:
                break
        return best_epoch

    # Early stopping on an inner grouped split picks the number of epochs; then the model is
    # trained again on all its documents for that many, so no label is spent on validation only.
    best_epoch = run(fit_idx, knobs.max_epochs, validation=val_idx)
    run(fit_idx + val_idx, best_epoch)
    model.eval()
    return {"epochs": best_epoch}


def set_head(model: WindowClassifier, head: Head) -> None:
    """Put a head fitted on document vectors into the model's linear layer."""
    with torch.no_grad():
        model.head.weight.copy_(torch.from_numpy(head.weight).unsqueeze(0))
        model.head.bias.fill_(head.bias)


def _write_card(folder, summary: dict[str, Any]) -> None:
    """metrics.json and a short model card beside the weights, as HF examples do."""
    (folder / "metrics.json").write_text(json.dumps(summary["metrics"], indent=2))
    cv = summary["metrics"]["cv"]
    (folder / "README.md").write_text(
        f"# Curation classifier ({get_task().name})\n\nBase model: {summary['base_model']}\n"
        f"Fitted on all {summary['n_train']} labelled items; metrics from {cv['folds']}-fold "
        f"cross-validation grouped by URL.\nAccuracy {cv['accuracy']}, precision {cv['precision']}, "
        f"recall {cv['recall']}, F1 {cv['f1']}.\n"
    )


def _frozen_fit(model: WindowClassifier, items: list[Labelled], progress: ProgressFn) -> dict[str, Any]:
    """The CPU path: stored document vectors (the encoder runs only on texts not yet stored),
    cross-validated metrics over all labels, then the head fitted on all of them."""
    ids = [i.item_id for i in items]
    embeddings.embed_missing(model, ids, progress)
    with session_scope() as session:
        stored = embeddings.stored_for(session, model, ids)
    y = np.array([i.y for i in items], dtype=np.int8)
    vectors = np.stack([stored[i].head_input for i in ids]).astype(np.float32)
    folds = crossval.fold_of(y, [i.group for i in items])
    cv = classification_metrics(y.tolist(), crossval.predict_out_of_fold(vectors, y, folds).tolist())
    set_head(model, crossval.fit_head(vectors, y))
    return {"cv": {**cv, "folds": int(folds.max()) + 1}, "cv_item_ids": ids, "cv_labels": y.tolist(),
            "cv_folds": folds.tolist(), "head": crossval.HEAD_RECIPE}


def _fine_tune(model: WindowClassifier, items: list[Labelled], progress: ProgressFn) -> dict[str, Any]:
    """The GPU path: k fine-tunings would cost k times the encoder, so the metrics come from one
    grouped fold held out, and the deployed model is the one fitted on the other folds."""
    y, groups = [i.y for i in items], [i.group for i in items]
    train_idx, holdout_idx = grouped_split(y, groups, HOLDOUT_FOLDS)
    fit_info = fine_tune(model, [items[i].text for i in train_idx], [y[i] for i in train_idx],
                         [groups[i] for i in train_idx], progress=progress)
    model.weights_digest = weights_digest(model.encoder, fresh=True)
    holdout = predict_metrics(model, [items[i].text for i in holdout_idx], [y[i] for i in holdout_idx])
    return {"cv": {**holdout, "folds": 1}, "cv_item_ids": [items[i].item_id for i in holdout_idx],
            "cv_labels": [y[i] for i in holdout_idx], "cv_folds": [0] * len(holdout_idx),
            "head": "fine-tuned encoder and head", **fit_info}


def train(*, base_model: str | None = None, promote: bool = False, force: bool = False,
          trigger: str = "request", progress: ProgressFn = no_progress) -> dict[str, Any]:
    """Train on the current labels, register the version, and promote it through the gate if asked.
    `trigger` says in the registry why the version exists: a request, or a decision (refit)."""
    settings, task = get_settings(), get_task()
    set_seed(SEED)
    configure_threads()
    with session_scope() as session:
        items = labelled_items(session)
    check_enough(items, settings.min_labels_per_class)
    started = time.perf_counter()
    run_on = device()
    train_encoder = settings.train_encoder == "always" or (settings.train_encoder == "auto" and run_on == "cuda")
    base = load_base(base_model) if train_encoder else frozen_base(base_model)
    config = ClassifierConfig(base.name, settings.window_tokens, settings.window_overlap,
                              task.positive_label, task.negative_label, train_encoder)
    model = use_compute_dtype(WindowClassifier(base.encoder, base.tokenizer, config).to(run_on))
    fitted = (_fine_tune if train_encoder else _frozen_fit)(model, items, progress)
    metrics = {
        **fitted,
        "encoder": model.encoder_identity,
        "trigger": trigger,
        "requested_base_model": base_model or settings.base_model,
        "base_model_note": base.note,
        "encoder_trained": train_encoder,
        "device": run_on,
        "train_seconds": round(time.perf_counter() - started, 2),
    }
    n_train = len(items) if not train_encoder else len(items) - len(fitted["cv_item_ids"])
    summary: dict[str, Any] = {"base_model": base.name, "n_train": n_train, "metrics": metrics}
    staged = registry.staging_folder()
    model.save(staged)
    _write_card(staged, summary)
    with session_scope() as session:
        version = registry.register(session, staged, base_model=base.name, n_train=n_train,
                                    metrics=metrics, status=ModelStatus.TRAINED)
        version_id, path = version.id, version.path
    promoted, refusal, active_f1 = False, None, None
    if promote:
        try:
            active_f1 = promotion.promote(version_id, force=force, progress=progress)
            promoted = True
        except ModelError as exc:
            refusal = str(exc)
    cv = metrics["cv"]
    log.info("trained model version %s on %s (%s): cross-validated F1 %s",
             version_id, base.name, run_on, cv["f1"])
    return {"version_id": version_id, "base_model": base.name, "base_model_note": base.note,
            "path": path, "n_train": n_train, "n_evaluated": cv["n"], "folds": cv["folds"],
            "accuracy": cv["accuracy"], "precision": cv["precision"], "recall": cv["recall"],
            "f1": cv["f1"], "active_f1_on_same_folds": active_f1, "promoted": promoted,
            "promotion_refused": refusal, "encoder_trained": train_encoder,
            "seconds": metrics["train_seconds"]}


def _labels_fingerprint() -> tuple[int | None, int]:
    """Changes whenever a decision is made or undone."""
    with session_scope() as session:
        return tuple(session.execute(select(func.max(Decision.id), func.count(Decision.undone_at))).one())


def _rescore_cold_start(progress: ProgressFn) -> dict[str, Any] | str:
    try:
        return rescore_all(progress=progress)
    except ModelError as exc:  # not one label of each yet: nothing to score with
        return str(exc)


def refit(progress: ProgressFn = no_progress) -> dict[str, Any]:
    """After decisions: the active recipe fitted on the current labels from stored vectors and
    promoted through the gate, which re-ranks the queue. Runs again while decisions came in
    during a run, so a burst costs one more fit rather than one each. Before there are enough
    labels to train, the cold-start scorer is rebuilt and rescored instead; a fine-tuned active
    version is left to the scheduled retrain (refitting it would mean fine-tuning per decision)."""
    runs = 0
    while True:
        seen = _labels_fingerprint()
        with session_scope() as session:
            active = registry.active_version(session)
            items = labelled_items(session)
        if active is not None and active.metrics.get("encoder_trained"):
            return {"refit": False, "reason": "the active version has a fine-tuned encoder; the retrain "
                                              "schedule refits it"}
        try:
            check_enough(items, get_settings().min_labels_per_class)
        except ModelError as exc:
            return {"refit": False, "reason": str(exc), "cold_start": _rescore_cold_start(progress)}
        base = active.base_model if active and active.status == ModelStatus.TRAINED else None
        result = train(base_model=base, promote=True, trigger="decision", progress=progress)
        runs += 1
        if _labels_fingerprint() == seen:
            return {"refit": True, "runs": runs, **result}
