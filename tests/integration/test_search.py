"""Full-text search on SQLite (FTS5) and PostgreSQL (tsvector), kept in step by triggers."""

from pathlib import Path

import pytest
from sqlalchemy import delete, func, select, text, update

from curation.accounts.permissions import Actor
from curation.corpus.search_index import BATCH, index_pending, pending_count
from curation.enums import LabelState, Role
from curation.errors import QueueError, SearchError
from curation.files.importing import import_file
from curation.triage.queue import decide, next_item
from curation.triage.search import SearchFilter, search_items
from db.models import Item
from db.session import session_scope
from tests.factories import add_active_model, add_items, make_row, run_cli, write_jsonl

ANN = Actor("ann", Role.CURATOR)
VIEWER = Actor("vic", Role.VIEWER)


def _search(text: str, who: Actor = VIEWER, **filters) -> list[int]:
    with session_scope() as session:
        return [hit.id for hit in search_items(session, who, text, filters=SearchFilter(**filters))]


@pytest.fixture
def corpus(db_url: str) -> list[int]:
    with session_scope() as session:
        ids = add_items(session, 3)
        texts = ["We deployed a retrieval assistant in production for customers.",
                 "A garden diary: tomatoes, weather and a deployed scarecrow.",
                 "Notes on NEAR-duplicate detection (MinHash) AND \"quotes\"."]
        for item_id, text in zip(ids, texts, strict=True):
            session.execute(update(Item).where(Item.id == item_id).values(text=text))
    return ids


def test_search_finds_words_in_title_and_text_and_follows_updates(corpus: list[int]) -> None:
    production, garden, _notes = corpus
    assert set(_search("deployed")) == {production, garden}
    assert _search("retrieval production") == [production]
    assert _search("Post 1") == [garden]  # titles are "Post 0", "Post 1", "Post 2"
    with session_scope() as session:
        session.execute(update(Item).where(Item.id == garden).values(text="now about retrieval"))
    assert set(_search("retrieval")) == {production, garden}
    assert _search("tomatoes") == []


def _index_is_consistent() -> None:
    """FTS5 checks its index against the items table (an external-content index can silently
    hold terms of rows it was never given, or lose a row's); on PostgreSQL every searchable item
    has one row. With nothing waiting: FTS5 expects every row of items in the index."""
    with session_scope() as session:
        if session.get_bind().dialect.name == "sqlite":
            session.execute(text("INSERT INTO items_fts(items_fts, rank) VALUES ('integrity-check', 1)"))
        else:
            indexed = session.scalar(text("SELECT count(*) FROM items_fts"))
            assert indexed == session.scalar(select(func.count()).where(~Item.search_pending))


def test_imported_items_become_searchable_when_the_index_job_has_run(db_url: str, tmp_path: Path) -> None:
    """Import leaves its items to the index job, which takes them in batches; every row of
    every batch is found by word and phrase afterwards."""
    rows = [make_row(n, None, words=3) for n in range(BATCH + 2)]
    rows[3]["text"] = "We deployed a retrieval assistant in production."
    rows[BATCH + 1]["text"] = "The scarecrow assistant retired."
    with session_scope() as session:
        import_file(session, write_jsonl(tmp_path / "rows.jsonl", rows))
        ids = {title: item_id for item_id, title in session.execute(select(Item.id, Item.title))}
    assert _search("assistant") == []
    with session_scope() as session:
        assert pending_count(session) == BATCH + 2
    assert index_pending() == {"indexed": BATCH + 2}
    assert set(_search("assistant")) == {ids["Post 3"], ids[f"Post {BATCH + 1}"]}
    assert _search('"retrieval assistant"') == [ids["Post 3"]]
    assert _search('"assistant retrieval"') == []
    assert _search(f"word{BATCH}_2") == [ids[f"Post {BATCH}"]]
    with session_scope() as session:
        assert pending_count(session) == 0
    _index_is_consistent()


