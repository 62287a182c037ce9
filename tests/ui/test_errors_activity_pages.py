from sqlalchemy import select

from curation.accounts.permissions import Actor
from curation.enums import Role
from curation.triage.queue import decide
from db.models import Decision
from db.session import session_scope
from tests.factories import add_active_model, add_items, chart_titles, charts


def test_errors_page_empty_state_then_relabel_a_false_positive(open_page) -> None:
    app = open_page("pages/errors.py")
    assert "No disagreements to review" in app.info[0].value
    with session_scope() as session:
        (item,) = add_items(session, 1)
        add_active_model(session, {item: 0.8})
        decide(session, Actor("ann", Role.CURATOR), item, "reject")
    app.run()
    assert app.subheader[0].value.endswith(": 1")
    assert list(app.table[0].value["id"]) == [item]
    app.button(key="relabel-false_positive").click().run()
    with session_scope() as session:
        labels = session.execute(select(Decision.label, Decision.curator).order_by(Decision.id)).all()
    assert labels == [("reject", "ann"), ("accept", "local")]
    assert app.subheader[0].value.endswith(": 0")


def test_activity_page_empty_state_then_charts(open_page) -> None:
    app = open_page("pages/activity.py")
    assert "No decisions yet" in app.info[0].value
    with session_scope() as session:
        (item,) = add_items(session, 1)
        decide(session, Actor("ann", Role.CURATOR), item, "accept", seconds=3)
    app.run()
    assert chart_titles(app) == ["Decisions per day", "Seconds per decision"]
    per_day, timing = (spec["rows"] for spec in charts(app))
    assert [(row["curator"], row["decisions"]) for row in per_day] == [("ann", 1)]
    assert [(row["curator"], row["median_s"]) for row in timing] == [("ann", 3)]
