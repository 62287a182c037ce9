import csv
from pathlib import Path

import pytest
from sqlalchemy import select

from curation.accounts.permissions import LOCAL_ADMIN
from curation.corpus.stats import collection_stats
from curation.errors import ImportFileError
from curation.files.exporting import export_items
from curation.files.importing import import_file
from db.models import Decision, Item
from db.session import session_scope
from tests.factories import make_row, write_csv, write_jsonl


def _import(path: Path, **kwargs):
    with session_scope() as session:
        return import_file(session, path, **kwargs)


def _items() -> list[tuple]:
    with session_scope() as session:
        return session.execute(
            select(Item.canonical_url, Item.title, Item.text, Item.content_hash).order_by(Item.id)
        ).all()


def _labels() -> dict:
    with session_scope() as session:
        return collection_stats(session, LOCAL_ADMIN)["labels"]


def test_import_strips_header_and_records_labels_as_import_decisions(db_url: str, tmp_path: Path) -> None:
    row = {"text": "Scaling Search\n\nhttps://e.com/s\n\nWe deployed an LLM.", "meta": {}, "answer": "accept"}
    result = _import(write_jsonl(tmp_path / "a.jsonl", [row, make_row(2, None)]))
    assert (result.imported, result.labelled) == (2, 1)
    with session_scope() as session:
        item = session.scalars(select(Item).order_by(Item.id)).first()
        decision = session.scalars(select(Decision)).one()
    assert (item.title, item.canonical_url, item.text) == ("Scaling Search", "https://e.com/s", "We deployed an LLM.")
    assert (decision.curator, decision.label) == ("import", "accept")


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_export_then_import_reproduces_items_and_labels(db_url: str, tmp_path: Path, fmt: str) -> None:
    header_only = {"text": "Only A Title\n\nhttps://e.com/empty\n\n", "meta": {}, "answer": "reject"}
    rows = [make_row(1), make_row(2, "reject", published_date="2024-07-29", author="Ann"),
            make_row(3, None), header_only]
    _import(write_jsonl(tmp_path / "in.jsonl", rows))
    before_items, before_labels = _items(), _labels()
    out = tmp_path / f"out.{fmt}"
    with session_scope() as session:
        assert export_items(session, out, fmt) == 4
    with session_scope() as session:
        session.execute(Decision.__table__.delete())
        session.execute(Item.__table__.delete())
    _import(out)
    assert _items() == before_items
    assert _labels() == before_labels == {"accept": 1, "reject": 2}


def test_duplicates_by_url_and_by_content_are_counted_not_imported(db_url: str, tmp_path: Path) -> None:
    same_url = make_row(1) | {"text": "different words entirely"}
    same_url["meta"] = {"url": "HTTPS://EXAMPLE.com/posts/1/?utm_source=feed#top"}
    same_text = make_row(1) | {"meta": {"url": "https://mirror.example.org/copy"}}
    result = _import(write_jsonl(tmp_path / "a.jsonl", [make_row(1), same_url, same_text, make_row(2)]))
    assert (result.imported, result.duplicates) == (2, 2)
    again = _import(write_jsonl(tmp_path / "b.jsonl", [make_row(2), make_row(3)]))
    assert (again.imported, again.duplicates) == (1, 1)
    assert len(_items()) == 3


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        ("{broken", "invalid JSON"),
        ({"meta": {"url": "https://e.com/x"}}, "text: Field required"),
        ({"text": "words", "answer": "maybe"}, "unknown label 'maybe'; expected one of accept, reject"),
        ({"text": ["not", "text"]}, "text: Input should be a valid string"),
    ],
)
def test_a_bad_line_fails_the_whole_import_and_writes_nothing(
    db_url: str, tmp_path: Path, bad, reason: str
) -> None:
    _import(write_jsonl(tmp_path / "first.jsonl", [make_row(100)]))
    path = write_jsonl(tmp_path / "rows.jsonl", [make_row(1), make_row(2), bad, make_row(4)])
    with pytest.raises(ImportFileError) as error:
        _import(path)
    assert f"{path}:3: " in str(error.value) and reason in str(error.value)
    assert "--skip-invalid" in str(error.value)
    assert len(_items()) == 1