def test_items_changed_or_deleted_while_waiting_are_indexed_as_they_are_now(
        db_url: str, tmp_path: Path) -> None:
    rows = [make_row(n, None, words=3) for n in range(3)]
    with session_scope() as session:
        import_file(session, write_jsonl(tmp_path / "rows.jsonl", rows))
        first, second, third = session.scalars(select(Item.id).order_by(Item.id))
        session.execute(update(Item).where(Item.id == first).values(text="a refetched retrieval article"))
        session.execute(delete(Item).where(Item.id == third))
    assert index_pending() == {"indexed": 2}
    assert _search("retrieval") == [first]
    assert _search("word0_1") == []  # the text it had when imported is gone
    assert _search("word1_1") == [second]
    _index_is_consistent()


@pytest.mark.parametrize("text", ['"', 'deployed"', 'AND', 'OR NOT', 'NEAR(a b)', '*', 'title:x',
                                  'a^b', '(((', "'; DROP TABLE items; --", '-deployed', '""', ' '])
def test_search_input_with_operators_and_quotes_never_raises(corpus: list[int], text: str) -> None:
    assert isinstance(_search(text), list)


def test_operators_and_quotes_are_searched_as_words(corpus: list[int]) -> None:
    notes = corpus[2]
    assert _search("NEAR-duplicate") == [notes]
    assert _search('"minhash" AND') == [notes]
    assert _search('"duplicate detection"') == [notes]


def test_search_filters_by_label_state_label_and_score(corpus: list[int]) -> None:
    production, garden, _ = corpus
    with session_scope() as session:
        add_active_model(session, {production: 0.9, garden: 0.2})
        decide(session, ANN, garden, "reject")
    assert _search("deployed", status=LabelState.LABELLED) == [garden]
    assert _search("deployed", status=LabelState.UNLABELLED) == [production]
    assert _search("deployed", label="reject") == [garden]
    assert _search("deployed", score_min=0.5) == [production]
    assert _search("deployed", score_max=0.5) == [garden]
    assert _search("deployed", source_type="youtube") == []
    with session_scope() as session:
        hit = search_items(session, VIEWER, "garden")[0]
    assert (hit.label, hit.score) == ("reject", 0.2)


def test_a_bad_limit_is_refused_with_the_range(corpus: list[int]) -> None:
    with session_scope() as session, pytest.raises(SearchError, match="give 1 to 500"):
        search_items(session, VIEWER, "deployed", limit=0)


def test_a_hit_opens_in_the_queue_unless_another_curator_holds_it(corpus: list[int]) -> None:
    production, garden, _ = corpus
    with session_scope() as session:
        held = next_item(session, ANN)
    other = garden if held.id != garden else production
    with session_scope() as session:
        opened = next_item(session, ANN, item_id=other)
    assert opened.id == other
    with session_scope() as session:  # ann let go of the item she held before
        assert next_item(session, Actor("bob", Role.CURATOR), item_id=held.id).id == held.id
    with session_scope() as session, pytest.raises(QueueError, match="being curated by ann"):
        next_item(session, Actor("bob", Role.CURATOR), item_id=other)


def test_cli_search_prints_results_and_turns_bad_input_into_an_error(corpus: list[int], tmp_path: Path) -> None:
    code, result, _ = run_cli("search", "retrieval")
    assert code == 0 and [r["id"] for r in result["results"]] == [corpus[0]]
    assert result["not_yet_searchable"] == 0
    run_cli("import", str(write_jsonl(tmp_path / "rows.jsonl", [make_row(101), make_row(102)])))
    code, result, _ = run_cli("search", "retrieval")
    assert result["not_yet_searchable"] == 2  # until the worker's index job has run
    assert set(result["results"][0]) >= {"id", "title", "url", "label", "score"}
    code, result, _ = run_cli("search", 'NOT "(', "--limit", "5")
    assert code == 0 and result["results"] == []
    code, result, _ = run_cli("search", "x", "--limit", "0")
    assert code == 1 and "give 1 to 500" in result["error"]
