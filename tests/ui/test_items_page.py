from pathlib import Path

from curation.files.importing import import_file
from db.session import session_scope
from pages.common import PAGE_ROWS
from tests.factories import add_items, make_row, write_jsonl


def test_items_page_shows_an_empty_state_then_items_with_labels(open_page, tmp_path: Path) -> None:
    app = open_page("pages/items.py")
    assert "No items yet" in app.info[0].value
    with session_scope() as session:
        import_file(session, write_jsonl(tmp_path / "r.jsonl", [make_row(1), make_row(2, None)]))
    app.run()
    table = app.table[0].value
    assert list(table["title"]) == ["Post 2", "Post 1"]
    assert list(table["label"].fillna("")) == ["", "accept"]


def test_items_page_shows_a_long_list_a_page_at_a_time(open_page) -> None:
    with session_scope() as session:
        ids = add_items(session, PAGE_ROWS + 10)
    app = open_page("pages/items.py")
    assert list(app.table[0].value["id"]) == ids[::-1][:PAGE_ROWS]
    pager = app.number_input(key="items-page")
    assert pager.label == f"Page (rows 1-{PAGE_ROWS} of {PAGE_ROWS + 10})"
    pager.set_value(2).run()
    assert list(app.table[0].value["id"]) == ids[::-1][PAGE_ROWS:]
    assert app.number_input(key="items-page").label == f"Page (rows {PAGE_ROWS + 1}-{PAGE_ROWS + 10} of {PAGE_ROWS + 10})"
