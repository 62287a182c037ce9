"""Agreement report: how often the LLM, the classifier and the curators give the same label, and
what the LLM costs in money and time per 1,000 items, next to the classifier's measured cost, and
how much of the corpus the LLM has seen and why. Works before any classifier exists (its
rows are then empty) and before any curator has decided."""

import statistics
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from curation.enums import LLMTrigger
from curation.llm.latest import latest_assessment_id
from curation.llm.pricing import spent_today
from curation.settings import get_settings
from curation.task import get_task
from curation.triage.labels import current_labels
from db.lookups import rows_where_in
from db.models import Item, LLMAssessment, Score, ScoringRun, says_positive
from models.registry import active_version_id


def _latest_verdicts(session: Session) -> dict[int, str]:
    """Each item's newest successful LLM verdict."""
    return dict(session.execute(
        select(LLMAssessment.item_id, LLMAssessment.verdict)
        .where(LLMAssessment.id == latest_assessment_id(LLMAssessment.item_id))
    ).all())


def _classifier_labels(session: Session, item_ids: set[int]) -> tuple[int | None, dict[int, str]]:
    """The active model version's labels of these items (the ones a curator or the LLM labelled:
    only those can be compared, and reading every score would grow with the corpus); (None, {})
    while no model is active."""
    version = active_version_id(session)
    if version is None:
        return None, {}
    task = get_task()
    rows = rows_where_in(session, select(Score.item_id, Score.probability)
                         .where(Score.model_version_id == version), Score.item_id, item_ids)
    return version, {item_id: task.positive_label if says_positive(p) else task.negative_label
                     for item_id, p in rows}


def _scored(session: Session, version: int | None) -> int:
    if version is None:
        return 0
    return session.scalar(select(func.count()).where(Score.model_version_id == version)) or 0


def _agreement(a: dict[int, str], b: dict[int, str]) -> dict[str, Any]:
    shared = a.keys() & b.keys()
    agree = sum(a[i] == b[i] for i in shared)
    return {"n": len(shared), "agree": agree, "rate": round(agree / len(shared), 4) if shared else None}


def _usage(session: Session) -> dict[str, Any]:
    rows = session.execute(select(LLMAssessment.item_id, LLMAssessment.cost_usd,
                                  LLMAssessment.latency_ms, LLMAssessment.tokens_in,
                                  LLMAssessment.tokens_out, LLMAssessment.error,
                                  LLMAssessment.evidence_ok)).all()
    items = {r.item_id for r in rows}
    total = sum(r.cost_usd for r in rows)
    billed = [r.latency_ms for r in rows if r.latency_ms and (r.tokens_in or r.tokens_out)]
    per_1000 = 1000 / len(items) if items else None
    return {
        "assessments": len(rows), "items": len(items),
        "failed": sum(r.error is not None for r in rows),
        "evidence_flagged": sum(r.evidence_ok is False for r in rows),
        "cost_usd": round(total, 6),
        "cost_per_1000_items_usd": round(total * per_1000, 4) if per_1000 else None,
        "tokens_per_1000_items": round(sum(r.tokens_in + r.tokens_out for r in rows) * per_1000)
        if per_1000 else None,
        "latency_ms_p50": round(statistics.median(billed), 1) if billed else None,
        # one at a time; divide by CURATION_LLM_CONCURRENCY for a run with several workers
        "hours_per_1000_items": round(statistics.fmean(billed) * 1000 / 3_600_000, 3) if billed else None,
    }


def _per_1000(rows: list[Any]) -> dict[str, Any]:
    """Cost and latency per 1,000 items of one group of assessments."""
    items = {r.item_id for r in rows}
    billed = [r.latency_ms for r in rows if r.latency_ms and (r.tokens_in or r.tokens_out)]
    return {"items": len(items),
            "usd": round(sum(r.cost_usd for r in rows) * 1000 / len(items), 4) if items else None,
            "latency_ms_p50": round(statistics.median(billed), 1) if billed else None}


