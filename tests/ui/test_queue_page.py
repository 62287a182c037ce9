from sqlalchemy import select

from db.models import Decision
from db.session import session_scope
from tests.factories import add_active_model, add_items


def _decisions() -> list[tuple]:
    with session_scope() as session:
        return session.execute(select(Decision.item_id, Decision.label, Decision.curator,
                                      Decision.undone_at.is_not(None)).order_by(Decision.id)).all()


def _title(app) -> str:
    return app.subheader[0].value


def test_empty_queue_says_what_to_do(open_page) -> None:
    app = open_page("pages/queue.py")
    assert "Nothing left to curate" in app.info[0].value


def test_accept_reject_skip_and_undo_from_the_queue(open_page) -> None:
    with session_scope() as session:
        a, b, c = add_items(session, 3)
        add_active_model(session, {a: 0.5, b: 0.6, c: 0.9})
    app = open_page("pages/queue.py")
    assert _title(app) == "Post 0"
    assert app.metric[0].value == "0.50"
    app.text_input(key="note").input("clear case")
    app.button(key="accept").click().run()
    assert _title(app) == "Post 1"
    app.button(key="reject").click().run()
    assert _title(app) == "Post 2"
    app.button(key="skip").click().run()
    assert "Nothing left to curate" in app.info[0].value
    app.button(key="undo").click().run()
    assert _title(app) == "Post 2"
    assert _decisions() == [(a, "accept", "local", False), (b, "reject", "local", False),
                            (c, "skip", "local", True)]
    with session_scope() as session:
        assert session.scalar(select(Decision.note).where(Decision.item_id == a)) == "clear case"


def test_the_queue_serves_an_uncertain_typical_item_before_an_uncertain_outlier(open_page) -> None:
    with session_scope() as session:
        outlier, typical = add_items(session, 2)
        add_active_model(session, {outlier: 0.5, typical: 0.6}, densities={outlier: 0.1, typical: 0.8})
    app = open_page("pages/queue.py")
    assert app.sidebar.selectbox[0].value == "density"
    assert _title(app) == "Post 1"
    app.button(key="skip").click().run()
    assert _title(app) == "Post 0"


def test_document_is_shown_escaped_with_the_driving_passage_marked(open_page) -> None:
    with session_scope() as session:
        (item,) = add_items(session, 1)
        add_active_model(session, {item: 0.7}, passage="Body of post")
        from db.models import Item
        session.get_one(Item, item).text = "<script>alert(1)</script> Body of post 0."
    app = open_page("pages/queue.py")
    html = app.get("html")[0].proto.body
    assert "&lt;script&gt;" in html and "<script>alert" not in html
    assert '<mark class="passage">Body of post</mark>' in html
