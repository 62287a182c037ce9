from curation.accounts.permissions import LOCAL_ADMIN, Actor
from curation.enums import Role
from curation.triage.activity import decisions_per_day, time_per_decision
from curation.triage.mistakes import model_mistakes, suspect_labels
from curation.triage.queue import decide, relabel
from db.session import session_scope
from tests.factories import add_active_model, add_assessment, add_items

ANN = Actor("ann", Role.CURATOR)


def test_errors_lists_false_positives_negatives_and_suspect_labels(db_url: str) -> None:
    with session_scope() as session:
        fp, fn, right, suspect = add_items(session, 4)
        add_active_model(session, {fp: 0.7, fn: 0.2, right: 0.9, suspect: 0.97})
        add_assessment(session, suspect, "accept")
        for item, label in ((fp, "reject"), (fn, "accept"), (right, "accept"), (suspect, "reject")):
            decide(session, ANN, item, label)
    with session_scope() as session:
        assert [r["id"] for r in model_mistakes(session, LOCAL_ADMIN, "false_positive")] == [suspect, fp]
        assert [r["id"] for r in model_mistakes(session, LOCAL_ADMIN, "false_negative")] == [fn]
        assert [r["id"] for r in suspect_labels(session, LOCAL_ADMIN)] == [suspect]
        relabel(session, Actor("bob", Role.CURATOR), suspect, "accept")  # a new decision
    with session_scope() as session:
        assert suspect_labels(session, LOCAL_ADMIN) == []
        assert [r["id"] for r in model_mistakes(session, LOCAL_ADMIN, "false_positive")] == [fp]


def test_activity_counts_standing_decisions_and_time_per_curator(db_url: str) -> None:
    with session_scope() as session:
        a, b, c = add_items(session, 3)
        decide(session, Actor("ann", Role.CURATOR), a, "accept", seconds=2)
        decide(session, Actor("ann", Role.CURATOR), b, "reject", seconds=4)
        decide(session, Actor("bob", Role.CURATOR), c, "accept", seconds=10)
    with session_scope() as session:
        per_day = decisions_per_day(session)
        assert [(r["curator"], r["decisions"]) for r in per_day] == [("ann", 2), ("bob", 1)]
        assert time_per_decision(session)[0] | {"p90_s": None} == {
            "curator": "ann", "decisions": 2, "median_s": 3.0, "p90_s": None}
