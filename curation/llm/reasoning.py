"""`reason`: assess every item that has text and no successful assessment for its
(content hash, model, prompt version). An item whose content was already assessed under another
id reuses that verdict at no cost (cache hit), so the same text is never billed twice.

Workers only talk to the LLM; this thread alone writes to the database, one row per finished
assessment, so an interrupted run keeps everything it paid for. Failed assessments are stored
with their error and tried again by the next run."""

import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any

from sqlalchemy import and_, exists, select
from sqlalchemy.orm import Session

from curation.llm.agent import Agent, Limits, Outcome
from curation.llm.pricing import Budget, price_of
from curation.llm.prompt import load_prompt
from curation.llm.providers import Provider, Sleep, make_provider
from curation.llm.tools import Document
from curation.progress import ProgressFn, no_progress
from curation.settings import get_settings
from curation.task import get_task
from db.models import Item, LLMAssessment
from db.session import session_scope


def _ok(model: str, prompt_version: str) -> Any:
    return and_(LLMAssessment.model == model, LLMAssessment.prompt_version == prompt_version,
                LLMAssessment.error.is_(None))


def _pending(session: Session, model: str, prompt_version: str, limit: int | None) -> list[Item]:
    done = exists().where(_ok(model, prompt_version), LLMAssessment.item_id == Item.id,
                          LLMAssessment.content_hash == Item.content_hash)
    query = select(Item).where(Item.text.is_not(None), Item.text != "", ~done).order_by(Item.id)
    return list(session.scalars(query.limit(limit)))


def _cached(session: Session, item: Item, model: str, prompt_version: str) -> LLMAssessment | None:
    if item.content_hash is None:
        return None
    return session.scalars(
        select(LLMAssessment).where(_ok(model, prompt_version),
                                    LLMAssessment.content_hash == item.content_hash)
        .order_by(LLMAssessment.id.desc()).limit(1)
    ).first()


def _copy(source: LLMAssessment, item: Item) -> LLMAssessment:
    """The same verdict for the same text, with no tokens or cost: it was paid for once."""
    return LLMAssessment(
        item_id=item.id, content_hash=item.content_hash, provider=source.provider,
        model=source.model, prompt_version=source.prompt_version, verdict=source.verdict,
        confidence=source.confidence, rationale=source.rationale,
        steps=[{"cached_from": source.id}, *source.steps], evidence=source.evidence,
        evidence_ok=source.evidence_ok, tokens_in=0, tokens_out=0, cost_usd=0.0, latency_ms=0.0,
    )


def _row(item: Item, provider: Provider, prompt_version: str, outcome: Outcome) -> LLMAssessment:
    verdict = outcome.verdict
    return LLMAssessment(
        item_id=item.id, content_hash=item.content_hash, provider=provider.name,
        model=provider.model, prompt_version=prompt_version,
        verdict=verdict.label if verdict else None,
        confidence=verdict.confidence if verdict else None,
        rationale=verdict.rationale if verdict else None, steps=outcome.steps,
        evidence=outcome.evidence, evidence_ok=outcome.evidence_ok, tokens_in=outcome.tokens_in,
        tokens_out=outcome.tokens_out, cost_usd=outcome.cost_usd, latency_ms=outcome.latency_ms,
        error=outcome.error,
    )


def _document(item: Item) -> Document:
    metadata = {"title": item.title, "url": item.url or item.canonical_url, "author": item.author,
                "site": item.site_name, "published_at": item.published_at}
    return Document(item.text or "", {k: v for k, v in metadata.items() if v})


def _plan(session: Session, items: list[Item], model: str, prompt_version: str,
          summary: dict[str, Any]) -> tuple[list[Item], list[Item]]:
    """Copy cache hits now; of the rest, run one item per content hash and hold back the others
    until it is done, so one run never pays twice for the same text."""
    to_run, duplicates, hashes = [], [], set()
    for item in items:
        source = _cached(session, item, model, prompt_version)
        if source:
            session.add(_copy(source, item))
            summary["cached"] += 1
        elif item.content_hash is not None and item.content_hash in hashes:
            duplicates.append(item)
        else:
            hashes.add(item.content_hash)
            to_run.append(item)
    return to_run, duplicates


def reason_items(*, limit: int | None = None, progress: ProgressFn = no_progress,
                 sleep: Sleep = time.sleep) -> dict[str, Any]:
    """Assess pending items with the configured LLM; stops cleanly at the spending cap.

    sleep is the wait between retries; tests pass one that does not really wait."""
    settings, task = get_settings(), get_task()
    prompt = load_prompt(settings.llm_prompt_version, task)
    price = price_of(settings.llm_model, settings.llm_prices)
    provider = make_provider(settings, sleep)
    budget = Budget(settings.llm_budget_usd)
    agent = Agent(provider, task, prompt, Limits(settings.llm_max_steps, settings.llm_max_item_tokens),
                  price, budget)
    summary: dict[str, Any] = {"provider": provider.name, "model": provider.model,
                               "prompt_version": prompt.version, "assessed": 0, "failed": 0,
                               "cached": 0, "not_started": 0, "evidence_flagged": 0,
                               "tokens_in": 0, "tokens_out": 0, "cost_usd": 0.0, "stopped": None}
    started = time.perf_counter()
    with session_scope() as session:
        items = _pending(session, provider.model, prompt.version, limit)
        to_run, duplicates = _plan(session, items, provider.model, prompt.version, summary)
    total = len(items)
    progress(summary["cached"], total, "assessing items")
    with ThreadPoolExecutor(max_workers=settings.llm_concurrency) as pool:
        queue = iter(to_run)
        running: dict[Future[Outcome], Item] = {}

        def submit_next() -> None:
            if budget.exhausted:
                return
            item = next(queue, None)
            if item is not None:
                running[pool.submit(agent.assess, _document(item))] = item

        for _ in range(settings.llm_concurrency):
            submit_next()
        while running:
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                item = running.pop(future)
                _store(item, provider, prompt.version, future.result(), summary)
                progress(summary["cached"] + summary["assessed"] + summary["failed"], total,
                         "assessing items")
                submit_next()
    with session_scope() as session:  # same text as an item assessed above: reuse, not rebill
        for item in duplicates:
            source = _cached(session, item, provider.model, prompt.version)
            if source:
                session.add(_copy(source, item))
                summary["cached"] += 1
    summary["not_started"] = total - summary["cached"] - summary["assessed"] - summary["failed"]
    if budget.exhausted:
        summary["stopped"] = (
            f"spending cap of ${budget.cap_usd:.2f} (CURATION_LLM_BUDGET_USD) reached after "
            f"${budget.spent_usd:.4f}; {summary['not_started']} item(s) not started; raise the cap "
            "or run `reason` again to continue"
        )
    summary["cost_usd"] = round(summary["cost_usd"], 6)
    summary["seconds"] = round(time.perf_counter() - started, 3)
    return summary


def _store(item: Item, provider: Provider, prompt_version: str, outcome: Outcome,
           summary: dict[str, Any]) -> None:
    if outcome.stopped_by_budget and outcome.tokens_in == outcome.tokens_out == 0:
        return  # refused by the cap before its first call: not started, nothing to record
    with session_scope() as session:
        session.add(_row(item, provider, prompt_version, outcome))
    summary["assessed" if outcome.error is None else "failed"] += 1
    summary["evidence_flagged"] += outcome.evidence_ok is False
    summary["tokens_in"] += outcome.tokens_in
    summary["tokens_out"] += outcome.tokens_out
    summary["cost_usd"] += outcome.cost_usd
