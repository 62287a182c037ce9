"""`python -m curation evaluate FILE`: the active scorer on labelled rows it may never have seen,
without storing anything."""

from pathlib import Path
from typing import Any

from curation.corpus.text import split_header
from curation.errors import ImportFileError, ModelError
from curation.files.rows import Row, read_rows
from curation.task import get_task
from db.session import session_scope
from models import registry
from models.loading import load_version, predict_metrics

REPORTED = ("n", "accuracy", "precision", "recall", "f1")


def evaluate_file(path: Path) -> dict[str, Any]:
    """n, accuracy, precision, recall and F1 (positive label = positive class) on the file's labelled rows."""
    task = get_task()
    texts, y = [], []
    for number, row in read_rows(path):
        if not isinstance(row, Row):
            raise ImportFileError(f"{row.describe(path)}; fix the row and evaluate again")
        if row.answer is None:
            continue
        if row.answer not in task.labels:
            raise ImportFileError(f"{path}:{number}: answer: unknown label {row.answer!r}; "
                                  f"expected one of {', '.join(task.labels)}")
        texts.append(split_header(row.text)[2])
        y.append(int(row.answer == task.positive_label))
    if not texts:
        raise ModelError(f"{path} has no labelled rows; evaluate needs rows with an answer "
                         f"({', '.join(task.labels)})")
    with session_scope() as session:
        version = registry.active_version(session)
    if version is None:
        raise ModelError("no active model version to evaluate; run `python -m curation train --promote` "
                         "(or `score` once a few items are labelled, for the cold-start scorer)")
    metrics = predict_metrics(load_version(version), texts, y)
    return {key: metrics[key] for key in REPORTED}
