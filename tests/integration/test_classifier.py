"""The classifier end to end on real databases, with a tiny random-init ModernBERT (and the
packaged MiniLM for the cold start): what a curator sees is what is asserted."""

from pathlib import Path

import pytest
from sqlalchemy import func, select

from curation.errors import ModelError
from curation.files.importing import import_file
from db.models import ModelVersion, Score
from db.session import session_scope
from models import promotion, registry
from models.base import PACKAGED_MODEL, load_base
from models.loading import load_path
from models.scoring import rescore_all, score_texts, score_unscored
from models.training import train
from tests.factories import ACCEPT_WORDS, REJECT_WORDS, labelled_rows, make_row, write_jsonl
from tests.model_fixtures import small_model_settings, tiny_modernbert  # noqa: F401

pytestmark = pytest.mark.usefixtures("small_model_settings")


def _import(tmp_path: Path, rows: list[dict], name: str = "rows.jsonl") -> None:
    with session_scope() as session:
        import_file(session, write_jsonl(tmp_path / name, rows))


def active_scorer() -> str:
    with session_scope() as session:
        return registry.scorer_description(session)


def _versions() -> int:
    with session_scope() as session:
        return session.scalar(select(func.count(ModelVersion.id)))


def test_train_save_load_score_round_trip(db_url: str, tmp_path: Path, tiny_modernbert: str) -> None:
    _import(tmp_path, labelled_rows(8, 8) + [make_row(900, None), make_row(901, None)])
    result = train(base_model=tiny_modernbert, promote=True)
    assert result["promoted"] and result["base_model"] == tiny_modernbert
    assert result["n_train"] == result["n_evaluated"] == 16 and result["folds"] == 5  # all labels, both ways
    assert set(result) >= {"accuracy", "precision", "recall", "f1"}
    folder = Path(result["path"])  # a frozen encoder is the base model: only the head is saved
    assert {p.name for p in folder.iterdir()} == {"head.safetensors", "classifier.json", "metrics.json", "README.md"}
    with session_scope() as session:
        active = registry.active_version(session)
        assert active.id == result["version_id"] and active.base_model == tiny_modernbert
        assert set(active.metrics["cv"]["confusion_matrix"]) == {"tn", "fp", "fn", "tp"}
        assert len(active.metrics["cv"]["pr_curve"]) > 1
    scored = score_unscored()  # the promotion scored the 16 stored labelled items
    assert scored["scored"] == 2 and scored["version_id"] == result["version_id"]
    assert "trained classifier" in active_scorer()
    with session_scope() as session:
        stored = {s.item_id: s for s in session.scalars(select(Score))}
    accept, reject = f"Story 0. {ACCEPT_WORDS}", f"Story 15. {REJECT_WORDS}"
    p_accept, p_reject = load_path(str(folder)).predict([accept, reject])
    assert p_accept.probability > p_reject.probability
    # stored vectors are float16: the score from the store and from the text agree to 3 decimals
    assert stored[1].probability == pytest.approx(score_texts([labelled_rows(8, 8)[0]["text"]])[0][0], abs=1e-3)
    assert all(s.passage for s in stored.values())


def test_scoring_is_incremental_and_a_promotion_rescores_everything(
    db_url: str, tmp_path: Path, tiny_modernbert: str
) -> None:
    _import(tmp_path, labelled_rows(6, 6))
    first = train(base_model=tiny_modernbert, promote=True)
    assert score_unscored()["scored"] == 0  # promotion scored the stored labelled items
    _import(tmp_path, [make_row(500, None)], name="new.jsonl")
    assert score_unscored()["scored"] == 1
    second = train(base_model=tiny_modernbert, promote=True)
    assert second["promoted"] and second["active_f1_on_same_folds"] == second["f1"]  # same recipe
    assert score_unscored()["scored"] == 0
    assert rescore_all()["scored"] == 13
    with session_scope() as session:
        per_version = dict(session.execute(
            select(Score.model_version_id, func.count()).group_by(Score.model_version_id)).all())
    assert per_version == {first["version_id"]: 13, second["version_id"]: 13}


