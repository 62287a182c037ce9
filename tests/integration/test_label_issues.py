"""Label issues: cleanlab on out-of-fold probabilities of the stored vectors."""

from pathlib import Path

import pytest

from curation.accounts.permissions import Actor
from curation.enums import Role
from curation.errors import LabelIssueError
from curation.files.importing import import_file
from curation.settings import get_settings
from curation.triage.label_issues import label_issues
from db.session import session_scope
from models import embeddings
from tests.factories import labelled_rows, write_jsonl
from tests.model_fixtures import small_model_settings, tiny_modernbert  # noqa: F401

pytestmark = pytest.mark.usefixtures("small_model_settings")
VIEWER = Actor("vic", Role.VIEWER)


@pytest.fixture
def encoder(tiny_modernbert: str, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811 (the fixture)
    monkeypatch.setenv("CURATION_BASE_MODEL", tiny_modernbert)
    get_settings.cache_clear()
    embeddings.default_encoder.cache_clear()


def _import(tmp_path: Path, rows: list[dict]) -> None:
    with session_scope() as session:
        import_file(session, write_jsonl(tmp_path / "rows.jsonl", rows))


def test_a_flipped_label_is_listed_with_its_curator_and_reason(db_url: str, tmp_path: Path, encoder: None) -> None:
    rows = labelled_rows(8, 8)
    rows[0]["answer"] = "reject"  # an accept-worded story labelled reject
    _import(tmp_path, rows)
    with session_scope() as session:
        issues = label_issues(session, VIEWER)
    assert issues and issues[0].title == "Story 0"
    assert (issues[0].label, issues[0].curator) == ("reject", "import")
    assert "labelled reject by import" in issues[0].reason


def test_labels_of_one_kind_only_get_a_clear_message(db_url: str, tmp_path: Path, encoder: None) -> None:
    _import(tmp_path, labelled_rows(5, 0))
    with session_scope() as session, pytest.raises(LabelIssueError, match="labels of both kinds.*at least 2"):
        label_issues(session, VIEWER)


def test_a_label_waiting_for_its_second_curator_is_listed_only_for_those_who_may_see_it(
        db_url: str, tmp_path: Path, encoder: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CURATION_OVERLAP", "1")  # every item waits for a curator after import's label
    get_settings.cache_clear()
    rows = labelled_rows(8, 8)
    rows[0]["answer"] = "reject"
    _import(tmp_path, rows)
    with session_scope() as session:
        assert label_issues(session, VIEWER) == []
        issues = label_issues(session, Actor("lee", Role.LEAD))
    assert issues and issues[0].title == "Story 0"