def _llm_by_mode(session: Session) -> dict[str, Any]:
    """The LLM's cost per 1,000 items as it was paid: synchronously at list price, with its first
    step batched, and with prompt-cache reads; cached copies (no tokens) are left out."""
    rows = session.execute(select(
        LLMAssessment.item_id, LLMAssessment.cost_usd, LLMAssessment.latency_ms, LLMAssessment.tokens_in,
        LLMAssessment.tokens_out, LLMAssessment.batched, LLMAssessment.cache_read_tokens,
    ).where(LLMAssessment.tokens_in > 0)).all()
    return {"synchronous": _per_1000([r for r in rows if not r.batched]),
            "batched": _per_1000([r for r in rows if r.batched]),
            "cached": _per_1000([r for r in rows if r.cache_read_tokens]),
            "cache_read_share": round(sum(r.cache_read_tokens for r in rows)
                                      / max(1, sum(r.tokens_in for r in rows)), 4)}


def _classifier_cost(session: Session) -> dict[str, Any]:
    """Measured scoring seconds of the active version times CURATION_CLASSIFIER_USD_PER_HOUR."""
    version = active_version_id(session)
    items, seconds, device = session.execute(
        select(func.sum(ScoringRun.items), func.sum(ScoringRun.seconds), func.max(ScoringRun.device))
        .where(ScoringRun.model_version_id == version)).one()
    per_hour = get_settings().classifier_usd_per_hour
    if not items:
        return {"items": 0, "usd": None, "seconds_per_1000": None, "device": None, "usd_per_hour": per_hour}
    per_1000_s = seconds * 1000 / items
    return {"items": items, "usd": round(per_1000_s / 3600 * per_hour, 6),
            "seconds_per_1000": round(per_1000_s, 2), "device": device, "usd_per_hour": per_hour}


def _coverage(session: Session) -> dict[str, Any]:
    """How much of the corpus has an LLM verdict, and why it was asked for."""
    settings = get_settings()
    corpus = session.scalar(select(func.count(Item.id)).where(Item.text.is_not(None), Item.text != ""))
    by_trigger = dict(session.execute(
        select(LLMAssessment.trigger, func.count(func.distinct(LLMAssessment.item_id)))
        .where(LLMAssessment.verdict.is_not(None)).group_by(LLMAssessment.trigger)).all())
    assessed = session.scalar(select(func.count(func.distinct(LLMAssessment.item_id)))
                              .where(LLMAssessment.verdict.is_not(None))) or 0
    return {"corpus": corpus, "assessed": assessed,
            "share": round(assessed / corpus, 4) if corpus else None,
            "by_trigger": {t.value: by_trigger.get(t.value, 0) for t in LLMTrigger},
            "auto": {"enabled": settings.llm_auto, "band": settings.llm_auto_band,
                     "daily_cap_usd": settings.llm_auto_daily_usd,
                     "spent_today_usd": round(spent_today(session), 6)}}


def agreement_report(session: Session) -> dict[str, Any]:
    """LLM vs classifier vs curator agreement, and LLM cost and latency per 1,000 items."""
    labels = current_labels()
    curator = dict(session.execute(select(labels.c.item_id, labels.c.label)).all())
    llm = _latest_verdicts(session)
    version, classifier = _classifier_labels(session, curator.keys() | llm.keys())
    return {
        "labelled": len(curator), "llm_verdicts": len(llm),
        "classifier_version": version, "classifier_scored": _scored(session, version),
        "llm_vs_curator": _agreement(llm, curator),
        "classifier_vs_curator": _agreement(classifier, curator),
        "llm_vs_classifier": _agreement(llm, classifier),
        "llm_usage": _usage(session),
        "coverage": _coverage(session),
        "cost_per_1000_items": {"classifier": _classifier_cost(session), "llm": _llm_by_mode(session)},
    }