def test_skip_invalid_imports_the_rest_and_lists_every_skipped_line(db_url: str, tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "rows.jsonl", [make_row(1), "{x", make_row(3), {"text": ""}])
    result = _import(path, skip_invalid=True)
    assert result.imported == 2
    assert [e.line for e in result.skipped] == [2, 4]


def test_csv_with_meta_columns_imports_like_jsonl(db_url: str, tmp_path: Path) -> None:
    path = tmp_path / "flat.csv"
    path.write_text('text,url,title,answer\n"Body of a post",https://e.com/p,Flat,reject\n')
    assert _import(path).labelled == 1
    assert _items()[0][:2] == ("https://e.com/p", "Flat")
    bad = write_csv(tmp_path / "bad.csv", [make_row(5), {"text": "x", "answer": "yes"}])
    with pytest.raises(ImportFileError, match=r"bad.csv:3: answer: unknown label 'yes'"):
        _import(bad)


def test_a_password_in_an_imported_url_is_not_stored(db_url: str, tmp_path: Path) -> None:
    row = make_row(1, url="https://reader:hunter2@example.com/posts/1")
    _import(write_jsonl(tmp_path / "a.jsonl", [row, make_row(2, url="https://example.com/posts/1")]))
    with session_scope() as session:
        stored = session.execute(select(Item.url, Item.canonical_url)).all()
    assert stored == [("https://example.com/posts/1", "https://example.com/posts/1")]


def _current() -> dict:
    from curation.triage.labels import current_labels

    labels = current_labels()
    with session_scope() as session:
        return {url: (label, curator) for url, label, curator in session.execute(
            select(Item.canonical_url, labels.c.label, labels.c.curator)
            .join(labels, labels.c.item_id == Item.id))}


def _decision_count() -> int:
    with session_scope() as session:
        return len(session.scalars(select(Decision.id)).all())


def test_a_labelled_duplicate_of_an_unlabelled_row_keeps_its_label(db_url: str, tmp_path: Path) -> None:
    copy = make_row(1, "accept", url="https://example.com/posts/1?utm_source=feed")
    result = _import(write_jsonl(tmp_path / "a.jsonl", [make_row(1, None), make_row(2), copy]))
    assert (result.imported, result.duplicates, result.labelled) == (2, 1, 2)
    assert _current()["https://example.com/posts/1"] == ("accept", "import")
    first_id = _items_by_url()["https://example.com/posts/1"]
    assert result.lines == [f"line 3: duplicate of item {first_id} (same URL as line 1): label added"]


def _items_by_url() -> dict:
    with session_scope() as session:
        return dict(session.execute(select(Item.canonical_url, Item.id)).all())


def test_a_duplicate_of_a_stored_item_adds_its_label_once_and_fills_missing_text(db_url: str, tmp_path: Path) -> None:
    header_only = {"text": "Pending Post\n\nhttps://example.com/posts/5\n\n", "meta": {}, "answer": None}
    _import(write_jsonl(tmp_path / "a.jsonl", [make_row(1, None), make_row(2, "reject"), header_only]))
    ids = _items_by_url()
    again = [make_row(1, "accept"), make_row(2, "reject"), make_row(5, "accept")]
    result = _import(write_jsonl(tmp_path / "b.jsonl", again))
    assert (result.imported, result.duplicates, result.labelled, result.filled) == (0, 3, 2, 1)
    assert result.lines == [
        f"line 1: duplicate of item {ids['https://example.com/posts/1']} (same URL as the stored item): label added",
        (f"line 2: duplicate of item {ids['https://example.com/posts/2']} (same URL as the stored item): "
        "same label, nothing added"),
        (f"line 3: duplicate of item {ids['https://example.com/posts/5']} (same URL as the stored item): "
        "label added; text filled in"),
    ]
    assert {url: label for url, (label, _) in _current().items()} == {
        "https://example.com/posts/1": "accept", "https://example.com/posts/2": "reject",
        "https://example.com/posts/5": "accept"}
    with session_scope() as session:
        filled = session.get(Item, ids["https://example.com/posts/5"])
        assert filled.text.startswith("Article 5.") and filled.fetch_status == "ok" and filled.content_hash
    assert _import(write_jsonl(tmp_path / "c.jsonl", again)).labelled == 0  # a second run adds nothing


