"""The cold-start scorer, used while there are too few labels to train: similarity of each window
to the centroids of the accepted and rejected examples, in the packaged MiniLM's sentence space.

It is the same WindowClassifier with a head set from the centroids instead of trained, so it is
saved, registered, scored and shown exactly like a trained version (status cold_start)."""

import torch

from curation.task import get_task
from models.base import packaged_encoder
from models.classifier import ClassifierConfig, WindowClassifier, document_vector
from models.runtime import device, use_compute_dtype

COLD_START_WINDOW = 128  # all-MiniLM-L6-v2 was trained on sequences of up to 128 tokens
MARGIN_LOGIT = 2.0  # each centroid itself scores ±2 (probability 0.88 / 0.12)


def centroid_classifier(texts: list[str], y: list[int], batch_size: int) -> WindowClassifier:
    """Head = direction from the negative to the positive centroid, centred between them."""
    base = packaged_encoder()
    task = get_task()
    config = ClassifierConfig(base.name, COLD_START_WINDOW, COLD_START_WINDOW // 4,
                              task.positive_label, task.negative_label)
    model = use_compute_dtype(WindowClassifier(base.encoder, base.tokenizer, config).to(device()).eval())
    with torch.no_grad():
        docs = [document_vector(model.embed_sorted([w.input_ids for w in model.windows(t)], batch_size))
                for t in texts]
        labels = torch.tensor(y, dtype=torch.bool)
        stacked = torch.stack(docs)
        positive, negative = stacked[labels].mean(0), stacked[~labels].mean(0)
        direction = positive - negative
        scale = 2 * MARGIN_LOGIT / max(float(direction @ direction), 1e-6)
        model.head.weight.copy_(scale * direction.unsqueeze(0))
        model.head.bias.fill_(-scale * float(direction @ (positive + negative)) / 2)
    return model