def test_promotion_gate_refuses_a_worse_version_unless_forced_and_rollback_restores(
    home: Path, tmp_path: Path, tiny_modernbert: str
) -> None:
    from db.migrate import upgrade

    upgrade()
    _import(tmp_path, labelled_rows(6, 6))
    first = train(base_model=tiny_modernbert, promote=True)
    second = train(base_model=tiny_modernbert)
    assert not second["promoted"]
    with session_scope() as session:  # make the candidate worse than the active one on its folds
        candidate = registry.get_version(session, second["version_id"])
        candidate.metrics = {**candidate.metrics, "cv": {**candidate.metrics["cv"], "f1": -1.0},
                             "head": "another recipe"}  # so the active recipe is refit on its folds
    with pytest.raises(ModelError, match=r"cross-validated F1 -1.000, worse than the active version \d+ "
                                         r"\(\d\.\d+\) on the same folds; .* --force"):
        promotion.promote(second["version_id"])
    with session_scope() as session:
        assert registry.active_version(session).id == first["version_id"]
    promotion.promote(second["version_id"], force=True)
    with session_scope() as session:
        assert registry.active_version(session).id == second["version_id"]
        registry.rollback(session, first["version_id"])
    with session_scope() as session:
        assert registry.active_version(session).id == first["version_id"]
        assert len(registry.list_versions(session)) == 2


@pytest.mark.parametrize(("accept", "reject", "have"), [(3, 3, "have 3 accept, 3 reject"),
                                                         (8, 0, "have 8 accept, 0 reject")])
def test_too_few_or_one_class_labels_is_a_clear_error_and_writes_nothing(
    db_url: str, tmp_path: Path, tiny_modernbert: str, accept: int, reject: int, have: str
) -> None:
    _import(tmp_path, labelled_rows(accept, reject))
    with pytest.raises(ModelError) as error:
        train(base_model=tiny_modernbert)
    assert str(error.value).startswith(f"You need at least 5 labelled items of each label to train; {have}.")
    assert _versions() == 0
    assert not (Path(db_url.removeprefix("sqlite:///")).parent / "models").exists() or not any(
        (Path(db_url.removeprefix("sqlite:///")).parent / "models").glob("version-*"))


def test_cold_start_scores_by_similarity_to_labelled_examples_and_says_so(
    home: Path, tmp_path: Path
) -> None:
    from db.migrate import upgrade

    upgrade()
    rows = [
        {"text": "We deployed a large language model assistant in production for our customer support "
                 "team; latency dropped and we monitor hallucinations.", "answer": "accept",
         "meta": {"url": "https://a.example/1"}},
        {"text": "A recipe for a lemon cake with butter, sugar and eggs, baked for forty minutes.",
         "answer": "reject", "meta": {"url": "https://b.example/1"}},
        {"text": "Our engineering team shipped an LLM-powered search feature to millions of users and "
                 "measured the impact in production.", "meta": {"url": "https://a.example/2"}},
        {"text": "How to bake bread at home: flour, water, yeast and salt, then let it rise.",
         "meta": {"url": "https://b.example/2"}},
    ]
    _import(tmp_path, rows)
    result = score_unscored()
    assert result["scored"] == 4 and result["scorer"].startswith("cold start")
    assert result["base_model"] == PACKAGED_MODEL
    with session_scope() as session:
        probabilities = dict(session.execute(select(Score.item_id, Score.probability)).all())
    assert probabilities[3] > 0.5 > probabilities[4]
    assert "cold start" in active_scorer()


def test_no_labels_at_all_is_a_clear_error(home: Path) -> None:
    from db.migrate import upgrade

    upgrade()
    with pytest.raises(ModelError, match="no scorer yet: label at least one item of each label"):
        score_unscored()


