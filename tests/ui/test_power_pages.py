"""Items search, open in Queue, bulk decisions and near-duplicates on the pages, under each role."""

from pathlib import Path

import pytest
from sqlalchemy import select, update
from streamlit.testing.v1 import AppTest

from curation.accounts.permissions import Actor
from curation.accounts.users import add_user
from curation.corpus.search_index import index_pending
from curation.enums import Role
from curation.files.importing import import_file
from curation.settings import get_settings
from db.models import Decision, ModelVersion
from db.session import session_scope
from tests.factories import (
    REPO,
    add_active_model,
    add_document_vectors,
    add_items,
    labelled_rows,
    write_jsonl,
)

PASSWORD = "correct horse battery"
STORY = ("We moved our support assistant to production in May; latency fell from eleven seconds "
         "to two after we cached retrieval and trimmed the prompt. ") * 3


def _decisions() -> list[tuple]:
    with session_scope() as session:
        return session.execute(select(Decision.item_id, Decision.label, Decision.curator)
                               .where(Decision.curator != "import", Decision.undone_at.is_(None))
                               .order_by(Decision.item_id)).all()


def _import(tmp_path: Path, rows: list[dict], *, index: bool = True) -> None:
    """Import rows; index: and let the worker's index job make them searchable."""
    with session_scope() as session:
        import_file(session, write_jsonl(tmp_path / "rows.jsonl", rows))
    if index:
        index_pending()


def _unlabelled(rows: list[dict]) -> list[dict]:
    return [row | {"answer": None} for row in rows]


def _search(app: AppTest, text: str) -> AppTest:
    app.text_input(key="search").input(text).run()
    assert not app.exception, app.exception
    return app


@pytest.fixture
def as_role(db_url: str, monkeypatch: pytest.MonkeyPatch):
    """An app logged in as a user of the given role (accounts on)."""
    monkeypatch.setenv("CURATION_AUTH", "1")
    get_settings.cache_clear()

    def _open(role: Role, page: str) -> AppTest:
        name = f"{role.value}-user"
        with session_scope() as session:
            add_user(session, Actor("test", Role.ADMIN), name, role, PASSWORD)
        app = AppTest.from_file(str(REPO / "app.py"), default_timeout=60).run()
        app.text_input(key="login_name").input(name)
        app.text_input(key="login_password").input(PASSWORD)
        next(b for b in app.button if b.label == "Log in").click().run()
        app.switch_page("app.py").run()
        app.switch_page(page).run()
        assert not app.exception, app.exception
        return app

    return _open


def test_search_then_accept_the_selected_hits_as_one_group(open_page, tmp_path: Path) -> None:
    _import(tmp_path, _unlabelled(labelled_rows(3, 2)))
    app = _search(open_page("pages/items.py"), "deployed production")
    hits = list(app.table[0].value["id"])
    assert len(hits) == 3
    app.multiselect(key="selected").set_value(hits[:2]).run()
    app.button(key="accept_selected").click().run()
    assert "accept recorded for 2 item" in app.success[0].value
    assert _decisions() == [(i, "accept", "local") for i in sorted(hits[:2])]


def test_imported_items_waiting_for_the_index_job_are_counted_beside_the_search(
        open_page, tmp_path: Path) -> None:
    _import(tmp_path, _unlabelled(labelled_rows(2, 1)), index=False)
    app = _search(open_page("pages/items.py"), "deployed")
    assert app.caption[0].value.startswith("3 imported items are not searchable yet")
    assert "No item matches" in app.info[0].value
    index_pending()
    app.run()
    assert not [c for c in app.caption if "not searchable" in c.value]
    assert len(app.table[0].value) == 2


def test_search_input_with_operators_shows_no_error(open_page, tmp_path: Path) -> None:
    _import(tmp_path, _unlabelled(labelled_rows(1, 1)))
    app = _search(open_page("pages/items.py"), 'NEAR( "deployed AND *')
    assert not app.error


