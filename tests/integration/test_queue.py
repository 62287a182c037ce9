import threading
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, text, update

from curation.accounts.permissions import Actor
from curation.enums import Role
from curation.errors import QueueError
from curation.triage.queue import QueueFilter, decide, eligible_items, first_by, next_item, undo
from db.models import SCORE_PRIORITY, Decision, Lease
from db.session import session_scope
from tests.factories import add_active_model, add_assessment, add_items, run_cli


def _next(curator: str, **kwargs):
    with session_scope() as session:
        return next_item(session, Actor(curator, Role.CURATOR), **kwargs)


def _decide(item_id: int, action: str, curator: str, **kwargs):
    with session_scope() as session:
        return decide(session, Actor(curator, Role.CURATOR), item_id, action, **kwargs)


def _decisions() -> list[tuple]:
    with session_scope() as session:
        return session.execute(select(Decision.item_id, Decision.label, Decision.curator,
                                      Decision.undone_at.is_not(None)).order_by(Decision.id)).all()


def test_two_curators_get_different_items_and_a_reload_gets_the_same(db_url: str) -> None:
    with session_scope() as session:
        add_items(session, 3)
    ann, bob = _next("ann"), _next("bob")
    assert ann.id != bob.id
    assert _next("ann").id == ann.id


def test_uncertain_items_come_first_and_the_decision_keeps_what_was_on_screen(db_url: str) -> None:
    with session_scope() as session:
        sure, unsure, middling = add_items(session, 3)
        add_active_model(session, {sure: 0.99, unsure: 0.52, middling: 0.8})
        add_assessment(session, unsure, "reject")
    served = _next("ann")
    assert (served.id, served.score, served.llm_verdict, served.passage) == (unsure, 0.52, "reject", "driving passage")
    decision = _decide(unsure, "accept", "ann", seconds=4.5)
    assert (decision.model_score, decision.llm_verdict, decision.seconds_spent) == (0.52, "reject", 4.5)
    assert [_next("ann").id] == [middling]


def test_disagreement_breaks_ties_within_the_same_uncertainty(db_url: str) -> None:
    with session_scope() as session:
        agree, disagree = add_items(session, 2)
        add_active_model(session, {agree: 0.71, disagree: 0.74})
        add_assessment(session, agree, "accept")
        add_assessment(session, disagree, "reject")
    assert _next("ann", strategy="uncertainty").id == disagree
    assert _next("bob", strategy="uncertainty").id == agree


def test_the_default_order_serves_an_uncertain_typical_item_before_an_uncertain_outlier(db_url: str) -> None:
    with session_scope() as session:
        outlier, typical, sure = add_items(session, 3)
        add_active_model(session, {outlier: 0.5, typical: 0.6, sure: 0.97},
                         densities={outlier: 0.1, typical: 0.8, sure: 0.9})
    assert [_next(name).id for name in ("ann", "bob", "cy")] == [typical, outlier, sure]
    assert _next("dee", strategy="uncertainty") is None  # all three are leased
    with session_scope() as session:
        session.execute(update(Lease).values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))
    assert _next("dee", strategy="uncertainty").id == outlier


def test_the_density_order_is_served_by_its_index(db_url: str) -> None:
    """Like the uncertainty order: "next" walks an index rather than sorting every score. An empty
    PostgreSQL table would be scanned, so there the planner is told that a sort is dear."""
    with session_scope() as session:
        query = first_by(eligible_items("ann", QueueFilter(), datetime.now(UTC)), 1, SCORE_PRIORITY)
        dialect = session.get_bind().dialect
        sql = str(query.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))
        if dialect.name == "sqlite":
            plan = " ".join(str(row[-1]) for row in session.execute(text("EXPLAIN QUERY PLAN " + sql)))
        else:
            session.execute(text("SET LOCAL enable_sort = off"))
            plan = " ".join(session.scalars(text("EXPLAIN " + sql)))
    assert "ix_scores_priority" in plan and "TEMP B-TREE" not in plan and " Sort " not in plan


def test_disagreement_strategy_serves_only_conflicts(db_url: str) -> None:
    with session_scope() as session:
        agree, disagree = add_items(session, 2)
        add_active_model(session, {agree: 0.9, disagree: 0.9})
        add_assessment(session, agree, "accept")
        add_assessment(session, disagree, "reject")
    assert _next("ann", strategy="disagreement").id == disagree
    assert _next("bob", strategy="disagreement") is None


def test_skip_hides_the_item_from_that_curator_only_and_is_not_a_label(db_url: str) -> None:
    with session_scope() as session:
        (only,) = add_items(session, 1)
    _next("ann")
    _decide(only, "skip", "ann")
    assert _next("ann") is None
    assert _next("bob").id == only


