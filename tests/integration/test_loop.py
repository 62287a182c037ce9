"""The learning loop on real databases: a decision queues one refit, the refit re-ranks the queue
from stored vectors, a burst of decisions costs one more fit, and new items get scored by the
worker without a button."""

from pathlib import Path

import pytest
from sqlalchemy import func, select

from curation.accounts.permissions import LOCAL_ADMIN
from curation.enums import JobKind
from curation.files.importing import import_file
from curation.pipeline import score_new_items
from curation.settings import get_settings
from curation.triage.queue import decide
from db.models import Job, Score
from db.session import session_scope
from models import embeddings, registry
from models.training import refit, train
from tests.factories import labelled_rows, make_row, run_cli, write_jsonl
from tests.model_fixtures import small_model_settings, tiny_modernbert  # noqa: F401

pytestmark = pytest.mark.usefixtures("small_model_settings")


@pytest.fixture(autouse=True)
def tiny_default(tiny_modernbert: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CURATION_BASE_MODEL", tiny_modernbert)
    get_settings.cache_clear()
    embeddings.default_encoder.cache_clear()


def _import(tmp_path: Path, rows: list[dict], name: str = "rows.jsonl") -> None:
    with session_scope() as session:
        import_file(session, write_jsonl(tmp_path / name, rows))


def _scores(version_id: int) -> dict[int, float]:
    with session_scope() as session:
        return dict(session.execute(select(Score.item_id, Score.probability)
                                    .where(Score.model_version_id == version_id)).all())


def test_a_decision_queues_one_refit_that_rescores_every_item_with_all_labels(
    db_url: str, tmp_path: Path
) -> None:
    _import(tmp_path, labelled_rows(6, 6) + [make_row(900, None), make_row(901, None)])
    assert score_new_items()["embedded"] == 14  # no model yet: embedded, ready for the first fit
    first = train(promote=True)
    with session_scope() as session:
        decide(session, LOCAL_ADMIN, 13, "accept")
    with session_scope() as session:
        decide(session, LOCAL_ADMIN, 14, "reject")
    with session_scope() as session:  # the burst folded into one queued refit
        assert session.scalar(select(func.count(Job.id)).where(Job.kind == JobKind.REFIT)) == 1
    result = refit()
    assert result["refit"] and result["runs"] == 1 and result["n_train"] == 14 and result["promoted"]
    with session_scope() as session:
        active = registry.active_version(session)
        assert active.id == result["version_id"] != first["version_id"]
        assert active.metrics["trigger"] == "decision" and active.metrics["cv"]["n"] == 14
        passages = list(session.scalars(select(Score.passage).where(Score.model_version_id == active.id)))
    assert len(_scores(active.id)) == 14 and all(passages)
    assert len(_scores(first["version_id"])) == 14  # a requested version keeps its scores for rollback
    again = refit()
    assert len(_scores(result["version_id"])) == 0  # a refit's scores go when the next replaces it
    assert len(_scores(again["version_id"])) == 14


def test_decisions_during_a_refit_are_picked_up_before_it_ends(db_url: str, tmp_path: Path) -> None:
    _import(tmp_path, labelled_rows(6, 6) + [make_row(900, None)])
    train(promote=True)
    decided = []

    def decide_meanwhile(done: int, total: int | None, message: str) -> None:
        if not decided:
            decided.append(True)
            with session_scope() as session:
                decide(session, LOCAL_ADMIN, 13, "accept")
    result = refit(progress=decide_meanwhile)
    assert result["runs"] == 2 and result["n_train"] == 13


def test_before_enough_labels_a_refit_keeps_the_cold_start_current(db_url: str, tmp_path: Path) -> None:
    _import(tmp_path, labelled_rows(1, 1) + [make_row(900, None)])
    result = refit()
    assert not result["refit"] and "You need at least 5 labelled items" in result["reason"]
    assert result["cold_start"]["scorer"].startswith("cold start")
    with session_scope() as session:
        active_id = registry.active_version(session).id
    assert len(_scores(active_id)) == 3


def test_train_curve_from_the_command_line(home: Path, tmp_path: Path, tiny_modernbert: str) -> None:
    """SQLite only: the command loads torch in a fresh process."""
    env = {"CURATION_BASE_MODEL": tiny_modernbert}
    rows = write_jsonl(tmp_path / "rows.jsonl", labelled_rows(8, 8))
    assert run_cli("init", env=env)[0] == 0 and run_cli("import", str(rows), env=env)[0] == 0
    code, out, err = run_cli("train-curve", env=env)
    assert code == 0, err
    assert [p["fraction"] for p in out["points"]] == [0.25, 0.5, 0.75, 1.0]
    assert [p["n_labels"] for p in out["points"]] == [4, 8, 12, 16]
    assert all(0 <= p["f1_mean"] <= 1 and p["f1_std"] >= 0 for p in out["points"])


def test_the_score_job_scores_new_items_with_the_active_model_from_the_store(db_url: str, tmp_path: Path) -> None:
    from curation.jobs import kinds

    _import(tmp_path, labelled_rows(6, 6))
    version = train(promote=True)["version_id"]
    _import(tmp_path, [make_row(900, None), make_row(901, None)], name="new.jsonl")
    result = kinds.score({}, lambda done, total, message: None)
    assert result["scored"] == 2 and result["version_id"] == version
    with session_scope() as session:
        passages = session.scalars(select(Score.passage).where(Score.item_id.in_([13, 14])))
        assert all("word9" in p for p in passages)
