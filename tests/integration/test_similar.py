"""More like this over the stored document vectors: nearest by cosine, with labels and scores."""

import pytest
from sqlalchemy import update

from curation.accounts.permissions import Actor
from curation.enums import Role
from curation.errors import PermissionDenied, SimilarError
from curation.triage.queue import decide
from curation.triage.similar import similar_items
from db.models import ModelVersion
from db.session import session_scope
from tests.factories import add_active_model, add_document_vectors, add_items, run_cli

VIEWER = Actor("vic", Role.VIEWER)
ENCODER = "test-encoder"


@pytest.fixture
def stored(db_url: str) -> list[int]:
    with session_scope() as session:
        ids = add_items(session, 4)  # content hashes h0..h3, item ids 1..4
        version = add_active_model(session, {ids[1]: 0.8, ids[2]: 0.3})
        session.execute(update(ModelVersion).where(ModelVersion.id == version).values(metrics={"encoder": ENCODER}))
        add_document_vectors(session, ENCODER, dict(zip(ids, [[1, 0, 0], [0.9, 0.1, 0], [0.5, 0.5, 0], [0, 0, 1]], strict=True)))
        decide(session, Actor("ann", Role.CURATOR), ids[2], "reject")
    return ids


def test_nearest_items_come_most_similar_first_with_label_and_score(stored: list[int]) -> None:
    first, close, middling, far = stored
    with session_scope() as session:
        hits = similar_items(session, VIEWER, first, k=3)
    assert [h.id for h in hits] == [close, middling, far]
    assert hits[0].similarity == pytest.approx(0.994, abs=0.01) and hits[2].similarity == pytest.approx(0, abs=0.01)
    assert (hits[0].score, hits[1].label, hits[1].score) == (0.8, "reject", 0.3)


def test_a_new_vector_is_seen_at_once(stored: list[int]) -> None:
    with session_scope() as session:
        similar_items(session, VIEWER, stored[0], k=1)  # fills the cache
        (newer,) = add_items(session, 1, start=4)
        add_document_vectors(session, ENCODER, {newer: [1, 0, 0.01]})
    with session_scope() as session:
        assert similar_items(session, VIEWER, stored[0], k=1)[0].id == newer


def test_bad_requests_get_clear_errors(stored: list[int]) -> None:
    with session_scope() as session:
        (bare,) = add_items(session, 1, start=10)
    for item_id, k, message in [(999, 5, "no item with id 999"), (stored[0], 0, "give 1 to 100"),
                                (bare, 5, "has no stored document vector yet")]:
        with session_scope() as session, pytest.raises(SimilarError, match=message):
            similar_items(session, VIEWER, item_id, k=k)
    with session_scope() as session, pytest.raises(PermissionDenied):
        similar_items(session, Actor("x", "nobody"), stored[0])


def test_cli_similar(stored: list[int]) -> None:
    code, result, _ = run_cli("similar", str(stored[0]), "--k", "2")
    assert code == 0 and result["item_id"] == stored[0]
    assert [(h["id"], h["label"]) for h in result["similar"]] == [(stored[1], None), (stored[2], "reject")]
    assert set(result["similar"][0]) >= {"id", "similarity", "title", "label"}
    code, result, _ = run_cli("similar", "999")
    assert code == 1 and "no item with id 999" in result["error"]
