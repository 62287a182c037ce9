"""Large files, written in many chunks, are still one import and one transaction: a bad row or a
conflict anywhere writes nothing and names its line, and a row late in the file still reaches an
item written chunks before it."""

from pathlib import Path

import pytest
from sqlalchemy import func, select

from curation.errors import ImportFileError
from curation.files.importing import CHUNK, import_file
from db.models import Decision, Item
from db.session import session_scope
from tests.factories import make_row, write_jsonl

ROWS = 4 * CHUNK + 500  # several chunks of inserts and near-duplicate checks
STORY = ("We moved our support assistant to production in May. Latency fell from eleven seconds "
         "to two after we cached retrieval results and trimmed the prompt. Customers rated the "
         "answers higher, and the on-call team saw fewer escalations during the rollout. ") * 3


def _rows(n: int = ROWS) -> list:
    return [make_row(i, words=5) for i in range(1, n + 1)]


def _counts() -> tuple[int, int]:
    with session_scope() as session:
        return session.scalar(select(func.count(Item.id))), session.scalar(select(func.count(Decision.id)))


def test_a_bad_row_late_in_a_large_file_names_its_line_and_writes_nothing(db_url: str, tmp_path: Path) -> None:
    with session_scope() as session:
        import_file(session, write_jsonl(tmp_path / "first.jsonl", [make_row(100_000)]))
    rows = _rows()
    rows[ROWS - 7] = "{not json"
    rows[ROWS - 2] = {"text": "fine", "answer": "maybe"}
    path = write_jsonl(tmp_path / "rows.jsonl", rows)
    with pytest.raises(ImportFileError) as error, session_scope() as session:
        import_file(session, path)
    message = str(error.value)
    assert message.startswith("2 invalid row(s), nothing imported")
    assert f"{path}:{ROWS - 6}: invalid JSON" in message
    assert f"{path}:{ROWS - 1}: answer: unknown label 'maybe'" in message
    assert _counts() == (1, 1)


def test_a_failed_large_import_leaves_the_session_as_it_was(db_url: str, tmp_path: Path) -> None:
    rows = _rows()
    rows[-1] = {"text": ""}
    with session_scope() as session:
        import_file(session, write_jsonl(tmp_path / "first.jsonl", [make_row(100_000)]))
        with pytest.raises(ImportFileError, match=f":{ROWS}: text: text is empty"):
            import_file(session, write_jsonl(tmp_path / "rows.jsonl", rows))
        assert session.scalar(select(func.count(Item.id))) == 1
    assert _counts() == (1, 1)


def test_skip_invalid_in_a_large_file_imports_the_rest_and_lists_the_lines(db_url: str, tmp_path: Path) -> None:
    rows = _rows()
    rows[9] = rows[ROWS - 1] = "[1, 2]"
    with session_scope() as session:
        result = import_file(session, write_jsonl(tmp_path / "rows.jsonl", rows), skip_invalid=True)
    assert [e.line for e in result.skipped] == [10, ROWS]
    assert result.imported == ROWS - 2 and _counts() == (ROWS - 2, ROWS - 2)


def test_conflicting_labels_far_apart_in_a_large_file_write_nothing(db_url: str, tmp_path: Path) -> None:
    rows = _rows() + [make_row(3, "reject", words=5)]
    with pytest.raises(ImportFileError) as refused, session_scope() as session:
        import_file(session, write_jsonl(tmp_path / "rows.jsonl", rows))
    assert f"the item of line 3: line 3 says 'accept', line {ROWS + 1} says 'reject'" in str(refused.value)
    assert _counts() == (0, 0)


def test_a_header_only_row_filled_late_in_a_large_file_gets_the_text_and_its_repost_links_to_it(
    db_url: str, tmp_path: Path
) -> None:
    rows = _rows()
    rows[4] = {"text": "Support assistant\n\nhttps://example.com/story\n\n", "meta": {}, "answer": None}
    rows[ROWS - 20] = {"text": STORY, "meta": {"url": "https://example.com/story"}, "answer": "accept"}
    rows[ROWS - 10] = {"text": "Reposted. " + STORY, "meta": {"url": "https://other.com/story"}, "answer": None}
    with session_scope() as session:
        result = import_file(session, write_jsonl(tmp_path / "rows.jsonl", rows))
        story = session.execute(select(Item.id, Item.text, Item.fetch_status)
                                .where(Item.canonical_url == "https://example.com/story")).one()
        repost = session.scalar(select(Item.near_duplicate_of).where(Item.canonical_url == "https://other.com/story"))
        first_ids = session.scalars(select(Item.id).order_by(Item.id).limit(6)).all()
    assert result.imported == ROWS - 1 and result.filled == 0
    assert f"line {ROWS - 19}: duplicate of item {story.id} (same URL as line 5): label added; text filled in" in result.lines
    assert story.text == STORY and story.fetch_status == "ok"
    assert repost == story.id
    assert first_ids.index(story.id) == 4  # ids still follow the file's order
