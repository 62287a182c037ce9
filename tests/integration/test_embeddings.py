"""The embedding store on real databases: each text is embedded once per encoder, survives a
restart, is embedded again when its text changes, and a worker killed mid-way loses nothing."""

import logging
import os
import signal
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import func, select, update

from curation.accounts.permissions import LOCAL_ADMIN
from curation.errors import ModelError
from curation.files.importing import import_file
from curation.settings import get_settings
from curation.triage.queue import decide
from db.models import Embedding, Item, Score
from db.session import reset_caches, session_scope
from models import crossval, embeddings, vectors
from models.classifier import WindowClassifier
from models.scoring import rescore_all, score_unscored
from models.training import train
from tests.factories import REPO, labelled_rows, make_row, write_jsonl
from tests.model_fixtures import small_model_settings, tiny_modernbert  # noqa: F401

pytestmark = pytest.mark.usefixtures("small_model_settings")


class Interrupted(Exception):
    pass


@pytest.fixture
def encoder(tiny_modernbert: str, monkeypatch: pytest.MonkeyPatch) -> WindowClassifier:
    monkeypatch.setenv("CURATION_BASE_MODEL", tiny_modernbert)
    get_settings.cache_clear()
    embeddings.default_encoder.cache_clear()
    return embeddings.default_encoder()


