"""Load a saved model version for inference, and "predict with a model, then compute the
metrics": the one way the promotion gate, training and evaluate measure a model."""

from functools import lru_cache
from pathlib import Path
from typing import Any

from curation.settings import get_settings
from db.models import ModelVersion
from models.classifier import WindowClassifier
from models.metrics import classification_metrics
from models.runtime import configure_threads, device, for_inference


@lru_cache(maxsize=2)
def load_path(path: str) -> WindowClassifier:
    """A saved version, ready for inference; cached because loading takes seconds."""
    configure_threads()
    return for_inference(WindowClassifier.load(Path(path), device()))


def load_version(version: ModelVersion) -> WindowClassifier:
    return load_path(version.path)


def predict_metrics(model: WindowClassifier, texts: list[str], y: list[int]) -> dict[str, Any]:
    """The model's classification_metrics on labelled texts (y: 1 for the positive label)."""
    predictions = model.predict(texts, get_settings().score_batch_size)
    return classification_metrics(y, [p.probability for p in predictions])
