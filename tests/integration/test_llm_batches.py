"""Where the LLM pays: prompt caching, provider batches (resumed after a kill, expired requests
assessed one by one) and automatic assessment of uncertain items within a daily cap shared by
every worker. The real anthropic and openai clients against the stub, on SQLite and PostgreSQL."""

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from curation.enums import BatchStatus, LLMTrigger, ModelStatus
from curation.errors import ConfigError
from curation.files.importing import import_file
from curation.llm.reasoning import assess_uncertain, cancel_batches, reason_items
from curation.pipeline import score_new_items
from curation.settings import get_settings
from db.models import LLMBatch, ModelVersion, Score, ScoringRun
from db.session import session_scope
from models.training import train
from tests.factories import labelled_rows, make_row, run_cli, write_jsonl
from tests.integration.test_llm_reasoning import TEXT, add_item, assessments, stub, verdict  # noqa: F401
from tests.llm_stub import StubLLM, reply, tool
from tests.model_fixtures import small_model_settings, tiny_modernbert  # noqa: F401

SEARCH = tool("search_document", {"phrase": "in production"})
FIRST_BATCHED = 0.0006  # the stub's 1000 in + 100 out at $1/$2 per M, at the batch discount
CALL_COST = 0.0012


class Killed(BaseException):
    """What a worker kill looks like to the run: nothing catches it, nothing after it runs."""


def kill(_seconds: float) -> None:
    raise Killed


def batches() -> list[LLMBatch]:
    with session_scope() as session:
        return list(session.scalars(select(LLMBatch).order_by(LLMBatch.id)))


def long_text(sections: int = 40) -> str:
    return TEXT + "".join(f"\n\n## Part {n}\n\nWe measured latency and cost in production, week {n}, "
                          "across every region and tenant we serve." for n in range(sections))


