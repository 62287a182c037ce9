"""Density, the weight of the queue's default order, on real databases: typical items weigh more
than outliers, labelled items do not count, and an item scored later is weighed like the rest."""

from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import delete, select

from curation.accounts.permissions import LOCAL_ADMIN
from curation.files.importing import import_file
from curation.settings import get_settings
from curation.triage.queue import decide
from db.models import ModelVersion, Score
from db.session import session_scope
from models import embeddings
from models.density import density, unlabelled_centre
from models.scoring import score_unscored
from models.training import train
from models.vectors import stored_matrix
from tests.factories import add_document_vectors, add_items, labelled_rows, make_row, write_jsonl
from tests.model_fixtures import small_model_settings, tiny_modernbert  # noqa: F401

ENCODER = "test-encoder"


def test_typical_items_weigh_more_than_an_outlier_and_labelled_items_do_not_count(db_url: str) -> None:
    with session_scope() as session:
        ids = add_items(session, 6)
        typical, outlier, labelled = ids[:3], ids[3], ids[4:]
        add_document_vectors(session, ENCODER, {
            typical[0]: [1, 0, 0], typical[1]: [0.9, 0.1, 0], typical[2]: [0.95, 0, 0.05],
            outlier: [0, 1, 0], labelled[0]: [0, 1, 0.01], labelled[1]: [0, 0.99, 0]})
        for item_id in labelled:
            decide(session, LOCAL_ADMIN, item_id, "reject")
    with session_scope() as session:
        stored_ids, documents = stored_matrix(session, ENCODER)
        weights = dict(zip(stored_ids.tolist(), density(documents, unlabelled_centre(session, stored_ids, documents)),
                           strict=True))
    assert min(weights[i] for i in typical) > 2 * weights[outlier]  # were labels counted: 0.94 x
    assert all(0 <= w <= 1 for w in weights.values())


@pytest.fixture
def trained(db_url: str, tmp_path: Path, tiny_modernbert: str, small_model_settings: None,
            monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("CURATION_BASE_MODEL", tiny_modernbert)
    get_settings.cache_clear()
    embeddings.default_encoder.cache_clear()
    rows = labelled_rows(6, 6) + [make_row(900 + n, None) for n in range(4)]
    with session_scope() as session:
        import_file(session, write_jsonl(tmp_path / "rows.jsonl", rows))
    embeddings.embed_missing(embeddings.default_encoder())  # as ingest and the score job do
    assert train(base_model=tiny_modernbert, promote=True)["promoted"]
    return tiny_modernbert


def _densities() -> dict[int, float]:
    with session_scope() as session:
        active = session.scalar(select(ModelVersion.id).where(ModelVersion.active))
        return dict(session.execute(select(Score.item_id, Score.density).where(Score.model_version_id == active)).all())


def test_a_promotion_weighs_every_item_and_an_item_scored_later_gets_the_same_weight(trained: str) -> None:
    weights = _densities()
    assert len(weights) == 16 and all(0 <= w <= 1 for w in weights.values())
    assert len(set(weights.values())) > 1  # measured, not the 1 of a score from before densities
    later = max(weights)
    with session_scope() as session:
        session.execute(delete(Score).where(Score.item_id == later))
    assert score_unscored()["scored"] == 1
    assert _densities()[later] == pytest.approx(weights[later], abs=1e-3)


def test_a_version_scored_before_densities_gets_a_centre_when_it_next_scores(trained: str) -> None:
    with session_scope() as session:
        version = session.scalar(select(ModelVersion).where(ModelVersion.active))
        kept = np.frombuffer(version.density_centre, dtype=np.float32).copy()
        version.density_centre = None
        session.execute(delete(Score).where(Score.item_id == 16))
    score_unscored()
    with session_scope() as session:
        version = session.scalar(select(ModelVersion).where(ModelVersion.active))
        assert np.allclose(np.frombuffer(version.density_centre, dtype=np.float32), kept, atol=1e-3)