def test_undo_reverts_only_my_last_decision_and_serves_the_item_again(db_url: str) -> None:
    with session_scope() as session:
        first, second, third = add_items(session, 3)
    _decide(first, "accept", "ann")
    _decide(second, "reject", "bob")
    assert _next("ann").id == third  # ann holds the third item when she undoes
    with session_scope() as session:
        undone = undo(session, Actor("ann", Role.CURATOR))
    assert undone.item_id == first
    assert _decisions() == [(first, "accept", "ann", True), (second, "reject", "bob", False)]
    assert _next("ann").id == first
    with session_scope() as session, pytest.raises(QueueError, match="nothing to undo: carl"):
        undo(session, Actor("carl", Role.CURATOR))


def test_deciding_an_item_someone_else_holds_is_refused_and_writes_nothing(db_url: str) -> None:
    with session_scope() as session:
        (item,) = add_items(session, 1)
    _next("ann")
    with pytest.raises(QueueError, match=f"item {item} is being curated by ann"):
        _decide(item, "accept", "bob")
    with pytest.raises(QueueError, match="unknown decision 'maybe'; use one of accept, reject, skip"):
        _decide(item, "maybe", "ann")
    with pytest.raises(QueueError, match="no item with id 999"):
        _decide(999, "accept", "ann")
    assert _decisions() == []


def test_an_expired_lease_is_served_to_someone_else(db_url: str) -> None:
    with session_scope() as session:
        (item,) = add_items(session, 1)
    _next("ann")
    with session_scope() as session:
        session.execute(update(Lease).values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))
    assert _next("bob").id == item


def test_filters_and_unknown_strategy(db_url: str) -> None:
    with session_scope() as session:
        add_items(session, 1)
        (talk,) = add_items(session, 1, start=10, source_type="youtube")
    assert _next("ann", filters=QueueFilter(source_type="youtube")).id == talk
    assert _next("bob", filters=QueueFilter(status="labelled")) is None
    with pytest.raises(QueueError, match="unknown queue strategy 'best'"):
        _next("ann", strategy="best")