def test_an_unknown_model_is_refused_with_the_fix_before_any_call(
    stub: StubLLM, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_item(1)
    monkeypatch.setenv("CURATION_LLM_MODEL", "my-finetune")
    get_settings.cache_clear()
    with pytest.raises(ConfigError, match=r"no price for .* model 'my-finetune'.*set CURATION_LLM_PRICES="):
        reason_items(sleep=lambda s: None)
    assert assessments() == [] and stub.requests == []


def test_cached_prompt_tokens_are_recorded_and_priced_at_the_cache_rates(
    stub: StubLLM, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CURATION_LLM_PRICES", '{"stub-model": [1.0, 2.0, 0.1, 1.25]}')
    get_settings.cache_clear()
    add_item(1, long_text())
    add_item(2, long_text(41))
    stub.script = [reply("", SEARCH, usage=None), reply("", verdict(), usage=None),
                   reply("", verdict(), usage=None)]
    result = reason_items(sleep=lambda s: None)
    row = assessments()[0]
    assert result["assessed"] == 2 and row.cache_read_tokens > 1000  # step 2 read step 1's prefix
    assert result["cache_read_tokens"] >= row.cache_read_tokens
    plain = row.tokens_in - row.cache_read_tokens - row.cache_write_tokens
    expected = (plain * 1 + row.cache_read_tokens * 0.1 + row.cache_write_tokens * 1.25
                + row.tokens_out * 2) / 1e6
    assert row.cost_usd == pytest.approx(expected) and row.cost_usd < (row.tokens_in + 2 * row.tokens_out) / 1e6
    if stub.provider == "anthropic":  # cacheable: the shared system prompt, and the transcript so far
        body = stub.requests[1]
        assert body["system"][0]["cache_control"] == {"type": "ephemeral"}
        assert body["messages"][-1]["content"][-1]["cache_control"] == {"type": "ephemeral"}
        assert row.cache_write_tokens > 0
    # The system prompt is the same for every document of a run, so it is cached across them.
    first, other = stub.requests[0], stub.requests[2]
    assert first.get("system") == other.get("system") and first["tools"] == other["tools"]
    assert first["messages"][0] == other["messages"][0] or first["messages"][0]["role"] == "user"


def _batch_script(stub: StubLLM, n: int) -> None:
    """n first steps answered in the batch, then each loop's verdict synchronously."""
    stub.script = [reply("", SEARCH) for _ in range(n)] + [reply("", verdict()) for _ in range(n)]


def test_a_batch_run_sends_first_steps_at_the_discount_and_finishes_each_loop(stub: StubLLM) -> None:
    ids = [add_item(n, f"{TEXT} {n}") for n in range(3)]
    _batch_script(stub, 3)
    result = reason_items(batch=True, sleep=lambda s: None)
    assert result["assessed"] == 3 and len(stub.batches) == 1
    assert result["batches"][0] | {"id": None} == {"id": None, "status": "ended", "resumed": False,
                                                   "items": 3, "from_batch": 3, "fallback": 0}
    rows = assessments()
    assert sorted(r.item_id for r in rows) == ids and all(r.batched for r in rows)
    assert [r.steps[0]["action"] for r in rows] == ["search_document"] * 3
    assert all(r.cost_usd == pytest.approx(FIRST_BATCHED + CALL_COST) for r in rows)
    assert result["cost_usd"] == pytest.approx(3 * (FIRST_BATCHED + CALL_COST))
    assert batches()[0].finished_at is not None and batches()[0].status == BatchStatus.ENDED


def test_a_batch_interrupted_by_a_worker_kill_resumes_without_a_second_bill(stub: StubLLM) -> None:
    ids = [add_item(n, f"{TEXT} {n}") for n in range(3)]
    _batch_script(stub, 3)
    with pytest.raises(Killed):
        reason_items(batch=True, sleep=kill)  # dies at the first wait for the batch
    assert assessments() == [] and [b.status for b in batches()] == [BatchStatus.SUBMITTED]
    result = reason_items(batch=True, sleep=lambda s: None)  # the restarted worker
    assert len(stub.batches) == 1, "the batch was sent again"
    assert result["batches"][0]["resumed"] is True and result["assessed"] == 3
    assert len(stub.requests) == 6  # three first steps in the one batch, three verdicts
    assert sorted(r.item_id for r in assessments()) == ids
    assert sum(r.cost_usd for r in assessments()) == pytest.approx(3 * (FIRST_BATCHED + CALL_COST))
    again = reason_items(batch=True, sleep=lambda s: None)
    assert (again["assessed"], again["batches"], len(stub.requests)) == (0, [], 6)


def test_an_expired_batch_falls_back_per_item_with_a_clear_status(stub: StubLLM) -> None:
    ids = [add_item(n, f"{TEXT} {n}") for n in range(3)]
    stub.expire_after = 1  # the provider answered only the first request in its window
    stub.script = [reply("", SEARCH), reply("", verdict()), reply("", verdict()), reply("", verdict())]
    result = reason_items(batch=True, sleep=lambda s: None)
    assert result["assessed"] == 3
    assert (result["batches"][0]["status"], result["batches"][0]["fallback"]) == ("expired", 2)
    rows = {r.item_id: r for r in assessments()}
    assert rows[ids[0]].batched and not rows[ids[1]].batched
    assert "expired" in rows[ids[1]].steps[0]["batch"]
    assert rows[ids[1]].steps[0]["batch"].endswith("assessed synchronously instead")
    assert rows[ids[1]].cost_usd == pytest.approx(CALL_COST)  # list price: it was not batched
    stored = batches()[0]
    assert stored.status == BatchStatus.EXPIRED
    assert stored.note == "2 of 3 request(s) had no result and were assessed synchronously"


def test_a_batch_held_back_by_the_spending_cap_stays_open_for_the_next_run(
    stub: StubLLM, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CURATION_LLM_MAX_TOKENS", "10")  # the batch's worst case fits the cap
    monkeypatch.setenv("CURATION_LLM_BUDGET_USD", "0.0025")  # but not three whole loops
    get_settings.cache_clear()
    ids = [add_item(n, f"{TEXT} {n}") for n in range(3)]
    _batch_script(stub, 3)
    first = reason_items(batch=True, sleep=lambda s: None)
    assert (first["assessed"], first["not_started"], len(stub.batches)) == (2, 1, 1)
    assert batches()[0].finished_at is None  # the third item's paid first step waits there
    monkeypatch.setenv("CURATION_LLM_BUDGET_USD", "1")
    get_settings.cache_clear()
    calls = len(stub.requests)
    second = reason_items(batch=True, sleep=lambda s: None)
    assert second["assessed"] == 1 and second["batches"][0]["resumed"] is True
    assert len(stub.requests) == calls + 1 and len(stub.batches) == 1  # only its verdict was asked
    last = {r.item_id: r for r in assessments()}[ids[2]]
    assert last.batched and last.cost_usd == pytest.approx(FIRST_BATCHED + CALL_COST)
    assert batches()[0].finished_at is not None


def test_a_cancelled_batch_keeps_what_it_finished_and_assesses_the_rest(stub: StubLLM) -> None:
    ids = [add_item(n, f"{TEXT} {n}") for n in range(3)]
    stub.expire_after, stub.batch_polls = 1, 5  # one request done when the curator cancels
    stub.script = [reply("", SEARCH), reply("", verdict()), reply("", verdict()), reply("", verdict())]
    cancelled: list[dict[str, Any]] = []

    def cancel_while_waiting(_seconds: float) -> None:
        if not cancelled:  # as `reason --cancel-batches` from another shell would
            cancelled.append(cancel_batches())

    result = reason_items(batch=True, sleep=cancel_while_waiting)
    assert cancelled == [{"canceled": list(stub.batches)}]
    assert (result["assessed"], result["batches"][0]["status"], result["batches"][0]["fallback"]) == (
        3, "canceled", 2)
    rows = {r.item_id: r for r in assessments()}
    assert rows[ids[0]].batched and "cancel" in rows[ids[2]].steps[0]["batch"]
    assert batches()[0].status == BatchStatus.CANCELED and batches()[0].finished_at is not None


def _scored(probabilities: list[float]) -> list[int]:
    ids = [add_item(n, f"{TEXT} {n}") for n in range(len(probabilities))]
    with session_scope() as session:
        version = ModelVersion(base_model="x", n_train=1, path="p", status=ModelStatus.TRAINED, active=True)
        session.add(version)
        session.flush()
        session.add_all([Score(item_id=i, model_version_id=version.id, probability=p)
                         for i, p in zip(ids, probabilities, strict=True)])
    return ids


def _auto_env(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    env = {"CURATION_LLM_AUTO": "true", "CURATION_LLM_AUTO_BAND": "0.15",
           "CURATION_LLM_AUTO_DAILY_USD": "0.002"}  # under two calls
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    get_settings.cache_clear()
    return env


def test_uncertain_items_are_assessed_most_uncertain_first_within_the_band(
    stub: StubLLM, monkeypatch: pytest.MonkeyPatch
) -> None:
    _auto_env(monkeypatch)
    monkeypatch.setenv("CURATION_LLM_AUTO_DAILY_USD", "1")
    get_settings.cache_clear()
    confident, wide, closest, close = _scored([0.97, 0.62, 0.52, 0.44])
    stub.respond = lambda body: reply("", verdict())
    result = assess_uncertain(sleep=lambda s: None)
    rows = assessments()
    assert result["assessed"] == 3 and result["trigger"] == "auto"
    assert [r.item_id for r in rows] == [closest, close, wide]  # confident is skipped
    assert all(r.trigger == LLMTrigger.AUTO for r in rows)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # a second process: one backend
@pytest.mark.parametrize("stub", ["anthropic"], indirect=True)
def test_the_daily_cap_holds_across_workers(stub: StubLLM, monkeypatch: pytest.MonkeyPatch) -> None:
    env = _auto_env(monkeypatch)
    _scored([0.5, 0.51, 0.49, 0.55])
    stub.respond = lambda body: reply("", verdict())
    first = assess_uncertain(sleep=lambda s: None)  # this worker spends the day's cap
    assert first["assessed"] == 2 and "CURATION_LLM_AUTO_DAILY_USD" in first["stopped"]
    code, out, _ = run_cli("reason", "--auto", env=env)  # another process, its own memory
    assert code == 0 and out["assessed"] == 0 and "CURATION_LLM_AUTO_DAILY_USD" in out["stopped"]
    assert len(stub.requests) == 2 and len(assessments()) == 2
    # A manual run is not bound by the automatic cap.
    assert reason_items(limit=1, sleep=lambda s: None)["assessed"] == 1



@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # training: one backend, one provider
@pytest.mark.parametrize("stub", ["anthropic"], indirect=True)
def test_new_items_the_model_is_unsure_of_are_assessed_right_after_scoring(
    stub: StubLLM, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, small_model_settings: None,
    tiny_modernbert: str,
) -> None:
    with session_scope() as session:
        import_file(session, write_jsonl(tmp_path / "rows.jsonl", labelled_rows(6, 6)))
    train(base_model=tiny_modernbert, promote=True)  # the promotion scores these twelve
    with session_scope() as session:  # new items arrive after it
        import_file(session, write_jsonl(tmp_path / "new.jsonl", [make_row(n, None) for n in range(900, 905)]))
    _auto_env(monkeypatch)
    monkeypatch.setenv("CURATION_LLM_AUTO_BAND", "0.5")  # a random tiny model: take every score
    monkeypatch.setenv("CURATION_LLM_AUTO_DAILY_USD", "0.003")
    get_settings.cache_clear()
    stub.respond = lambda body: reply("", verdict())
    result = score_new_items()
    assert result["scored"] == 5 and result["llm_auto"]["assessed"] == 3  # the cap: three calls
    assert {r.trigger for r in assessments()} == {LLMTrigger.AUTO}
    with session_scope() as session:
        run = session.scalars(select(ScoringRun).order_by(ScoringRun.id.desc())).first()
    assert (run.items, run.device) == (5, "cpu") and run.seconds > 0

