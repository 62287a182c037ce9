from pathlib import Path

from curation.files.importing import import_file
from db.session import session_scope
from tests.factories import make_row, write_jsonl


def test_items_page_shows_an_empty_state_then_items_with_labels(open_page, tmp_path: Path) -> None:
    app = open_page("pages/items.py")
    assert "No items yet" in app.info[0].value
    with session_scope() as session:
        import_file(session, write_jsonl(tmp_path / "r.jsonl", [make_row(1), make_row(2, None)]))
    app.run()
    table = app.dataframe[0].value
    assert list(table["title"]) == ["Post 2", "Post 1"]
    assert list(table["label"].fillna("")) == ["", "accept"]
