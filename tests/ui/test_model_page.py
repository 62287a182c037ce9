import json
from pathlib import Path

from sqlalchemy import select

from db.models import AuditEntry, Job, ModelVersion
from db.session import session_scope
from tests.factories import add_active_model, add_items, chart_titles, charts, shown
from tests.model_fixtures import small_model_settings, tiny_modernbert  # noqa: F401

HOLDOUT = {"f1": 0.8, "precision": 0.75, "recall": 0.86, "accuracy": 0.8,
           "confusion_matrix": {"tp": 6, "fn": 1, "fp": 2, "tn": 6},
           "pr_curve": [{"threshold": 0.3, "precision": 0.7, "recall": 1.0},
                        {"threshold": 0.6, "precision": 0.9, "recall": 0.6}]}


def _versions(session, holdouts: list[dict], folder: Path) -> list[int]:
    ids = []
    for n, holdout in enumerate(holdouts):
        (folder / f"v{n}").mkdir(parents=True)
        version = ModelVersion(base_model="packaged MiniLM", n_train=20 + n, metrics={"holdout": holdout},
                               path=str(folder / f"v{n}"), status="trained", active=False)
        session.add(version)
        session.flush()
        ids.append(version.id)
    return ids


def test_model_page_empty_state_and_retrain_queues_one_job(open_page) -> None:
    app = open_page("pages/model.py")
    assert "No model versions yet" in app.info[1].value
    app.button[0].click().run()
    app.button[0].click().run()
    with session_scope() as session:
        jobs = session.execute(select(Job.kind, Job.params)).all()
    assert jobs == [("train", {"promote": True})]
    assert "is already training" in app.success[0].value


def test_model_page_draws_metrics_and_rolls_back(open_page, tmp_path: Path) -> None:
    with session_scope() as session:
        (item,) = add_items(session, 1)
        old, = _versions(session, [HOLDOUT | {"f1": 0.7}], tmp_path / "old")
        active = add_active_model(session, {item: 0.9})
        session.get_one(ModelVersion, active).metrics = {"holdout": HOLDOUT}
        newest, = _versions(session, [HOLDOUT | {"f1": 0.6}], tmp_path / "new")
    app = open_page("pages/model.py")
    assert "holdout F1 0.80" in shown(app.info[0].value)
    assert chart_titles(app) == ["Cross-validated metrics per version", "Precision-recall, out of fold",
                                 "Scores of the active model", "Confusion matrix, out of fold"]
    versions, curve, scores, matrix = charts(app)
    assert [row["f1"] for row in versions["rows"]] == [0.7, 0.8, 0.6]
    assert curve["rows"] == HOLDOUT["pr_curve"] and "threshold" in json.dumps(curve["encoding"]["tooltip"])
    assert sum(row["items"] for row in scores["rows"]) == 1
    assert [row["items"] for row in matrix["rows"]] == [6, 1, 2, 6]  # tp fn / fp tn, as a user reads it
    assert list(app.table[0].value["version"]) == [newest, active]  # newest beside the active one
    app.selectbox[0].set_value(old).run()
    next(b for b in app.button if b.label == "Roll back to it").click().run()
    with session_scope() as session:
        assert session.scalar(select(ModelVersion.id).where(ModelVersion.active.is_(True))) == old
        audit = session.scalars(select(AuditEntry.action)).all()
    assert audit == ["rollback"]


def test_model_page_draws_the_train_curve_from_stored_vectors(
    open_page, tmp_path: Path, tiny_modernbert: str, small_model_settings: None, monkeypatch
) -> None:
    from curation.files.importing import import_file
    from curation.settings import get_settings
    from models import embeddings
    from tests.factories import labelled_rows, write_jsonl

    monkeypatch.setenv("CURATION_BASE_MODEL", tiny_modernbert)
    get_settings.cache_clear()
    embeddings.default_encoder.cache_clear()
    with session_scope() as session:
        import_file(session, write_jsonl(tmp_path / "rows.jsonl", labelled_rows(6, 6)))
    app = open_page("pages/model.py")
    next(b for b in app.button if b.label == "Draw the train curve").click().run()
    assert not app.exception, app.exception
    assert chart_titles(app)[0] == "Cross-validated F1 at 25/50/75/100% of the labels"
    curve = charts(app)[0]
    assert [row["n_labels"] for row in curve["rows"]] == [3, 6, 9, 12]
    assert [layer["mark"]["type"] for layer in curve["layer"]] == ["line", "errorbar"]