def test_eight_curators_at_once_never_share_an_item_and_lose_no_decision(db_url: str) -> None:
    with session_scope() as session:
        ids = add_items(session, 60)
    served: list[int] = []
    errors: list[Exception] = []

    def curate(name: str) -> None:
        try:
            while (item := _next(name, strategy="random")) is not None:
                served.append(item.id)
                _decide(item.id, "accept", name)
        except Exception as exc:  # surfaced below with the thread's name
            errors.append(exc)

    threads = [threading.Thread(target=curate, args=(f"curator{n}",)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    assert sorted(served) == ids
    with session_scope() as session:
        per_item = Counter(session.scalars(select(Decision.item_id)))
        assert session.scalar(select(func.count(Lease.item_id))) == 0
    assert set(per_item.values()) == {1} and len(per_item) == 60


def test_cli_next_decide_undo_share_the_queue(db_url: str) -> None:
    with session_scope() as session:
        first, second = add_items(session, 2)
    code, served, _ = run_cli("next", "--curator", "ann", "--strategy", "newest")
    assert code == 0 and served["id"] == second and served["title"] == "Post 1"
    assert run_cli("next", "--curator", "bob", "--strategy", "newest")[1]["id"] == first
    code, out, _ = run_cli("decide", str(second), "accept", "--curator", "ann", "--seconds", "3")
    assert code == 0 and out["label"] == "accept"
    assert run_cli("undo", "--curator", "ann")[1]["item_id"] == second
    code, out, _ = run_cli("decide", str(first), "accept", "--curator", "ann")
    assert code == 1 and "being curated by bob" in out["error"]
    assert run_cli("stats")[1]["labels"] == {}


def test_a_viewer_cannot_take_or_decide_items_and_decisions_are_audited(db_url: str) -> None:
    from curation.accounts.audit import list_audit
    from curation.accounts.permissions import LOCAL_ADMIN, PermissionDenied

    with session_scope() as session:
        (item,) = add_items(session, 1)
    viewer = Actor("vera", Role.VIEWER)
    with session_scope() as session, pytest.raises(PermissionDenied, match="'vera' with role 'viewer'"):
        next_item(session, viewer)
    with session_scope() as session, pytest.raises(PermissionDenied):
        decide(session, viewer, item, "accept")
    _decide(item, "accept", "ann")
    with session_scope() as session:
        entries = list_audit(session, LOCAL_ADMIN)
    assert [(e["actor"], e["action"], e["target"]) for e in entries] == [("ann", "decide", f"item:{item}")]
    assert _decisions() == [(item, "accept", "ann", False)]


def _audited() -> list[tuple]:
    from curation.accounts.audit import list_audit
    from curation.accounts.permissions import LOCAL_ADMIN

    with session_scope() as session:
        return [(e["actor"], e["action"], e["details"]) for e in list_audit(session, LOCAL_ADMIN)][::-1]


def test_a_second_press_of_the_same_label_is_the_first_decision_and_one_undo_clears_it(db_url: str) -> None:
    with session_scope() as session:
        (item,) = add_items(session, 1)
    assert _next("ann").id == item
    first = _decide(item, "accept", "ann")
    assert _decide(item, "accept", "ann").id == first.id
    assert _decisions() == [(item, "accept", "ann", False)]
    assert [action for _, action, _ in _audited()] == ["decide"]
    with session_scope() as session:
        undo(session, Actor("ann", Role.CURATOR))
    assert _decisions() == [(item, "accept", "ann", True)]
    assert _next("ann").id == item  # unlabelled again


def test_pressing_the_standing_label_again_on_a_labelled_item_moves_on(db_url: str) -> None:
    from curation.enums import LabelState

    with session_scope() as session:
        first, second = add_items(session, 2)
    _decide(first, "accept", "ann")
    _decide(second, "accept", "ann")
    labelled = QueueFilter(status=LabelState.LABELLED)
    shown = _next("ann", filters=labelled, strategy="newest").id
    _decide(shown, "accept", "ann")  # the same decision again: nothing stored, and the item is let go
    with session_scope() as session:
        assert session.scalar(select(func.count(Lease.item_id))) == 0
    assert len(_decisions()) == 2


def test_a_different_label_is_a_relabel_and_undo_goes_back_one_press(db_url: str) -> None:
    with session_scope() as session:
        (item,) = add_items(session, 1)
    _decide(item, "accept", "ann")
    _decide(item, "reject", "ann")
    _decide(item, "accept", "ann")  # back to accept: a third press, not the first one again
    with session_scope() as session:
        undo(session, Actor("ann", Role.CURATOR))
    assert _decisions() == [(item, "accept", "ann", False), (item, "reject", "ann", False),
                            (item, "accept", "ann", True)]
    with session_scope() as session:
        assert decide(session, Actor("ann", Role.CURATOR), item, "reject").label == "reject"
    assert len(_decisions()) == 3  # reject is again the standing decision: nothing new


def test_presses_at_once_from_threads_store_one_decision(db_url: str) -> None:
    with session_scope() as session:
        (item,) = add_items(session, 1)
    start = threading.Barrier(6, timeout=30)
    ids: list[int] = []

    def press() -> None:
        start.wait()
        ids.append(_decide(item, "accept", "ann").id)

    threads = [threading.Thread(target=press) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert len(ids) == 6 and len(set(ids)) == 1
    assert _decisions() == [(item, "accept", "ann", False)]
    assert len(_audited()) == 1


def test_two_decide_commands_at_once_store_one_decision(db_url: str) -> None:
    import os
    import subprocess
    import sys

    from tests.factories import REPO

    with session_scope() as session:
        (item,) = add_items(session, 1)
    command = [sys.executable, "-m", "curation", "decide", str(item), "accept", "--curator", "ann"]
    procs = [subprocess.Popen(command, cwd=REPO, env=os.environ.copy(), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [proc.communicate(timeout=120) for proc in procs]
    assert [proc.returncode for proc in procs] == [0, 0], outputs
    assert _decisions() == [(item, "accept", "ann", False)]


def test_with_accounts_on_the_cli_decides_only_as_an_existing_user_who_may_decide(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import getpass

    from curation.accounts.users import add_user, shell_actor
    from curation.errors import PermissionDenied, UserError
    from curation.settings import get_settings

    with session_scope() as session:
        (item,) = add_items(session, 1)
        for name, role in (("vera", Role.VIEWER), ("cara", Role.CURATOR)):
            add_user(session, Actor("root", Role.ADMIN), name, role, "a long enough password")
    monkeypatch.setenv("CURATION_AUTH", "true")
    get_settings.cache_clear()
    with session_scope() as session, pytest.raises(UserError, match="no user named 'ghost'"):
        shell_actor(session, "ghost", "someone")
    with session_scope() as session, pytest.raises(PermissionDenied, match="'vera' with role 'viewer'"):
        decide(session, shell_actor(session, "vera", "someone"), item, "accept")
    code, out, _ = run_cli("decide", str(item), "accept", "--curator", "ghost")
    assert code == 1 and "no user named 'ghost'" in out["error"]
    code, out, _ = run_cli("decide", str(item), "accept", "--curator", "cara")
    assert code == 0 and _decisions() == [(item, "accept", "cara", False)]
    assert _audited()[-1] == ("cara", "decide", {"label": "accept", "decision": out["decision_id"],
                                                 "via": "cli", "os_user": getpass.getuser()})
