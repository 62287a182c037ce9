"""Background jobs against real databases and queues: the jobs table mirrors what a job does, a
second request for a running kind returns the first, a killed worker's job ends failed with the
reason, and two workers on one Redis queue run each job exactly once."""

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import redis
from sqlalchemy import func, select

from curation.accounts.audit import list_audit
from curation.accounts.permissions import LOCAL_ADMIN
from curation.enums import JobStatus
from curation.errors import ConfigError, JobError
from curation.files.importing import import_file
from curation.jobs import catalog, runner, store, triggers
from curation.jobs.broker import get_broker
from curation.jobs.submit import submit
from curation.jobs.worker import check_jobs, parse_cron, requeue_lost_jobs, scheduled_huey
from curation.settings import get_settings
from db.models import Item, Job, ModelVersion, Score
from db.session import session_scope
from tests.factories import REPO, make_row, run_cli, write_jsonl
from tests.integration.job_kinds import TEST_KINDS
from tests.model_fixtures import small_model_settings, tiny_modernbert  # noqa: F401
from tests.site import Site, article

REDIS_URL = "redis://127.0.0.1:6379/0"


def forget_queue() -> None:
    """Build Huey (and its schedules) afresh from the settings of this test."""
    get_broker.cache_clear()
    scheduled_huey.cache_clear()