def test_an_unloadable_base_model_falls_back_to_the_packaged_one_and_says_so() -> None:
    base = load_base("no-such-org/no-such-model")
    assert base.name == PACKAGED_MODEL
    assert "'no-such-org/no-such-model' could not be loaded" in base.note and PACKAGED_MODEL in base.note


def test_evidence_late_in_a_long_document_counts_and_is_the_passage(
    tiny_modernbert: str, tmp_path: Path
) -> None:
    import numpy as np

    from models.classifier import ClassifierConfig, WindowClassifier, head_input
    from models.crossval import fit_head
    from models.training import set_head

    base = load_base(tiny_modernbert)
    model = WindowClassifier(base.encoder, base.tokenizer, ClassifierConfig(tiny_modernbert, 16, 4, "accept", "reject"))
    rows = labelled_rows(8, 8)
    vectors = np.stack([head_input(model.embed_sorted([w.input_ids for w in model.windows(r["text"])], 8))
                        .detach().numpy() for r in rows])
    set_head(model, fit_head(vectors, np.array([int(r["answer"] == "accept") for r in rows])))
    filler = " ".join(["the quarterly report repeats the same numbers as before"] * 80)  # > 600 tokens
    assert len(model.windows(filler)) > 40
    with_evidence, with_counter = model.predict([f"{filler} {ACCEPT_WORDS}", f"{filler} {REJECT_WORDS}"])
    assert with_evidence.probability > with_counter.probability
    assert "deployed" in with_evidence.passage


def test_fine_tuning_the_encoder_changes_it_and_the_saved_model_scores(
    db_url: str, tmp_path: Path, tiny_modernbert: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import torch
    from safetensors.torch import load_file

    from curation.settings import get_settings

    monkeypatch.setenv("CURATION_TRAIN_ENCODER", "always")
    get_settings.cache_clear()
    _import(tmp_path, labelled_rows(6, 6))
    result = train(base_model=tiny_modernbert, promote=True)
    assert result["encoder_trained"]
    before = load_file(Path(tiny_modernbert) / "model.safetensors")
    after = load_file(Path(result["path"]) / "model.safetensors")
    changed = [k for k, v in after.items() if f"model.{k}" in before and not torch.equal(v, before[f"model.{k}"])]
    assert changed
    assert score_unscored()["scored"] == 12


def test_memory_saver_scores_with_an_int8_encoder(
    db_url: str, tmp_path: Path, tiny_modernbert: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import torch

    from curation.settings import get_settings

    _import(tmp_path, labelled_rows(6, 6))
    path = train(base_model=tiny_modernbert)["path"]
    monkeypatch.setenv("CURATION_MEMORY_SAVER", "1")
    get_settings.cache_clear()
    model = load_path(path)
    assert any(isinstance(m, torch.ao.nn.quantized.dynamic.Linear) for m in model.encoder.modules())
    with_evidence, with_counter = model.predict([f"Story 1. {ACCEPT_WORDS}", f"Story 2. {REJECT_WORDS}"])
    assert 0 <= with_counter.probability <= 1 and "deployed" in with_evidence.passage


def test_bfloat16_scores_match_float32_and_float32_can_be_forced(
    db_url: str, tmp_path: Path, tiny_modernbert: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import torch

    from curation.settings import get_settings

    _import(tmp_path, labelled_rows(6, 6))
    path = train(base_model=tiny_modernbert)["path"]
    texts = [f"Story 1. {ACCEPT_WORDS}", f"Story 2. {REJECT_WORDS}"]
    scores = {}
    for dtype in ("float32", "bfloat16"):
        monkeypatch.setenv("CURATION_COMPUTE_DTYPE", dtype)
        get_settings.cache_clear()
        load_path.cache_clear()
        model = load_path(path)
        assert model.autocast == (torch.bfloat16 if dtype == "bfloat16" else None)
        scores[dtype] = [p.probability for p in model.predict(texts)]
    assert scores["float32"] != scores["bfloat16"]  # the arithmetic really changed...
    assert scores["float32"] == pytest.approx(scores["bfloat16"], abs=0.01)  # ...and the verdicts did not
