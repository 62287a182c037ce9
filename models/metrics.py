"""Holdout metrics stored on a model version, with the task's positive label as the positive class."""

from typing import Any

import numpy as np
from sklearn.metrics import (
    accuracy_score,
    confusion_matrix,
    precision_recall_curve,
    precision_recall_fscore_support,
)

from db.models import says_positive

MAX_CURVE_POINTS = 50  # enough to draw; keeps the JSON column small


def classification_metrics(y_true: list[int], probabilities: list[float]) -> dict[str, Any]:
    """accuracy, precision, recall, f1, confusion matrix and PR curve points; y_true 1 = positive."""
    y = np.asarray(y_true)
    p = np.asarray(probabilities)
    predicted = says_positive(p).astype(int)
    precision, recall, f1, _ = precision_recall_fscore_support(
        y, predicted, average="binary", zero_division=0
    )
    curve_precision, curve_recall, thresholds = precision_recall_curve(y, p) if len(set(y)) > 1 else ([], [], [])
    keep = np.unique(np.linspace(0, len(thresholds) - 1, min(len(thresholds), MAX_CURVE_POINTS)).astype(int))
    tn, fp, fn, tp = confusion_matrix(y, predicted, labels=[0, 1]).ravel()
    return {
        "n": int(len(y)),
        "accuracy": round(float(accuracy_score(y, predicted)), 4),
        "precision": round(float(precision), 4),
        "recall": round(float(recall), 4),
        "f1": round(float(f1), 4),
        "confusion_matrix": {"tn": int(tn), "fp": int(fp), "fn": int(fn), "tp": int(tp)},
        "pr_curve": [
            {"threshold": round(float(thresholds[i]), 4), "precision": round(float(curve_precision[i]), 4),
             "recall": round(float(curve_recall[i]), 4)}
            for i in (keep if len(thresholds) else [])
        ],
    }
