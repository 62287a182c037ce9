"""How typical an item is of what still waits for a label: the weight of the queue's density order.

Uncertainty alone serves outliers first while the head is fitted on a handful of labels: its
boundary is in the wrong place, and the rows it is least sure of are the ones unlike anything
labelled (README, "Label savings"). Weighting uncertainty by density, an item's mean cosine to
the unlabelled items, serves uncertain rows that stand for many others. With L2-normalised
document vectors that mean cosine is one dot product with the mean vector (the centre), so a
whole rescore pays one matrix-vector product, and an item scored later is measured against the
centre its version kept. bench/active.py simulates the order with these same functions."""

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from curation.triage.labels import stands
from db.models import Decision, ModelVersion
from models.vectors import stored_matrix

CENTRE_DTYPE = np.float32


def centre(documents: np.ndarray) -> np.ndarray:
    """The mean of L2-normalised document vectors (zeros for none), summed in float32."""
    if len(documents) == 0:
        return np.zeros(documents.shape[1], dtype=CENTRE_DTYPE)
    return documents.mean(axis=0, dtype=CENTRE_DTYPE)


def density(documents: np.ndarray, around: np.ndarray) -> np.ndarray:
    """Each document's mean cosine to the vectors `around` is the centre of, floored at 0 so the
    order's product with uncertainty never turns a typical item's sign."""
    return np.clip(documents.astype(CENTRE_DTYPE) @ around, 0.0, None)


def unlabelled_centre(session: Session, ids: np.ndarray, documents: np.ndarray) -> np.ndarray:
    """The centre of the items among `ids` that have no standing label (all of them when every
    item is labelled, so the order still has a typical direction)."""
    labelled = np.fromiter(session.scalars(select(Decision.item_id).where(stands(Decision)).distinct()),
                           dtype=np.int64)
    waiting = ~np.isin(ids, labelled)
    return centre(documents[waiting] if waiting.any() else documents)


def kept_centre(session: Session, version: ModelVersion, identity: str | None) -> np.ndarray:
    """The centre the version kept at its last whole rescore; one computed now (and kept) for a
    version that never had one, such as one scored before densities existed."""
    if version.density_centre is not None:
        return np.frombuffer(version.density_centre, dtype=CENTRE_DTYPE)
    ids, documents = stored_matrix(session, identity)
    found = unlabelled_centre(session, ids, documents)
    keep(session, version.id, found)
    return found


def keep(session: Session, version_id: int, found: np.ndarray) -> None:
    """Keep the centre on the version. A zero centre is none: nothing stored yet (a new encoder's
    first rescore) or nothing that decodes; the first items the version scores then give it one."""
    if found.any():
        session.get_one(ModelVersion, version_id).density_centre = found.astype(CENTRE_DTYPE).tobytes()
