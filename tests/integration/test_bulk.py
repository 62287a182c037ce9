"""Bulk decisions: each item its own audited decision, one group, undone together."""

import pytest
from sqlalchemy import select

from curation.accounts.permissions import Actor
from curation.enums import Role
from curation.errors import PermissionDenied, QueueError
from curation.triage.bulk import decide_many
from curation.triage.queue import decide, next_item, undo
from db.models import AuditEntry, Decision
from db.session import session_scope
from tests.factories import add_items, run_cli

ANN, BOB = Actor("ann", Role.CURATOR), Actor("bob", Role.CURATOR)


def _standing() -> list[tuple]:
    with session_scope() as session:
        return session.execute(select(Decision.item_id, Decision.label, Decision.curator)
                               .where(Decision.undone_at.is_(None)).order_by(Decision.item_id)).all()


def test_an_item_leased_to_another_curator_is_refused_and_the_rest_go_through(db_url: str) -> None:
    with session_scope() as session:
        ids = add_items(session, 4)
    with session_scope() as session:
        held = next_item(session, BOB).id
    with session_scope() as session:
        result = decide_many(session, ANN, ids, "accept")
    assert result.decided == [i for i in ids if i != held]
    assert list(result.refused) == [held] and "being curated by bob" in result.refused[held]
    assert _standing() == [(i, "accept", "ann") for i in ids if i != held]
    with session_scope() as session:
        groups = set(session.scalars(select(Decision.group_id)))
        audited = session.scalars(select(AuditEntry.target).where(AuditEntry.actor == "ann")).all()
    assert groups == {result.group_id}
    assert sorted(audited) == sorted(f"item:{i}" for i in result.decided)


def test_undo_reverts_the_whole_group_and_nothing_else(db_url: str) -> None:
    with session_scope() as session:
        single, *group = add_items(session, 4)
        decide(session, ANN, single, "reject")
    with session_scope() as session:
        decide_many(session, ANN, group, "accept")
    with session_scope() as session:
        undone = undo(session, ANN)
    assert undone.item_id == group[-1]
    assert _standing() == [(single, "reject", "ann")]
    with session_scope() as session:  # the next undo takes the single decision before the group
        assert undo(session, ANN).item_id == single
    assert _standing() == []


def test_nothing_decidable_is_an_error_and_writes_nothing(db_url: str) -> None:
    with session_scope() as session:
        ids = add_items(session, 2)
    for bad_ids, action, message in [(ids, "maybe", "unknown decision 'maybe'"),
                                     ([999], "accept", "no item with id 999"),
                                     ([], "accept", "takes 1 to 1000 item ids")]:
        with session_scope() as session, pytest.raises(QueueError, match=message):
            decide_many(session, ANN, bad_ids, action)
    assert _standing() == []


def test_a_viewer_may_not_bulk_decide(db_url: str) -> None:
    with session_scope() as session:
        ids = add_items(session, 2)
    with session_scope() as session, pytest.raises(PermissionDenied, match="may not accept"):
        decide_many(session, Actor("vic", Role.VIEWER), ids, "accept")
    assert _standing() == []


def test_cli_decide_many_and_undo_the_group(db_url: str) -> None:
    with session_scope() as session:
        ids = add_items(session, 3)
    code, result, _ = run_cli("decide-many", "reject", *map(str, ids), "--curator", "ann")
    assert code == 0 and result["decided"] == ids and result["refused"] == []
    code, undone, _ = run_cli("undo", "--curator", "ann")
    assert code == 0 and undone["group_id"] == result["group_id"]
    assert _standing() == []
    code, result, _ = run_cli("decide-many", "maybe", str(ids[0]), "--curator", "ann")
    assert code == 1 and "unknown decision" in result["error"]
