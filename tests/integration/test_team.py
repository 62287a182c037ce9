"""Team curation: overlap served to two curators, agreement between them, a lead settling
disputes, and the guideline version each decision was made under."""

import threading
from collections import Counter

import pytest
from sqlalchemy import func, select

from curation.accounts.permissions import Actor
from curation.enums import Role
from curation.errors import AdjudicationError, PermissionDenied
from curation.settings import get_settings
from curation.task import get_task
from curation.triage.activity import guideline_changes
from curation.triage.adjudication import adjudicate, list_disputes
from curation.triage.labels import current_labels, is_overlap_item
from curation.triage.queue import decide, next_item, relabel
from db.models import AuditEntry, Decision
from db.session import session_scope
from tests.factories import add_active_model, add_assessment, add_items, run_cli

LEAD = Actor("lee", Role.LEAD)


@pytest.fixture
def half_overlap(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CURATION_OVERLAP", "0.5")
    get_settings.cache_clear()


def _decide(item_id: int, label: str, curator: str, **kwargs) -> None:
    with session_scope() as session:
        decide(session, Actor(curator, Role.CURATOR), item_id, label, **kwargs)


def _labels() -> dict[int, str]:
    labels = current_labels()
    with session_scope() as session:
        return dict(session.execute(select(labels.c.item_id, labels.c.label)).all())


def test_three_curators_at_once_decide_each_overlap_item_twice_and_no_other_item_twice(
        db_url: str, half_overlap: None) -> None:
    with session_scope() as session:
        ids = add_items(session, 40)
    overlap = {i for i in ids if is_overlap_item(i)}
    assert 10 < len(overlap) < 30  # the hash spreads the share over consecutive ids
    errors: list[Exception] = []

    def curate(name: str) -> None:
        try:
            while True:
                with session_scope() as session:
                    item = next_item(session, Actor(name, Role.CURATOR), strategy="random")
                if item is None:
                    return
                _decide(item.id, "accept", name)
        except Exception as exc:  # noqa: BLE001 (surfaced below)
            errors.append(exc)

    threads = [threading.Thread(target=curate, args=(f"c{n}",)) for n in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=180)
    assert errors == []
    with session_scope() as session:
        rows = session.execute(select(Decision.item_id, Decision.curator)).all()
    per_item = Counter(item for item, _ in rows)
    assert {i for i, n in per_item.items() if n == 2} == overlap
    assert {i for i, n in per_item.items() if n == 1} == set(ids) - overlap
    assert all(len({c for i, c in rows if i == item}) == 2 for item in overlap)  # never twice to one


def test_an_overlap_item_goes_to_a_second_curator_who_does_not_see_the_first_decision(
        db_url: str, half_overlap: None) -> None:
    with session_scope() as session:
        ids = add_items(session, 20)
    item = next(i for i in ids if is_overlap_item(i))
    _decide(item, "accept", "ann", note="clear case study")
    with session_scope() as session:
        served = next_item(session, Actor("bob", Role.CURATOR), strategy="newest")
        again = next_item(session, Actor("ann", Role.CURATOR), strategy="newest")
    assert served is not None and again is not None
    shown = served.as_dict()
    assert "clear case study" not in str(shown) and "ann" not in str(shown)
    with session_scope() as session:  # bob is served the overlap item once its turn comes
        seen = set()
        while (nxt := next_item(session, Actor("bob", Role.CURATOR), strategy="newest")) is not None:
            seen.add(nxt.id)
            decide(session, Actor("bob", Role.CURATOR), nxt.id, "skip")
    assert item in seen | {served.id}


def test_a_disputed_item_has_no_label_until_the_lead_decides_and_then_has_the_leads(
        db_url: str, half_overlap: None) -> None:
    with session_scope() as session:
        ids = add_items(session, 20)
        add_active_model(session, {i: 0.6 for i in ids})
    agreed, split = [i for i in ids if is_overlap_item(i)][:2]
    with session_scope() as session:
        add_assessment(session, split, "reject")
    single = next(i for i in ids if not is_overlap_item(i))
    for item, (ann, bob) in {agreed: ("accept", "accept"), split: ("accept", "reject")}.items():
        _decide(item, ann, "ann", note=f"ann on {item}")
        _decide(item, bob, "bob")
    _decide(single, "reject", "ann")
    assert _labels() == {agreed: "accept", single: "reject"}
    with session_scope() as session:
        (dispute,) = list_disputes(session, LEAD)
    assert (dispute.item_id, dispute.score, dispute.llm_verdict) == (split, 0.6, "reject")
    assert [(d["curator"], d["label"], d["note"]) for d in dispute.decisions] == [
        ("ann", "accept", f"ann on {split}"), ("bob", "reject", None)]
    with session_scope() as session:
        adjudicate(session, LEAD, split, "reject", note="a demo, not production")
    assert _labels() == {agreed: "accept", single: "reject", split: "reject"}
    _decide(split, "accept", "ann")  # a later curator decision does not overturn the lead
    assert _labels()[split] == "reject"
    with session_scope() as session:
        assert list_disputes(session, LEAD) == []
        audit = session.scalars(select(AuditEntry).where(AuditEntry.action == "adjudicate")).one()
    assert (audit.actor, audit.target, audit.details["over"]) == ("lee", f"item:{split}",
                                                                   {"ann": "accept", "bob": "reject"})


@pytest.mark.parametrize("role, allowed", [(Role.LEAD, True), (Role.ADMIN, True),
                                           (Role.CURATOR, False), (Role.VIEWER, False)])
def test_only_leads_and_admins_may_list_and_settle_disputes(
        db_url: str, half_overlap: None, role: Role, allowed: bool) -> None:
    with session_scope() as session:
        ids = add_items(session, 10)
    item = next(i for i in ids if is_overlap_item(i))
    _decide(item, "accept", "ann")
    _decide(item, "reject", "bob")
    who = Actor("pat", role)
    with session_scope() as session:
        if allowed:
            assert [d.item_id for d in list_disputes(session, who)] == [item]
            adjudicate(session, who, item, "accept")
        else:
            with pytest.raises(PermissionDenied, match=f"role '{role}' may not settle"):
                list_disputes(session, who)
            with pytest.raises(PermissionDenied):
                adjudicate(session, who, item, "accept")
    assert (_labels().get(item) == "accept") is allowed


def test_adjudicating_an_undisputed_item_or_with_a_bad_label_is_refused_and_writes_nothing(
        db_url: str, half_overlap: None) -> None:
    with session_scope() as session:
        ids = add_items(session, 10)
    item = next(i for i in ids if is_overlap_item(i))
    _decide(item, "accept", "ann")
    _decide(item, "accept", "bob")
    with session_scope() as session:
        with pytest.raises(AdjudicationError, match=f"item {item} is not disputed"):
            adjudicate(session, LEAD, item, "reject")
        with pytest.raises(AdjudicationError, match="unknown label 'maybe'"):
            adjudicate(session, LEAD, item, "maybe")
        assert session.scalar(select(func.count()).where(Decision.adjudicated)) == 0
    code, out, _ = run_cli("adjudicate", str(ids[0] + 999), "accept", "--lead", "lee")
    assert code == 1 and "not disputed" in out["error"]


def test_the_cli_lists_disputes_and_settles_one(db_url: str, half_overlap: None) -> None:
    with session_scope() as session:
        ids = add_items(session, 10)
    item = next(i for i in ids if is_overlap_item(i))
    _decide(item, "accept", "ann", note="production at Acme")
    _decide(item, "reject", "bob")
    code, out, _ = run_cli("disputes")
    assert code == 0 and [d["item_id"] for d in out["disputes"]] == [item]
    assert [(d["curator"], d["label"], d["note"]) for d in out["disputes"][0]["decisions"]] == [
        ("ann", "accept", "production at Acme"), ("bob", "reject", None)]
    code, out, _ = run_cli("adjudicate", str(item), "accept", "--lead", "lee", "--note", "it is")
    assert code == 0 and out["label"] == "accept" and _labels()[item] == "accept"
    assert run_cli("disputes")[1] == {"disputes": []}


@pytest.mark.parametrize("role", list(Role))
def test_every_role_may_read_agreement_and_an_unknown_one_may_not(db_url: str, role: Role) -> None:
    from curation.triage.agreement import curator_agreement

    with session_scope() as session:
        report = curator_agreement(session, Actor("pat", role))
        assert report["overall"] == {"n": 0, "percent": None, "kappa": None}
        with pytest.raises(PermissionDenied):
            curator_agreement(session, Actor("pat", "root"))


def test_agreement_from_the_cli_per_pair_overall_and_per_curator(db_url: str, half_overlap: None) -> None:
    with session_scope() as session:
        ids = add_items(session, 40)
    overlap = [i for i in ids if is_overlap_item(i)][:4]
    # ann and bob agree on three items of four: 75 %, kappa (0.75 - 0.5) / 0.5 = 0.5.
    for item, (ann, bob) in zip(overlap, [("accept", "accept"), ("reject", "reject"),
                                          ("accept", "reject"), ("reject", "reject")]):
        _decide(item, ann, "ann", seconds=10)
        _decide(item, bob, "bob", seconds=30)
    with session_scope() as session:
        adjudicate(session, LEAD, overlap[2], "accept")
    code, out, _ = run_cli("agreement", "--curators")
    assert code == 0
    assert out["pairs"] == [{"curators": ["ann", "bob"], "n": 4, "percent": 75.0, "kappa": 0.5}]
    assert out["overall"] == {"n": 4, "percent": 75.0, "kappa": 0.5}
    ann, bob = out["curators"]
    assert (ann["curator"], ann["decisions_per_hour"], ann["median_s"], ann["agrees_with_final"]) == (
        "ann", 360.0, 10.0, 1.0)
    assert (bob["n_final"], bob["agrees_with_final"]) == (4, 0.75)


def test_each_decision_keeps_the_guideline_version_and_activity_shows_the_change(
        db_url: str, tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    from curation.task import DEFAULT_TASK_FILE, _cached

    first, second = (i for i in _two_items())
    old = get_task().guideline_version
    _decide(first, "accept", "ann")
    changed = tmp_path / "task.toml"
    changed.write_text(DEFAULT_TASK_FILE.read_text().replace("Accept an article", "Accept a post"))
    monkeypatch.setenv("CURATION_TASK_FILE", str(changed))
    get_settings.cache_clear()
    _cached.cache_clear()
    new = get_task().guideline_version
    _decide(second, "reject", "ann")
    assert old != new and len(new) == 12
    with session_scope() as session:
        versions = [(c["guideline_version"], c["decisions"]) for c in guideline_changes(session)]
    assert versions == [(old, 1), (new, 1)]


def _two_items() -> list[int]:
    with session_scope() as session:
        return add_items(session, 2)


def _relabel(item_id: int, label: str, curator: str) -> None:
    with session_scope() as session:
        relabel(session, Actor(curator, Role.CURATOR), item_id, label)


def test_a_curator_who_relabels_is_counted_by_their_latest_decision_only(
        db_url: str, half_overlap: None) -> None:
    from curation.triage.agreement import curator_agreement

    with session_scope() as session:
        ids = add_items(session, 20)
    came_round, split = [i for i in ids if is_overlap_item(i)][:2]
    _decide(came_round, "accept", "ann")
    _relabel(came_round, "reject", "ann")  # ann changes her mind before bob decides
    _decide(came_round, "reject", "bob")
    _decide(split, "accept", "ann")
    _relabel(split, "reject", "ann")
    _decide(split, "accept", "bob")
    with session_scope() as session:
        (dispute,) = list_disputes(session, LEAD)
        pairs = curator_agreement(session, LEAD)["pairs"]
    assert dispute.item_id == split  # ann's stale accept does not agree with bob for her
    assert [(d["curator"], d["label"]) for d in dispute.decisions] == [("ann", "reject"), ("bob", "accept")]
    assert pairs == [{"curators": ["ann", "bob"], "n": 2, "percent": 50.0, "kappa": 0.0}]
    assert _labels() == {came_round: "reject"}
    _relabel(split, "accept", "ann")  # and a dispute ends when one of them comes round
    with session_scope() as session:
        assert list_disputes(session, LEAD) == []
    assert _labels() == {came_round: "reject", split: "accept"}


def _everything_shown(who: Actor, similar_to: int) -> dict[str, object]:
    """Each place a person sees labels, as who sees it."""
    from curation.corpus.items import list_items
    from curation.corpus.stats import collection_stats
    from curation.enums import LabelState
    from curation.triage.mistakes import model_mistakes
    from curation.triage.search import SearchFilter, search_items
    from curation.triage.similar import similar_items

    def found(**filters: object) -> set[int]:
        return {h.id for h in search_items(session, who, "post", filters=SearchFilter(**filters), limit=100)}

    with session_scope() as session:
        return {
            "items": {r["id"]: r["label"] for r in list_items(session, who) if r["label"]},
            "search": {h.id: h.label for h in search_items(session, who, "post", limit=100) if h.label},
            "unlabelled": found(status=LabelState.UNLABELLED),
            "accepted": found(label="accept"),
            "similar": {h.id: h.label for h in similar_items(session, who, similar_to, k=19) if h.label},
            "false negatives": {r["id"] for r in model_mistakes(session, who, "false_negative")},
            "counted": collection_stats(session, who)["labels"],
        }


def test_a_label_waiting_for_its_second_curator_shows_only_to_its_curator_and_to_leads(
        db_url: str, half_overlap: None) -> None:
    from sqlalchemy import update

    from db.models import ModelVersion
    from tests.factories import add_document_vectors

    with session_scope() as session:
        ids = add_items(session, 20)
        version = add_active_model(session, dict.fromkeys(ids, 0.1))
        session.execute(update(ModelVersion).where(ModelVersion.id == version).values(metrics={"encoder": "e"}))
        add_document_vectors(session, "e", {i: [1, i, 0] for i in ids})
    pending = next(i for i in ids if is_overlap_item(i))
    single, other = [i for i in ids if not is_overlap_item(i)][:2]
    _decide(pending, "accept", "ann")
    _decide(single, "accept", "ann")
    both = {pending: "accept", single: "accept"}
    for who in (Actor("ann", Role.CURATOR), LEAD, Actor("root", Role.ADMIN)):
        assert _everything_shown(who, other) == {
            "items": both, "search": both, "unlabelled": set(ids) - set(both), "accepted": set(both),
            "similar": both, "false negatives": set(both), "counted": {"accept": 2}}
    for who in (Actor("bob", Role.CURATOR), Actor("vic", Role.VIEWER)):
        assert _everything_shown(who, other) == {
            "items": {single: "accept"}, "search": {single: "accept"}, "unlabelled": set(ids) - {single},
            "accepted": {single}, "similar": {single: "accept"}, "false negatives": {single},
            "counted": {"accept": 1}}
    assert _labels() == both  # training still has ann's label, and the queue still serves it to bob
    with session_scope() as session:
        served = next_item(session, Actor("bob", Role.CURATOR), item_id=pending)
    assert served is not None and "accept" not in str(served.as_dict())
    _decide(pending, "accept", "bob")  # once bob has decided, everyone sees the label
    assert _everything_shown(Actor("vic", Role.VIEWER), other)["items"] == both


def test_the_queues_labelled_filter_leaves_out_an_item_waiting_for_this_curator(
        db_url: str, half_overlap: None) -> None:
    from curation.enums import LabelState
    from curation.triage.queue import QueueFilter

    with session_scope() as session:
        ids = add_items(session, 10)
    pending = next(i for i in ids if is_overlap_item(i))
    _decide(pending, "accept", "ann")
    labelled = QueueFilter(status=LabelState.LABELLED)
    with session_scope() as session:
        assert next_item(session, Actor("bob", Role.CURATOR), filters=labelled) is None
        served = next_item(session, Actor("ann", Role.CURATOR), filters=labelled)
    assert served is not None and served.id == pending  # ann may look at her own decision again