@pytest.fixture(autouse=True)
def test_kinds(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for kind, spec in TEST_KINDS.items():
        monkeypatch.setitem(catalog.KINDS, kind, spec)
    forget_queue()
    yield
    forget_queue()


@pytest.fixture
def redis_queue(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A Redis queue of this test's own, deleted afterwards."""
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.ConnectionError as exc:
        pytest.skip(f"Redis at {REDIS_URL} is not reachable ({exc}); start it to run this test")
    name = f"curation-test-{uuid.uuid4().hex[:12]}"
    monkeypatch.setenv("CURATION_REDIS_URL", REDIS_URL)
    monkeypatch.setenv("CURATION_QUEUE_NAME", name)
    get_settings.cache_clear()
    forget_queue()
    yield name
    get_broker().huey.storage.flush_all()
    for key in client.scan_iter(match=f"*{name}*"):
        client.delete(key)
    assert not list(client.scan_iter(match=f"*{name}*"))


def drain() -> None:
    """What a worker does, in this process: take each queued task and execute it."""
    huey = get_broker().huey
    while (task := huey.dequeue()) is not None:
        huey.execute(task)


def job(job_id: int) -> Job:
    with session_scope() as session:
        found = store.get_job(session, job_id)
    assert found is not None
    return found


def job_count() -> int:
    with session_scope() as session:
        return session.scalar(select(func.count(Job.id))) or 0


def wait_for(condition: Callable[[], bool], what: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {seconds}s waiting for {what}")
        time.sleep(0.05)


def start_worker(log: Path | None = None, **env: str) -> subprocess.Popen[str]:
    """A real worker process (with the test kinds); its log goes to `log` when given."""
    return subprocess.Popen(
        [sys.executable, "-m", "tests.integration.job_kinds"], cwd=REPO, text=True,
        env={**os.environ, **env}, stdout=subprocess.DEVNULL,
        stderr=log.open("w") if log else subprocess.DEVNULL,
    )


def stop(worker: subprocess.Popen[str]) -> None:
    if worker.poll() is None:
        worker.send_signal(signal.SIGINT)
        try:
            worker.wait(timeout=15)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()


def test_jobs_table_mirrors_progress_and_result(db_url: str, tmp_path: Path) -> None:
    submitted, created = submit("record", {"log": str(tmp_path / "log"), "tag": "a", "steps": 4})
    assert created and submitted.status == JobStatus.QUEUED

    drain()

    finished = job(submitted.id)
    assert finished.status == JobStatus.DONE
    assert (finished.done, finished.total, finished.message) == (4, 4, "step 4 of 4")
    assert finished.result == {"tag": "a", "steps": 4}
    assert finished.worker == store.worker_id()
    assert finished.started_at is not None and finished.finished_at is not None
    with session_scope() as session:
        assert [j.id for j in store.list_jobs(session)] == [submitted.id]


def test_failed_job_keeps_the_error_and_frees_the_kind(db_url: str) -> None:
    first, _ = submit("fail")
    drain()

    failed = job(first.id)
    assert failed.status == JobStatus.FAILED
    assert failed.error == "CurationError: the test kind failed on purpose"
    assert (failed.done, failed.total) == (1, 2)
    again, created = submit("fail")
    assert created and again.id != first.id


def test_retrain_requested_twice_is_queued_once(db_url: str) -> None:
    first, created = submit("train", {"promote": True})
    second, created_again = submit("train")

    assert created and not created_again
    assert second.id == first.id and second.status == JobStatus.QUEUED
    assert job_count() == 1
    assert get_broker().huey.pending_count() == 1


def test_racing_submitters_create_one_job(db_url: str) -> None:
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda _: submit("train"), range(8)))

    assert sum(created for _, created in results) == 1
    assert len({submitted.id for submitted, _ in results}) == 1
    assert job_count() == 1


def test_a_job_delivered_twice_runs_once(db_url: str, tmp_path: Path) -> None:
    log = tmp_path / "log"
    submitted, _ = submit("record", {"log": str(log), "tag": "once"})

    runner.run_job(submitted.id)
    runner.run_job(submitted.id)

    assert log.read_text() == "once\n"
    assert job(submitted.id).status == JobStatus.DONE


@pytest.mark.parametrize(
    ("kind", "params", "message"),
    [
        ("nope", {}, "unknown job kind 'nope'; use one of: "),
        ("train", {"epochs": 3}, "train jobs take no parameter epochs; allowed: base_model, force, promote"),
        ("ingest", {}, 'ingest needs params {"urls": ["https://...", ...]}'),
        ("ingest", {"urls": []}, "ingest job parameter urls=[] must be a non-empty list of URL strings"),
    ],
)
def test_bad_job_requests_are_refused_and_queue_nothing(
    db_url: str, kind: str, params: dict[str, object], message: str
) -> None:
    with pytest.raises(JobError, match=message.replace("[", r"\[").replace("{", r"\{")):
        submit(kind, params)

    assert job_count() == 0
    assert get_broker().huey.pending_count() == 0


def test_retrain_is_queued_after_every_n_labels(db_url: str, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CURATION_RETRAIN_EVERY_LABELS", "3")
    get_settings.cache_clear()
    rows = [make_row(1, "accept"), make_row(2, "reject")]
    with session_scope() as session:
        import_file(session, write_jsonl(tmp_path / "a.jsonl", rows))
        # the cold-start scorer is rebuilt as labels come in; that is not a training
        session.add(ModelVersion(base_model="packaged", n_train=2, path="x", status="cold_start"))
    assert triggers.maybe_schedule_retrain() is None

    with session_scope() as session:
        import_file(session, write_jsonl(tmp_path / "b.jsonl", [make_row(3, "accept"), make_row(4, None)]))
        assert triggers.labels_since_last_training(session) == 3
    scheduled = triggers.maybe_schedule_retrain()

    assert scheduled is not None
    train_job, created = scheduled
    assert created and train_job.kind == "train" and train_job.params == {"promote": True}
    with session_scope() as session:
        assert triggers.labels_since_last_training(session) == 0
    assert triggers.maybe_schedule_retrain() is None


def test_retrain_every_n_labels_can_be_switched_off(db_url: str, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CURATION_RETRAIN_EVERY_LABELS", "0")
    get_settings.cache_clear()
    with session_scope() as session:
        import_file(session, write_jsonl(tmp_path / "a.jsonl", [make_row(n) for n in range(5)]))

    assert triggers.maybe_schedule_retrain() is None
    assert job_count() == 0


def test_a_bad_cron_schedule_names_the_setting() -> None:
    assert parse_cron("0 3 * * *", "CURATION_RETRAIN_CRON") is not None
    with pytest.raises(ConfigError, match=r"CURATION_RETRAIN_CRON='0 25 \* \* \*' is not a cron"):
        parse_cron("0 25 * * *", "CURATION_RETRAIN_CRON")
    with pytest.raises(ConfigError, match="it has 1 fields, not 5"):
        parse_cron("daily", "CURATION_FEED_CRON")


def second_try(job_id: int) -> Job | None:
    with session_scope() as session:
        return session.scalar(select(Job).where(Job.retry_of == job_id))


def signal_worker(worker: subprocess.Popen[str], signum: int = signal.SIGKILL) -> None:
    worker.send_signal(signum)
    worker.wait(timeout=15)


def block_in_a_worker(tmp_path: Path) -> tuple[Job, subprocess.Popen[str]]:
    """A job that blocks, already running in a fresh worker process."""
    started = tmp_path / "started"
    blocked, _ = submit("block", {"started": str(started)})
    worker = start_worker()
    try:
        wait_for(started.exists, "the job to start")
    except BaseException:
        stop(worker)
        raise
    return blocked, worker


def test_a_killed_workers_job_is_failed_with_the_reason_and_run_once_more(
    db_url: str, tmp_path: Path
) -> None:
    """SqliteHuey in CURATION_HOME (the default queue) with real worker processes."""
    blocked, worker = block_in_a_worker(tmp_path)
    try:
        signal_worker(worker)
        assert job(blocked.id).status == JobStatus.RUNNING  # nobody has noticed yet
        again, created = submit("block", blocked.params)
        assert not created and again.id == blocked.id  # still holds its kind until found dead

        worker = start_worker()  # fails the job and runs it again, until killed too
        wait_for(lambda: getattr(second_try(blocked.id), "status", None) == JobStatus.RUNNING,
                 "the second try to start")
        signal_worker(worker)
        worker = start_worker()
        retry_id = second_try(blocked.id).id  # type: ignore[union-attr]
        wait_for(lambda: job(retry_id).status == JobStatus.FAILED, "the second try to fail")
    finally:
        stop(worker)
    first, second = job(blocked.id), second_try(blocked.id)
    assert second is not None and second.params == first.params
    assert first.error == (f"worker {first.worker} died while running this job (its process is gone); "
                           f"it runs again as job {second.id}")
    assert f"worker {second.worker} died" in second.error
    assert (f"it was already the second try of job {first.id}, so it is not run again; "
            "submit it again (python -m curation jobs submit block)") in second.error
    assert second_try(second.id) is None and job_count() == 2  # no third try
    assert submit("record", {"log": str(tmp_path / "log"), "tag": "x"})[1]


def test_a_worker_stopped_with_sigterm_fails_its_running_job_with_the_reason(
    db_url: str, tmp_path: Path
) -> None:
    blocked, worker = block_in_a_worker(tmp_path)
    try:
        signal_worker(worker, signal.SIGTERM)
    finally:
        stop(worker)
    stopped = job(blocked.id)
    assert stopped.status == JobStatus.FAILED
    assert stopped.error == f"worker {stopped.worker} was stopped while running this job; submit it again"


def test_two_workers_on_redis_run_each_job_exactly_once(
    db_url: str, redis_queue: str, tmp_path: Path
) -> None:
    log = tmp_path / "log"
    logs = [tmp_path / "worker1.log", tmp_path / "worker2.log"]
    workers = [start_worker(path, CURATION_WORKERS="2") for path in logs]
    try:
        for path in logs:  # both consuming before any job exists, so both take part
            wait_for(lambda: "Huey consumer started" in path.read_text(), f"the worker in {path}")
        submitted = [submit("record", {"log": str(log), "tag": f"t{n}", "steps": 2})[0]
                     for n in range(40)]
        ids = [s.id for s in submitted]

        def all_done() -> bool:
            with session_scope() as session:
                statuses = session.scalars(select(Job.status).where(Job.id.in_(ids))).all()
            return all(status in (JobStatus.DONE, JobStatus.FAILED) for status in statuses)

        wait_for(all_done, "40 jobs to finish", seconds=60)
    finally:
        for worker in workers:
            stop(worker)
    assert sorted(log.read_text().split()) == sorted(f"t{n}" for n in range(40))
    for submitted_job in submitted:
        finished = job(submitted_job.id)
        assert finished.status == JobStatus.DONE, finished.error
        assert (finished.done, finished.total) == (2, 2)
    assert len({job(s.id).worker for s in submitted}) == 2
    assert get_broker().huey.pending_count() == 0


def test_cli_submits_once_and_lists_jobs(db_url: str) -> None:
    code, first, _ = run_cli("jobs", "submit", "train", "--params", '{"promote": true}')
    assert code == 0 and first["created"] and first["status"] == "queued"
    code, second, err = run_cli("jobs", "submit", "train")
    assert code == 0 and not second["created"] and second["id"] == first["id"]
    assert f"job {first['id']} (train) is already queued; not starting another" in err

    with session_scope() as session:
        [entry] = list_audit(session, LOCAL_ADMIN)
    assert (entry["action"], entry["target"]) == ("retrain", f"job:{first['id']}")
    assert entry["actor"].startswith("cli:")
    code, listed, _ = run_cli("jobs")
    assert code == 0
    listed_jobs = [(j["id"], j["kind"], j["params"]) for j in listed["jobs"]]
    assert listed_jobs == [(first["id"], "train", {"promote": True})]


def test_cli_refuses_bad_params_and_writes_nothing(db_url: str) -> None:
    code, out, _ = run_cli("jobs", "submit", "reason", "--params", "limit=3")
    assert code == 1 and out["error"].startswith("--params 'limit=3' is not JSON")
    code, out, _ = run_cli("jobs", "submit", "reason", "--params", "[3]")
    assert code == 1 and "must be a JSON object" in out["error"]
    assert job_count() == 0


@pytest.mark.usefixtures("fetch_env")
def test_an_ingest_job_fetches_the_urls_and_records_the_summary(db_url: str, site: Site) -> None:
    url = site.add("/blog/launch", body=article("How we shipped our support assistant"))
    missing = site.add("/blog/gone", status=404, body="gone")
    submitted, _ = submit("ingest", {"urls": [url, missing], "allow_private_hosts": True})

    drain()

    finished = job(submitted.id)
    assert finished.status == JobStatus.DONE, finished.error
    assert {k: finished.result[k] for k in ("fetched", "failed", "duplicates")} == {
        "fetched": 1, "failed": 1, "duplicates": 0}
    assert len(finished.result["errors"]) == 1 and "404" in finished.result["errors"][0]
    assert finished.total and finished.done == finished.total
    with session_scope() as session:
        assert session.scalar(select(Item.title).where(Item.url == url)) == (
            "How we shipped our support assistant")


def test_an_unreachable_redis_is_a_clear_error_and_the_job_does_not_block_its_kind(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CURATION_REDIS_URL", "redis://127.0.0.1:1/0")
    get_settings.cache_clear()

    with pytest.raises(JobError, match=r"could not put job \d+ \(train\) on the queue 'curation': .*"
                                       r"check that Redis at CURATION_REDIS_URL is running, or unset it"):
        submit("train")

    with session_scope() as session:
        [failed] = store.list_jobs(session)
    assert failed.status == JobStatus.FAILED and failed.error.startswith("could not queue: ")
    monkeypatch.delenv("CURATION_REDIS_URL")
    get_settings.cache_clear()
    forget_queue()
    assert submit("train")[1]


def test_a_queued_job_whose_message_was_lost_is_requeued_and_runs_once(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = tmp_path / "log"
    lost, _ = submit("record", {"log": str(log), "tag": "lost"})
    waiting, _ = submit("record", {"log": str(log), "tag": "waiting"})
    huey = get_broker().huey
    huey.dequeue()  # the first job's message disappears (a Redis restart, a worker crash)
    monkeypatch.setenv("CURATION_JOB_STALE_AFTER_S", "0.000001")
    get_settings.cache_clear()

    assert requeue_lost_jobs() == [lost.id]
    drain()

    assert sorted(log.read_text().split()) == ["lost", "waiting"]
    assert job(lost.id).status == job(waiting.id).status == JobStatus.DONE


def test_a_reason_job_assesses_items_with_the_llm(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.integration.test_llm_reasoning import add_item, settings_env, verdict
    from tests.llm_stub import StubLLM, reply

    add_item(1)
    with StubLLM() as llm:
        for key, value in settings_env("openai", llm.url).items():
            monkeypatch.setenv(key, value)
        get_settings.cache_clear()
        llm.script = [reply("Enough evidence.", verdict("accept"))]
        submitted, _ = submit("reason", {"limit": 5})
        drain()

    finished = job(submitted.id)
    assert finished.status == JobStatus.DONE, finished.error
    assert (finished.result["assessed"], finished.result["failed"]) == (1, 0)
    assert (finished.done, finished.total) == (1, 1)


def test_a_reason_job_by_batch_sends_first_steps_as_one_provider_batch(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.integration.test_llm_reasoning import add_item, settings_env, verdict
    from tests.llm_stub import StubLLM, reply

    add_item(1)
    add_item(2, "Another text")
    with StubLLM() as llm:
        for key, value in {**settings_env("anthropic", llm.url), "CURATION_LLM_BATCH_POLL_S": "0"}.items():
            monkeypatch.setenv(key, value)
        get_settings.cache_clear()
        llm.script = [reply("", verdict("accept")), reply("", verdict("reject"))]
        submitted, _ = submit("reason", {"batch": True})
        drain()
        assert len(llm.batches) == 1

    finished = job(submitted.id)
    assert finished.status == JobStatus.DONE, finished.error
    assert finished.result["assessed"] == 2 and finished.result["batches"][0]["from_batch"] == 2


def test_a_train_job_that_promotes_scores_what_is_stored_and_queues_a_score_job_for_the_rest(
    db_url: str, tmp_path: Path, tiny_modernbert: str, small_model_settings: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from tests.factories import labelled_rows

    monkeypatch.setenv("CURATION_MODEL_ROOTS", json.dumps([str(Path(tiny_modernbert).parent)]))
    get_settings.cache_clear()

    with session_scope() as session:
        import_file(session, write_jsonl(tmp_path / "rows.jsonl", labelled_rows(6, 6) + [make_row(900, None)]))
    train_job, _ = submit("train", {"base_model": tiny_modernbert, "promote": True})

    drain()

    trained = job(train_job.id)
    assert trained.status == JobStatus.DONE, trained.error
    assert trained.result["promoted"] and trained.total and trained.done == trained.total
    scored = job(trained.result["score_job"])
    assert (scored.kind, scored.status) == ("score", JobStatus.DONE), scored.error
    assert scored.result["scored"] == 1  # the unlabelled item: the 12 labelled ones were stored
    with session_scope() as session:
        assert session.scalar(select(func.count()).select_from(Score)) == 13


def test_the_index_job_queued_by_an_import_makes_its_items_searchable(db_url: str, tmp_path: Path) -> None:
    rows = [make_row(1, None), make_row(2, "accept") | {"text": "We deployed a retrieval assistant."}]
    code, out, _ = run_cli("import", str(write_jsonl(tmp_path / "rows.jsonl", rows)))
    assert code == 0
    indexing = job(out["index_job"])
    assert (indexing.kind, indexing.status) == ("index", JobStatus.QUEUED)
    huey = get_broker().huey
    huey.execute(huey.dequeue())  # the index job was queued first
    indexed = job(indexing.id)
    assert (indexed.status, indexed.result) == (JobStatus.DONE, {"indexed": 2}), indexed.error
    code, found, _ = run_cli("search", "retrieval")
    assert [hit["title"] for hit in found["results"]] == ["Post 2"] and found["not_yet_searchable"] == 0


def test_the_minute_check_queues_an_index_job_for_items_no_request_reached(db_url: str, tmp_path: Path) -> None:
    """An import whose request folded into an index job that had already looked would wait
    for the next import; the worker's minute check queues one for them."""
    check_jobs()
    assert job_count() == 0  # nothing waits: nothing queued
    with session_scope() as session:
        import_file(session, write_jsonl(tmp_path / "rows.jsonl", [make_row(1, None)]))
    check_jobs()
    check_jobs()  # a second look folds into the queued job
    with session_scope() as session:
        kinds = session.scalars(select(Job.kind)).all()
    assert kinds == ["index"]
    drain()
    code, found, _ = run_cli("search", "post")
    assert len(found["results"]) == 1 and found["not_yet_searchable"] == 0


def test_schedules_fire_at_their_times_and_can_be_switched_off(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from datetime import datetime

    from curation.jobs.worker import reread_feeds

    def due(hour: int, minute: int) -> list[str]:
        get_settings.cache_clear()
        forget_queue()
        return sorted(task.name for task in scheduled_huey().read_periodic(datetime(2026, 1, 5, hour, minute)))

    monkeypatch.setenv("CURATION_RETRAIN_CRON", "0 3 * * *")
    monkeypatch.setenv("CURATION_FEED_URLS", '["https://example.com/feed.xml"]')
    monkeypatch.setenv("CURATION_FEED_CRON", "30 */6 * * *")
    assert due(3, 0) == ["check_jobs", "scheduled_retrain"]
    assert due(6, 30) == ["check_jobs", "reread_feeds"]
    assert due(4, 0) == ["check_jobs"]
    reread_feeds()
    with session_scope() as session:
        [feed_job] = store.list_jobs(session)
    assert (feed_job.kind, feed_job.params) == ("ingest", {"urls": ["https://example.com/feed.xml"]})

    monkeypatch.setenv("CURATION_RETRAIN_CRON", "")
    monkeypatch.setenv("CURATION_FEED_CRON", "")
    assert due(3, 0) == due(6, 30) == ["check_jobs"]
