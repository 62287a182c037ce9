import pytest
from sqlalchemy import func, select

from curation.accounts.audit import list_audit
from curation.accounts.permissions import LOCAL_ADMIN, Actor
from curation.enums import Role
from curation.errors import PermissionDenied
from curation.jobs.submit import submit_as
from db.models import Job
from db.session import session_scope
from tests.factories import add_items, run_cli


def _jobs() -> int:
    with session_scope() as session:
        return session.scalar(select(func.count(Job.id)))


def test_a_viewer_may_not_start_jobs_and_a_curators_retrain_is_audited(db_url: str) -> None:
    viewer, curator = Actor("vera", Role.VIEWER), Actor("cora", Role.CURATOR)
    for kind in ("ingest", "train"):
        with pytest.raises(PermissionDenied, match="'vera' with role 'viewer' may not"):
            submit_as(viewer, kind, {"urls": ["https://e.org/"]} if kind == "ingest" else None)
    assert _jobs() == 0
    job, created = submit_as(curator, "train")
    assert created and job.kind == "train"
    with session_scope() as session:
        entries = list_audit(session, LOCAL_ADMIN)
    assert [(e["actor"], e["action"], e["target"]) for e in entries] == [("cora", "retrain", f"job:{job.id}")]


def test_every_n_labels_from_the_cli_queue_a_retrain(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CURATION_RETRAIN_EVERY_LABELS", "2")
    with session_scope() as session:
        first, second = add_items(session, 2)
    assert run_cli("decide", str(first), "accept", "--curator", "ann")[1]["retrain_job"] is None
    code, out, _ = run_cli("decide", str(second), "reject", "--curator", "ann")
    assert code == 0 and out["retrain_job"] is not None
    with session_scope() as session:  # and each decision asked for a refit: one, folded
        kinds = sorted(session.scalars(select(Job.kind)))
    assert kinds == ["refit", "train"]
