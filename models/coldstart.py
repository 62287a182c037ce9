"""The cold-start scorer, used while there are too few labels to train: similarity of each
document to the centroids of the accepted and rejected examples, in the packaged MiniLM's
sentence space, read from the embedding store.

It is the same WindowClassifier with a head set from the centroids instead of trained, so it is
saved, registered, scored and shown exactly like a trained version (status cold_start)."""

import numpy as np
import torch

from curation.task import get_task
from db.session import session_scope
from models.base import PACKAGED_MODEL, frozen_base
from models.classifier import ClassifierConfig, WindowClassifier
from models.data import Labelled
from models.embeddings import embed_missing, stored_for
from models.runtime import device, use_compute_dtype

COLD_START_WINDOW = 128  # all-MiniLM-L6-v2 was trained on sequences of up to 128 tokens
MARGIN_LOGIT = 2.0  # each centroid itself scores ±2 (probability 0.88 / 0.12)


def centroid_classifier(items: list[Labelled]) -> WindowClassifier:
    """Head = direction from the negative to the positive centroid, centred between them."""
    base = frozen_base(PACKAGED_MODEL)
    task = get_task()
    config = ClassifierConfig(base.name, COLD_START_WINDOW, COLD_START_WINDOW // 4,
                              task.positive_label, task.negative_label)
    model = use_compute_dtype(WindowClassifier(base.encoder, base.tokenizer, config).to(device()).eval())
    ids = [i.item_id for i in items]
    embed_missing(model, ids)
    with session_scope() as session:
        stored = stored_for(session, model, ids)
    vectors = torch.from_numpy(np.stack([stored[i].head_input for i in ids]).astype(np.float32))
    labels = torch.tensor([i.y for i in items], dtype=torch.bool)
    positive, negative = vectors[labels].mean(0), vectors[~labels].mean(0)
    direction = positive - negative
    scale = 2 * MARGIN_LOGIT / max(float(direction @ direction), 1e-6)
    with torch.no_grad():
        model.head.weight.copy_(scale * direction.unsqueeze(0))
        model.head.bias.fill_(-scale * float(direction @ (positive + negative)) / 2)
    return model
