import re

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


LIFTING = [("ingest", {"urls": ["https://e.org/"], "allow_private_hosts": True}),
           ("train", {"promote": True, "force": True}),
           ("train", {"base_model": "answerdotai/ModernBERT-base"})]


@pytest.mark.parametrize(("kind", "params"), LIFTING)
@pytest.mark.parametrize("role", list(Role))
def test_parameters_that_lift_a_safety_rule_need_an_admin(db_url: str, role: Role, kind: str, params: dict) -> None:
    who = Actor("someone", role)
    if role == Role.ADMIN:
        job, _ = submit_as(who, kind, params)
        assert job.params == params
        return
    match = "may not" if role == Role.VIEWER else rf"{kind} job parameter \w+: .*may not lift a safety rule"
    with pytest.raises(PermissionDenied, match=match):
        submit_as(who, kind, params)
    assert _jobs() == 0


@pytest.mark.parametrize("params", [{"urls": ["https://e.org/"], "allow_private_hosts": False},
                                    {"urls": ["https://e.org/"], "allow_private_hosts": None}])
def test_a_curator_may_pass_a_lifting_parameter_switched_off(db_url: str, params: dict) -> None:
    job, created = submit_as(Actor("cora", Role.CURATOR), "ingest", params)
    assert created and job.kind == "ingest"


@pytest.mark.parametrize(("kind", "params", "reason"), [
    ("ingest", {"urls": ["https://e.org/"], "allow_private_hosts": "yes"}, "allow_private_hosts='yes' must be true or false"),
    ("ingest", {"urls": []}, "urls=[] must be a non-empty list"),
    ("ingest", {"urls": "https://e.org/"}, "must be a non-empty list"),
    ("reason", {"limit": "10"}, "limit='10' must be a whole number"),
    ("reason", {"limit": 0}, "limit=0 must be a whole number of at least 1"),
    ("train", {"promote": 1}, "promote=1 must be true or false"),
    ("train", {"base_model": "/etc"}, "base_model='/etc' is neither a hub name"),
    ("train", {"base_model": "../../etc/x"}, "is neither a hub name"),
    ("train", {"base_model": ["org/name"]}, "must be a hub name"),
])
def test_each_parameter_is_checked_before_anything_is_stored(
    db_url: str, kind: str, params: dict, reason: str
) -> None:
    from curation.errors import JobError

    with pytest.raises(JobError, match=re.escape(reason)):
        submit_as(LOCAL_ADMIN, kind, params)
    assert _jobs() == 0


def test_a_base_model_folder_must_be_under_a_model_root(db_url: str, home, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    from curation.errors import JobError
    from curation.settings import get_settings

    inside, outside = home / "models" / "mine", home / "elsewhere"
    inside.mkdir(parents=True)
    outside.mkdir()
    (inside / "escape").symlink_to(outside)
    assert submit_as(LOCAL_ADMIN, "train", {"base_model": str(inside)})[0].params["base_model"] == str(inside)
    for bad in (outside, inside / "escape", inside / ".." / ".." / "elsewhere"):
        with pytest.raises(JobError, match="is neither a hub name"):
            submit_as(LOCAL_ADMIN, "train", {"base_model": str(bad)})
    monkeypatch.setenv("CURATION_MODEL_ROOTS", f'["{outside}"]')
    get_settings.cache_clear()
    assert submit_as(LOCAL_ADMIN, "train", {"base_model": str(outside)})[1] is False  # the train job above


def test_a_password_in_an_ingest_url_is_not_stored_with_the_job(db_url: str) -> None:
    job, _ = submit_as(Actor("cora", Role.CURATOR), "ingest", {"urls": ["https://me:hunter2@e.org/a"]})
    with session_scope() as session:
        assert session.get_one(Job, job.id).params == {"urls": ["https://e.org/a"]}