def test_conflicting_labels_are_an_error_naming_both_lines_and_nothing_is_written(db_url: str, tmp_path: Path) -> None:
    _import(write_jsonl(tmp_path / "a.jsonl", [make_row(1, "accept")]))
    stored = _items_by_url()["https://example.com/posts/1"]
    rows = [make_row(2, "accept"), make_row(3), make_row(2, "reject"), make_row(1, "reject")]
    with pytest.raises(ImportFileError) as refused:
        _import(write_jsonl(tmp_path / "b.jsonl", rows))
    message = str(refused.value)
    assert "2 item(s) get conflicting labels, nothing imported" in message
    assert "the item of line 1: line 1 says 'accept', line 3 says 'reject'" in message
    assert f"item {stored}: it is labelled 'accept', line 4 says 'reject'" in message
    assert "--on-conflict keep" in message
    assert len(_items()) == 1 and _decision_count() == 1


@pytest.mark.parametrize(("mode", "expected", "decisions"), [
    ("keep", {"https://example.com/posts/1": "accept", "https://example.com/posts/2": "accept"}, 2),
    ("replace", {"https://example.com/posts/1": "reject", "https://example.com/posts/2": "reject"}, 3),
    ("skip", {"https://example.com/posts/1": "accept"}, 1),
])
def test_on_conflict_says_which_label_wins(db_url: str, tmp_path: Path, mode: str, expected: dict,
                                           decisions: int) -> None:
    from curation.enums import OnConflict

    _import(write_jsonl(tmp_path / "a.jsonl", [make_row(1, "accept")]))
    rows = [make_row(2, "accept"), make_row(2, "reject"), make_row(1, "reject")]
    result = _import(write_jsonl(tmp_path / "b.jsonl", rows), on_conflict=OnConflict(mode))
    assert {url: label for url, (label, _) in _current().items()} == expected
    assert _decision_count() == decisions and result.duplicates == 2
    assert all(f"--on-conflict {mode}" in line for line in result.lines)


STORY = ("We moved our support assistant to production in May. Latency fell from eleven seconds "
         "to two after we cached retrieval results and trimmed the prompt. Customers rated the "
         "answers higher, and the on-call team saw fewer escalations during the rollout. ") * 3


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_an_exported_near_duplicate_names_the_url_it_repeats_and_the_file_imports_again(
        db_url: str, tmp_path: Path, fmt: str) -> None:
    import json

    from db.models import MinhashBand, MinhashSignature

    rows = [make_row(1) | {"text": STORY}, make_row(2, None),
            make_row(3, "reject") | {"text": STORY + " Updated: one more sentence."}]
    _import(write_jsonl(tmp_path / "in.jsonl", rows))
    out = tmp_path / f"out.{fmt}"
    with session_scope() as session:
        export_items(session, out, fmt)
    if fmt == "jsonl":
        metas = [json.loads(line)["meta"] for line in out.read_text().splitlines()]
    else:
        metas = [json.loads(record["meta"]) for record in csv.DictReader(out.open())]
    assert [m["near_duplicate_of"] for m in metas] == [None, None, "https://example.com/posts/1"]
    before_items, before_labels = _items(), _labels()
    with session_scope() as session:
        for table in (Decision, MinhashBand, MinhashSignature, Item):
            session.execute(table.__table__.delete())
    _import(out)
    assert (_items(), _labels()) == (before_items, before_labels)
    with session_scope() as session:
        links = dict(session.execute(select(Item.url, Item.near_duplicate_of)).all())
        first = session.scalar(select(Item.id).where(Item.url == "https://example.com/posts/1"))
    assert links["https://example.com/posts/3"] == first  # import finds the repeat again from the text
