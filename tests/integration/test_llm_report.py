"""The agreement report on real databases: before anything exists, and with curator labels, LLM
verdicts and an active classifier that agree on some items and not others."""

from datetime import UTC, datetime

import pytest

from curation.enums import FetchStatus, ModelStatus, SourceType
from curation.llm.report import agreement_report
from db.models import Decision, Item, LLMAssessment, ModelVersion, Score, ScoringRun
from db.session import session_scope
from tests.factories import run_cli


def add_items(session, n: int) -> list[int]:  # type: ignore[no-untyped-def]
    items = [Item(canonical_url=f"https://example.com/{i}", source_type=SourceType.IMPORT, text=f"text {i}",
                  content_hash=f"h{i}", fetch_status=FetchStatus.OK) for i in range(n)]
    session.add_all(items)
    session.flush()
    return [i.id for i in items]


def assessment(
    item_id: int, verdict: str | None, cost: float = 0.01, error: str | None = None
) -> LLMAssessment:
    return LLMAssessment(item_id=item_id, content_hash="h", provider="anthropic", model="m",
                         prompt_version="v1-x", verdict=verdict, evidence_ok=verdict and True,
                         tokens_in=900, tokens_out=100, cost_usd=cost, latency_ms=2000.0, error=error)


def test_the_report_is_empty_but_valid_before_any_labels_scores_or_assessments(db_url: str) -> None:
    with session_scope() as session:
        report = agreement_report(session)
    assert report["classifier_version"] is None and report["labelled"] == 0
    assert report["llm_vs_curator"] == {"n": 0, "agree": 0, "rate": None}
    assert report["llm_usage"]["cost_per_1000_items_usd"] is None


def test_agreement_rates_cost_and_latency_per_thousand_items(db_url: str) -> None:
    with session_scope() as session:
        a, b, c, d = add_items(session, 4)
        session.add_all([Decision(item_id=i, label=label, curator="ada")
                         for i, label in [(a, "accept"), (b, "reject"), (c, "accept")]])
        session.add(Decision(item_id=d, label="reject", curator="ada", undone_at=datetime.now(UTC)))
        # LLM: right on a and b, wrong on c; c's later failed retry does not replace its verdict.
        session.add_all([assessment(a, "accept"), assessment(b, "reject"), assessment(c, "reject"),
                         assessment(c, None, cost=0.002, error="timed out"), assessment(d, "accept")])
        old = ModelVersion(base_model="x", n_train=1, path="p", status=ModelStatus.TRAINED, active=False)
        active = ModelVersion(base_model="x", n_train=2, path="q", status=ModelStatus.TRAINED, active=True)
        session.add_all([old, active])
        session.flush()
        session.add_all([Score(item_id=a, model_version_id=active.id, probability=0.9),
                         Score(item_id=b, model_version_id=active.id, probability=0.7),
                         Score(item_id=a, model_version_id=old.id, probability=0.1)])
    with session_scope() as session:
        report = agreement_report(session)
    assert (report["labelled"], report["llm_verdicts"], report["classifier_version"]) == (3, 4, active.id)
    assert report["llm_vs_curator"] == {"n": 3, "agree": 2, "rate": pytest.approx(0.6667)}
    assert report["classifier_vs_curator"] == {"n": 2, "agree": 1, "rate": 0.5}
    assert report["llm_vs_classifier"] == {"n": 2, "agree": 1, "rate": 0.5}
    usage = report["llm_usage"]
    assert (usage["assessments"], usage["items"], usage["failed"]) == (5, 4, 1)
    assert usage["cost_per_1000_items_usd"] == pytest.approx(0.042 / 4 * 1000)
    assert usage["latency_ms_p50"] == 2000.0 and usage["hours_per_1000_items"] == pytest.approx(0.556)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_agreement_cli_prints_the_report(db_url: str) -> None:
    code, out, _ = run_cli("agreement")
    assert code == 0 and out["llm_vs_classifier"]["n"] == 0


def test_cost_per_thousand_items_side_by_side_and_coverage_by_trigger(db_url: str) -> None:
    with session_scope() as session:
        a, b, c, _ = add_items(session, 4)
        version = ModelVersion(base_model="x", n_train=1, path="p", status=ModelStatus.TRAINED, active=True)
        session.add(version)
        session.flush()
        session.add(ScoringRun(model_version_id=version.id, items=500, seconds=90.0, device="cpu"))
        sync = assessment(a, "accept", cost=0.02)
        batched = assessment(b, "reject", cost=0.008)
        batched.batched, batched.trigger, batched.cache_read_tokens = True, "auto", 600
        session.add_all([sync, batched, assessment(c, None, cost=0.001, error="timed out")])
    with session_scope() as session:
        report = agreement_report(session)
    classifier = report["cost_per_1000_items"]["classifier"]
    assert (classifier["seconds_per_1000"], classifier["device"]) == (180.0, "cpu")
    assert classifier["usd"] == pytest.approx(180 / 3600 * 0.10)  # CURATION_CLASSIFIER_USD_PER_HOUR
    llm = report["cost_per_1000_items"]["llm"]
    assert llm["batched"]["usd"] == pytest.approx(8.0) and llm["cached"]["items"] == 1
    assert llm["synchronous"]["items"] == 2  # a and the failed c
    assert report["coverage"] | {"auto": None} == {
        "corpus": 4, "assessed": 2, "share": 0.5, "by_trigger": {"manual": 1, "auto": 1}, "auto": None}
