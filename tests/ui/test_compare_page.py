from sqlalchemy import select

from curation.accounts.permissions import Actor
from curation.enums import Role
from curation.triage.queue import decide
from db.models import Job, LLMAssessment
from db.session import session_scope
from tests.factories import add_active_model, add_assessment, add_items, shown


def test_compare_page_empty_state_then_agreement_and_cost(open_page) -> None:
    app = open_page("pages/compare.py")
    assert "Nothing to compare yet" in app.info[0].value
    with session_scope() as session:
        a, b = add_items(session, 2)
        add_active_model(session, {a: 0.9, b: 0.8})
        add_assessment(session, a, "accept")
        add_assessment(session, b, "reject")
        for assessment in session.scalars(select(LLMAssessment)):
            assessment.cost_usd, assessment.latency_ms, assessment.tokens_in = 0.002, 900.0, 1000
        decide(session, Actor("ann", Role.CURATOR), a, "accept")
    app.run()
    metrics = {m.label: m.value for m in app.metric}
    assert metrics["Classifier vs curators"] == "100%"
    assert metrics["LLM vs classifier"] == "50%"
    assert metrics["Cost per 1,000 items"] == "$2.00"
    assert metrics["Corpus assessed"] == "100.0%" and metrics["Asked for (manual)"] == "2"
    costs = app.table[0].value  # st.table renders its cells as markdown
    assert [shown(who) for who in costs["who"]] == ["classifier (not measured)", "LLM, synchronous",
                                                       "LLM, batched", "LLM, cached"]
    assert list(costs["usd_per_1000_items"])[1] == 2.0
    app.number_input(key="reason_limit").set_value(5).run()
    app.checkbox(key="reason_batch").check().run()
    app.button[0].click().run()
    with session_scope() as session:
        jobs = session.execute(select(Job.kind, Job.params).order_by(Job.id)).all()
    assert jobs == [("refit", {}), ("reason", {"limit": 5, "batch": True})]  # the decision above queued the refit