def test_a_hit_opens_in_the_queue_leased_to_the_curator(open_page, tmp_path: Path) -> None:
    _import(tmp_path, _unlabelled(labelled_rows(2, 2)))
    app = _search(open_page("pages/items.py"), "garden")
    last = list(app.table[0].value["id"])[-1]
    app.multiselect(key="selected").set_value([last]).run()
    app.button(key="open").click().run()
    assert not app.exception, app.exception
    assert app.title[0].value.startswith("Queue")
    assert app.subheader[0].value == f"Story {last - 1}"  # ids start at 1, stories at 0
    app.button(key="reject").click().run()
    assert _decisions() == [(last, "reject", "local")]


def test_the_queue_links_near_duplicates_and_decides_them_together(open_page, tmp_path: Path) -> None:
    rows = [{"text": STORY, "meta": {"url": "https://e.com/a", "title": "A"}},
            {"text": "Reposted. " + STORY, "meta": {"url": "https://e.com/b", "title": "B"}}]
    _import(tmp_path, rows)
    app = open_page("pages/queue.py")
    assert "Near-duplicate text" in app.warning[0].value
    app.button(key="accept_twins").click().run()
    assert [label for _, label, _ in _decisions()] == ["accept", "accept"]
    app.button(key="undo").click().run()
    assert _decisions() == []


def test_a_curator_decides_selected_hits_and_a_viewer_may_only_look(as_role, tmp_path: Path) -> None:
    _import(tmp_path, _unlabelled(labelled_rows(2, 0)))
    viewer = _search(as_role(Role.VIEWER, "pages/items.py"), "deployed")
    viewer.multiselect(key="selected").set_value(list(viewer.table[0].value["id"])).run()
    assert all(viewer.button(key=key).disabled for key in ("accept_selected", "reject_selected", "open"))
    curator = _search(as_role(Role.CURATOR, "pages/items.py"), "deployed")
    ids = list(curator.table[0].value["id"])
    curator.multiselect(key="selected").set_value(ids).run()
    curator.button(key="reject_selected").click().run()
    assert _decisions() == [(i, "reject", "curator-user") for i in sorted(ids)]


def _with_vectors() -> list[int]:
    with session_scope() as session:
        ids = add_items(session, 3)
        version = add_active_model(session, {ids[0]: 0.5, ids[1]: 0.9, ids[2]: 0.95})
        session.execute(update(ModelVersion).where(ModelVersion.id == version).values(metrics={"encoder": "e"}))
        add_document_vectors(session, "e", {ids[0]: [1, 0], ids[1]: [0.9, 0.1], ids[2]: [0, 1]})
    return ids


def test_more_like_this_in_the_queue_decides_the_selected_similar_items(open_page) -> None:
    served, close, far = _with_vectors()
    app = open_page("pages/queue.py")
    app.toggle(key="queue-similar-on").set_value(True).run()
    assert list(app.table[0].value["id"]) == [close, far]
    app.multiselect(key="queue-similar").set_value([close]).run()
    app.button(key="queue-similar-reject").click().run()
    assert _decisions() == [(close, "reject", "local")]


def test_a_viewer_sees_similar_items_but_may_not_decide_them(as_role) -> None:
    first, close, _ = _with_vectors()
    app = _search(as_role(Role.VIEWER, "pages/items.py"), "post 0")
    app.multiselect(key="selected").set_value([first]).run()
    app.toggle(key="items-similar-on").set_value(True).run()
    app.multiselect(key="items-similar").set_value([close]).run()
    assert app.button(key="items-similar-accept").disabled and app.button(key="items-similar-reject").disabled


def test_label_issues_with_one_kind_of_label_say_so_and_relabel_is_off_for_a_viewer(as_role, tmp_path: Path) -> None:
    _import(tmp_path, labelled_rows(3, 0))
    with session_scope() as session:
        add_active_model(session, {1: 0.1, 2: 0.1, 3: 0.9})
    app = as_role(Role.VIEWER, "pages/errors.py")
    assert app.button(key="relabel-false_negative").disabled
    app.toggle(key="issues-on").set_value(True).run()
    assert not app.exception, app.exception
    assert any("labels of both kinds" in info.value for info in app.info)