@pytest.fixture
def encoded_texts(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many windows each encoder call read, to count what ran the encoder."""
    calls: list[int] = []
    original = WindowClassifier.embed_sorted

    def counting(self: WindowClassifier, windows: list[list[int]], batch_size: int):  # type: ignore[no-untyped-def]
        calls.append(len(windows))
        return original(self, windows, batch_size)
    monkeypatch.setattr(WindowClassifier, "embed_sorted", counting)
    return calls


def _import(tmp_path: Path, rows: list[dict], name: str = "rows.jsonl") -> None:
    with session_scope() as session:
        import_file(session, write_jsonl(tmp_path / name, rows))


def _stored() -> int:
    with session_scope() as session:
        return session.scalar(select(func.count(Embedding.id)))


def test_each_text_is_embedded_once_and_read_back_after_a_restart(
    db_url: str, tmp_path: Path, encoder: WindowClassifier, encoded_texts: list[int]
) -> None:
    _import(tmp_path, labelled_rows(3, 3))
    assert embeddings.embed_missing(encoder)["embedded"] == 6 and encoded_texts
    encoded_texts.clear()
    assert embeddings.embed_missing(encoder)["embedded"] == 0 and encoded_texts == []
    reset_caches()  # a new process: nothing but the database is kept
    with session_scope() as session:
        ids, matrix = vectors.document_matrix(session)
        by_id = vectors.document_vectors(session, [int(ids[0]), 999])
    assert ids.tolist() == [1, 2, 3, 4, 5, 6] and ids.dtype == np.int64
    assert matrix.dtype == np.float16 and matrix.shape == (6, 32)
    assert np.allclose(np.linalg.norm(matrix.astype(np.float32), axis=1), 1.0, atol=1e-2)
    assert list(by_id) == [1] and np.array_equal(by_id[1], matrix[0])


def test_a_changed_text_is_embedded_again(db_url: str, tmp_path: Path, encoder: WindowClassifier) -> None:
    _import(tmp_path, [make_row(1, None)])
    embeddings.embed_missing(encoder)
    with session_scope() as session:
        session.execute(update(Item).values(text="A different text now.", content_hash="changed"))
    assert embeddings.embed_missing(encoder)["embedded"] == 1
    with session_scope() as session:
        assert set(session.scalars(select(Embedding.content_hash))) == {"changed", session.scalar(
            select(Embedding.content_hash).where(Embedding.content_hash != "changed"))}
        stored = vectors.read_stored(session, encoder.encoder_identity, [1])
    assert stored[1].spans[-1][1] <= len("A different text now.")


def test_a_worker_killed_mid_embedding_loses_nothing_and_the_next_resumes(
    db_url: str, tmp_path: Path, encoder: WindowClassifier, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(embeddings, "CHUNK_DOCS", 2)
    _import(tmp_path, labelled_rows(3, 3))

    def die_after_first_chunk(done: int, total: int | None, message: str) -> None:
        raise Interrupted
    with pytest.raises(Interrupted):
        embeddings.embed_missing(encoder, progress=die_after_first_chunk)
    assert _stored() == 2
    assert embeddings.embed_missing(encoder)["embedded"] == 4 and _stored() == 6


def test_a_corrupt_stored_embedding_is_recomputed_with_a_logged_reason(
    db_url: str, tmp_path: Path, encoder: WindowClassifier, caplog: pytest.LogCaptureFixture
) -> None:
    _import(tmp_path, labelled_rows(2, 2))
    embeddings.embed_missing(encoder)
    with session_scope() as session:
        good = vectors.read_stored(session, encoder.encoder_identity, [1])[1]
        session.execute(update(Embedding).where(Embedding.id == 1).values(windows=b"\x00\x01"))
    with caplog.at_level(logging.WARNING, logger="models.vectors"), session_scope() as session:
        stored = embeddings.stored_for(session, encoder, [1, 2, 3, 4])
    assert "stored embedding 1 cannot be read (windows holds 2 bytes, expected" in caplog.text
    assert set(stored) == {1, 2, 3, 4} and np.array_equal(stored[1].windows, good.windows)
    assert _stored() == 4


def test_another_encoder_identity_never_reads_these_vectors(
    db_url: str, tmp_path: Path, encoder: WindowClassifier, monkeypatch: pytest.MonkeyPatch
) -> None:
    _import(tmp_path, [make_row(1, None)])
    embeddings.embed_missing(encoder)
    monkeypatch.setenv("CURATION_WINDOW_TOKENS", "24")
    get_settings.cache_clear()
    embeddings.default_encoder.cache_clear()
    other = embeddings.default_encoder()
    assert other.encoder_identity != encoder.encoder_identity
    assert embeddings.embed_missing(other)["embedded"] == 1 and _stored() == 2


def test_out_of_fold_predicts_every_label_with_a_head_that_never_saw_it(
    db_url: str, tmp_path: Path, encoder: WindowClassifier
) -> None:
    copy = {**labelled_rows(6, 6)[0], "text": labelled_rows(6, 6)[0]["text"] + " A copy."}
    _import(tmp_path, labelled_rows(6, 6) + [make_row(900, None)])
    _import(tmp_path, [copy], name="copy.jsonl")  # same URL: one item, relabelled
    with session_scope() as session:
        oof = crossval.out_of_fold(session)
    assert oof.item_ids.tolist() == list(range(1, 13)) and oof.y.tolist() == [1] * 6 + [0] * 6
    assert oof.curators == ["import"] * 12 and len(set(oof.folds.tolist())) == 5
    assert ((oof.probabilities > 0) & (oof.probabilities < 1)).all()


def test_out_of_fold_with_too_few_labels_says_what_to_do(db_url: str, tmp_path: Path,
                                                       encoder: WindowClassifier) -> None:
    _import(tmp_path, labelled_rows(3, 1))
    with pytest.raises(ModelError, match="needs at least 2 labelled items of each label; the rarest label has 1"):
        with session_scope() as session:
            crossval.out_of_fold(session)


def test_the_second_cycle_runs_the_encoder_on_no_stored_document(
    db_url: str, tmp_path: Path, encoder: WindowClassifier, encoded_texts: list[int], tiny_modernbert: str
) -> None:
    _import(tmp_path, labelled_rows(6, 6) + [make_row(900, None), make_row(901, None)])
    first = train(base_model=tiny_modernbert, promote=True)
    score_unscored()
    assert first["promoted"] and encoded_texts  # the first cycle embedded every document once
    encoded_texts.clear()
    with session_scope() as session:
        decide(session, LOCAL_ADMIN, 13, "accept")
        decide(session, LOCAL_ADMIN, 14, "reject")
    second = train(base_model=tiny_modernbert, promote=True, force=True)
    rescore_all()
    assert second["promoted"] and second["n_train"] == 14
    assert encoded_texts == []


def test_ingest_while_training_embeds_each_new_text_once(
    db_url: str, tmp_path: Path, encoder: WindowClassifier, tiny_modernbert: str
) -> None:
    _import(tmp_path, labelled_rows(6, 6))
    with ThreadPoolExecutor(2) as pool:
        trained = pool.submit(train, base_model=tiny_modernbert, promote=True)
        for n in range(3):
            _import(tmp_path, [make_row(700 + n, None)], name=f"new{n}.jsonl")
            pool.submit(embeddings.embed_missing, encoder).result()
        assert trained.result()["promoted"]
    score_unscored()  # whatever the promotion did not find stored yet
    with session_scope() as session:
        assert session.scalar(select(func.count()).select_from(Score)) == 15
        assert session.scalar(select(func.count(Embedding.id))) == 15
        assert session.scalar(select(func.count(func.distinct(Embedding.content_hash)))) == 15


KILLED_MID_EMBEDDING = """
import os, signal
from models import embeddings
embeddings.CHUNK_DOCS = 2
def die(done, total, message):
    os.kill(os.getpid(), signal.SIGKILL)  # no cleanup, no rollback handler: a real crash
embeddings.embed_missing(embeddings.default_encoder(), progress=die)
"""


def test_a_process_killed_mid_embedding_keeps_its_committed_chunk(
    home: Path, tmp_path: Path, encoder: WindowClassifier, tiny_modernbert: str
) -> None:
    """SQLite only: a real SIGKILL of a process in the middle of embedding."""
    from db.migrate import upgrade

    upgrade()
    _import(tmp_path, labelled_rows(3, 3))
    env = {**os.environ, "CURATION_BASE_MODEL": tiny_modernbert}
    killed = subprocess.run([sys.executable, "-c", KILLED_MID_EMBEDDING], cwd=REPO, env=env, timeout=300)
    assert killed.returncode == -signal.SIGKILL
    assert _stored() == 2
    assert embeddings.embed_missing(encoder)["embedded"] == 4 and _stored() == 6
