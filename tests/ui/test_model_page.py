from pathlib import Path

from sqlalchemy import select

from db.models import AuditEntry, Job, ModelVersion
from db.session import session_scope
from tests.factories import add_active_model, add_items, shown

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
    assert len(app.get("plotly_chart")) == 4
    assert list(app.dataframe[0].value["version"]) == [newest, active]  # newest beside the active one
    app.selectbox[0].set_value(old).run()
    [b for b in app.button if b.label == "Roll back to it"][0].click().run()
    with session_scope() as session:
        assert session.scalar(select(ModelVersion.id).where(ModelVersion.active.is_(True))) == old
        audit = session.scalars(select(AuditEntry.action)).all()
    assert audit == ["rollback"]
