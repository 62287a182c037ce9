"""Full-text search on SQLite (FTS5) and PostgreSQL (tsvector), kept in step by triggers."""

from pathlib import Path

import pytest
from sqlalchemy import select, update

from curation.accounts.permissions import Actor
from curation.enums import LabelState, Role
from curation.errors import QueueError, SearchError
from curation.files.importing import CHUNK, import_file
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


def test_imported_items_are_found_by_word_and_phrase_in_every_chunk(db_url: str, tmp_path: Path) -> None:
    """Import inserts a chunk of items in one statement; the trigger must index every row of it."""
    rows = [make_row(n, None, words=3) for n in range(CHUNK + 2)]
    rows[3]["text"] = "We deployed a retrieval assistant in production."
    rows[CHUNK + 1]["text"] = "The scarecrow assistant retired."
    with session_scope() as session:
        import_file(session, write_jsonl(tmp_path / "rows.jsonl", rows))
        ids = {title: item_id for item_id, title in session.execute(select(Item.id, Item.title))}
    assert set(_search("assistant")) == {ids["Post 3"], ids[f"Post {CHUNK + 1}"]}
    assert _search('"retrieval assistant"') == [ids["Post 3"]]
    assert _search('"assistant retrieval"') == []
    assert _search(f"word{CHUNK}_2") == [ids[f"Post {CHUNK}"]]


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


def test_cli_search_prints_results_and_turns_bad_input_into_an_error(corpus: list[int]) -> None:
    code, result, _ = run_cli("search", "retrieval")
    assert code == 0 and [r["id"] for r in result["results"]] == [corpus[0]]
    assert set(result["results"][0]) >= {"id", "title", "url", "label", "score"}
    code, result, _ = run_cli("search", 'NOT "(', "--limit", "5")
    assert code == 0 and result["results"] == []
    code, result, _ = run_cli("search", "x", "--limit", "0")
    assert code == 1 and "give 1 to 500" in result["error"]
