"""`reason`: assess every item that has text and no successful assessment for its
(content hash, model, prompt version). An item whose content was already assessed under another
id reuses that verdict at no cost (cache hit), so the same text is never billed twice.

Workers only talk to the LLM; this thread alone writes to the database, one row per finished
assessment, so an interrupted run keeps everything it paid for. Failed assessments are stored
with their error and tried again by the next run.

With batch=True the first step of every document goes through the provider's batch API at half
price; the rest of each ReAct loop runs synchronously (a later step depends on the observation
before it, so batching it too would add a batch round trip, minutes to hours, per step). The
batch row is stored before the first poll: a run that dies while waiting is resumed by the next
one from the provider's stored results, never sent again."""

import json
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any

from sqlalchemy import and_, exists, select, update
from sqlalchemy.orm import Session

from curation.enums import BatchStatus, LLMTrigger
from curation.llm.agent import Agent, Limits, Outcome
from curation.llm.pricing import Budget, DailyBudget, Tokens, cost_usd, price_of
from curation.llm.prompt import Prompt, load_prompt
from curation.llm.providers import BatchResult, Provider, Sleep, Turn, make_provider
from curation.llm.tools import Document
from curation.progress import ProgressFn, no_progress
from curation.settings import Settings, get_settings
from curation.task import get_task
from db.models import SCORE_MARGIN, Item, LLMAssessment, LLMBatch, Score, utcnow
from db.session import session_scope
from models.registry import active_version_id

CHARS_PER_TOKEN = 4  # for the cost estimate that keeps a batch within the spending cap
AUTO_ITEMS = 1000  # most items one automatic pass plans: the daily cap stops it long before


def _ok(model: str, prompt_version: str) -> Any:
    return and_(LLMAssessment.model == model, LLMAssessment.prompt_version == prompt_version,
                LLMAssessment.error.is_(None))


def _not_done(model: str, prompt_version: str) -> Any:
    done = exists().where(_ok(model, prompt_version), LLMAssessment.item_id == Item.id,
                          LLMAssessment.content_hash == Item.content_hash)
    return and_(Item.text.is_not(None), Item.text != "", ~done)


def _pending(session: Session, model: str, prompt_version: str, limit: int | None) -> list[Item]:
    query = select(Item).where(_not_done(model, prompt_version)).order_by(Item.id)
    return list(session.scalars(query.limit(limit)))


def _uncertain(session: Session, model: str, prompt_version: str, band: float,
               limit: int | None) -> list[Item]:
    """Unassessed items the active model scored within band of the threshold, most uncertain
    first (the ix_scores_margin index serves the order)."""
    version = active_version_id(session)
    if version is None:
        return []
    query = (select(Item).join(Score, and_(Score.item_id == Item.id, Score.model_version_id == version))
             .where(SCORE_MARGIN <= band, _not_done(model, prompt_version))
             .order_by(SCORE_MARGIN, Item.id))
    return list(session.scalars(query.limit(limit)))


def _cached(session: Session, item: Item, model: str, prompt_version: str) -> LLMAssessment | None:
    if item.content_hash is None:
        return None
    return session.scalars(
        select(LLMAssessment).where(_ok(model, prompt_version),
                                    LLMAssessment.content_hash == item.content_hash)
        .order_by(LLMAssessment.id.desc()).limit(1)
    ).first()


def _copy(source: LLMAssessment, item: Item, trigger: str) -> LLMAssessment:
    """The same verdict for the same text, with no tokens or cost: it was paid for once."""
    return LLMAssessment(
        item_id=item.id, content_hash=item.content_hash, provider=source.provider,
        model=source.model, prompt_version=source.prompt_version, verdict=source.verdict,
        confidence=source.confidence, rationale=source.rationale,
        steps=[{"cached_from": source.id}, *source.steps], evidence=source.evidence,
        evidence_ok=source.evidence_ok, tokens_in=0, tokens_out=0, cost_usd=0.0, latency_ms=0.0,
        trigger=trigger,
    )


def _row(item: Item, provider: Provider, prompt_version: str, outcome: Outcome,
         trigger: str) -> LLMAssessment:
    verdict = outcome.verdict
    return LLMAssessment(
        item_id=item.id, content_hash=item.content_hash, provider=provider.name,
        model=provider.model, prompt_version=prompt_version,
        verdict=verdict.label if verdict else None,
        confidence=verdict.confidence if verdict else None,
        rationale=verdict.rationale if verdict else None, steps=outcome.steps,
        evidence=outcome.evidence, evidence_ok=outcome.evidence_ok, tokens_in=outcome.tokens_in,
        tokens_out=outcome.tokens_out, cost_usd=outcome.cost_usd, latency_ms=outcome.latency_ms,
        error=outcome.error, cache_read_tokens=outcome.cache_read_tokens,
        cache_write_tokens=outcome.cache_write_tokens, batched=outcome.batched, trigger=trigger,
    )


def _document(item: Item) -> Document:
    metadata = {"title": item.title, "url": item.url or item.canonical_url, "author": item.author,
                "site": item.site_name, "published_at": item.published_at}
    return Document(item.text or "", {k: v for k, v in metadata.items() if v})


def _plan(session: Session, items: list[Item], model: str, prompt_version: str,
          summary: dict[str, Any], trigger: str) -> tuple[list[Item], list[Item]]:
    """Copy cache hits now; of the rest, run one item per content hash and hold back the others
    until it is done, so one run never pays twice for the same text."""
    to_run, duplicates, hashes = [], [], set()
    for item in items:
        source = _cached(session, item, model, prompt_version)
        if source:
            session.add(_copy(source, item, trigger))
            summary["cached"] += 1
        elif item.content_hash is not None and item.content_hash in hashes:
            duplicates.append(item)
        else:
            hashes.add(item.content_hash)
            to_run.append(item)
    return to_run, duplicates


def _stored_since(session: Session, batch: LLMBatch) -> set[int]:
    """The batch's items with an assessment made since it was sent."""
    return set(session.scalars(select(LLMAssessment.item_id).where(
        LLMAssessment.item_id.in_(batch.item_ids), LLMAssessment.created_at >= batch.created_at,
        LLMAssessment.model == batch.model, LLMAssessment.prompt_version == batch.prompt_version)))


class Run:
    """One `reason` run: its provider, prompt, budget, summary, and the pool that assesses."""

    def __init__(self, settings: Settings, budget: Budget, trigger: str, sleep: Sleep,
                 progress: ProgressFn) -> None:
        self.settings, self.budget, self.trigger, self.sleep, self.progress = (
            settings, budget, trigger, sleep, progress)
        self.task = get_task()
        self.prompt: Prompt = load_prompt(settings.llm_prompt_version, self.task)
        self.price = price_of(settings.llm_provider, settings.llm_model, settings.llm_prices)
        self.provider = make_provider(settings, sleep)
        self.summary: dict[str, Any] = {
            "provider": self.provider.name, "model": self.provider.model,
            "prompt_version": self.prompt.version, "trigger": trigger, "assessed": 0, "failed": 0,
            "cached": 0, "not_started": 0, "evidence_flagged": 0, "tokens_in": 0, "tokens_out": 0,
            "cache_read_tokens": 0, "cache_write_tokens": 0, "cost_usd": 0.0, "stopped": None,
            "batches": []}
        self.total = 0

    def agent(self, tag: str | None = None) -> Agent:
        limits = Limits(self.settings.llm_max_steps, self.settings.llm_max_item_tokens)
        return Agent(self.provider, self.task, self.prompt, limits, self.price, self.budget, tag)

    def assess(self, agent: Agent, work: list[tuple[Item, BatchResult | None]]) -> None:
        """Assess each (item, first turn or None) with CURATION_LLM_CONCURRENCY workers, storing
        each outcome as it finishes; items not started once the cap is reached are left."""
        with ThreadPoolExecutor(max_workers=self.settings.llm_concurrency) as pool:
            queue = iter(work)
            running: dict[Future[Outcome], Item] = {}

            def submit_next() -> None:
                if self.budget.exhausted:
                    return
                entry = next(queue, None)
                if entry is not None:
                    item, first = entry
                    running[pool.submit(self._one, agent, item, first)] = item

            for _ in range(self.settings.llm_concurrency):
                submit_next()
            while running:
                finished, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in finished:
                    self._store(running.pop(future), future.result())
                    self.progress(self.done, self.total, "assessing items")
                    submit_next()

    @staticmethod
    def _one(agent: Agent, item: Item, first: BatchResult | None) -> Outcome:
        """A batch turn continues the loop; a batch failure (expired, canceled, errored) is
        assessed from the start synchronously, and its trace says why."""
        if isinstance(first, Turn):
            return agent.assess(_document(item), first)
        outcome = agent.assess(_document(item))
        if first is not None:
            outcome.steps.insert(0, {"batch": f"{first}; assessed synchronously instead"})
        return outcome

    @property
    def done(self) -> int:
        return self.summary["cached"] + self.summary["assessed"] + self.summary["failed"]

    def _store(self, item: Item, outcome: Outcome) -> None:
        if outcome.stopped_by_budget and outcome.calls == 0:
            # refused by the cap before its first call: not started, nothing to record (a batched
            # first step stays in its open batch for the next run)
            return
        with session_scope() as session:
            session.add(_row(item, self.provider, self.prompt.version, outcome, self.trigger))
        s = self.summary
        s["assessed" if outcome.error is None else "failed"] += 1
        s["evidence_flagged"] += outcome.evidence_ok is False
        s["tokens_in"] += outcome.tokens_in
        s["tokens_out"] += outcome.tokens_out
        s["cache_read_tokens"] += outcome.cache_read_tokens
        s["cache_write_tokens"] += outcome.cache_write_tokens
        s["cost_usd"] += outcome.cost_usd

    def copy_duplicates(self, duplicates: list[Item]) -> None:
        """Same text as an item assessed in this run: reuse, not rebill."""
        with session_scope() as session:
            for item in duplicates:
                source = _cached(session, item, self.provider.model, self.prompt.version)
                if source:
                    session.add(_copy(source, item, self.trigger))
                    self.summary["cached"] += 1

    def finish(self, started: float) -> dict[str, Any]:
        s = self.summary
        s["not_started"] = self.total - self.done
        if self.budget.exhausted:
            s["stopped"] = (
                f"spending cap of ${self.budget.cap_usd:.2f} ({self.budget.setting}) reached after "
                f"${self.budget.spent_usd:.4f}; {s['not_started']} item(s) not started; raise the cap "
                "or run `reason` again to continue"
            )
        s["cost_usd"] = round(s["cost_usd"], 6)
        s["seconds"] = round(time.perf_counter() - started, 3)
        return s

    # -- batches ----------------------------------------------------------------------------

    def within_budget(self, agent: Agent, items: list[Item]) -> list[tuple[Item, dict[str, Any]]]:
        """First-step requests of as many items as the remaining cap covers at worst (a batch is
        paid for before any result can be checked against the cap)."""
        if self.budget.exhausted:  # also brings a shared daily total up to date
            return []
        left = self.budget.cap_usd - self.budget.spent_usd
        chosen = []
        for item in items:
            body = agent.first_request(_document(item))
            worst = Tokens(len(json.dumps(body)) // CHARS_PER_TOKEN, self.settings.llm_max_tokens)
            left -= cost_usd(self.price, worst, batched=True)
            if left < 0:
                break
            chosen.append((item, body))
        return chosen

    def send_batch(self, agent: Agent, requests: list[tuple[Item, dict[str, Any]]]) -> LLMBatch:
        batch_id = self.provider.submit_batch({f"item-{item.id}": body for item, body in requests})
        with session_scope() as session:
            row = LLMBatch(provider=self.provider.name, model=self.provider.model,
                           prompt_version=self.prompt.version, batch_id=batch_id, tag=agent.tag,
                           item_ids=[item.id for item, _ in requests], status=BatchStatus.SUBMITTED)
            session.add(row)
        return row

    def open_batches(self) -> list[LLMBatch]:
        with session_scope() as session:
            return list(session.scalars(select(LLMBatch).where(
                LLMBatch.provider == self.provider.name, LLMBatch.model == self.provider.model,
                LLMBatch.prompt_version == self.prompt.version, LLMBatch.finished_at.is_(None),
            ).order_by(LLMBatch.id)))

    def collect(self, batch: LLMBatch, resumed: bool) -> None:
        """Wait for the batch, then continue every item it holds that has no assessment since the
        batch was sent (so a resumed run never pays for a document's later steps twice)."""
        state = self.provider.poll_batch(batch.batch_id)
        while state.status == BatchStatus.SUBMITTED:
            self.progress(self.done, self.total, f"waiting for batch {batch.batch_id}")
            self.sleep(self.settings.llm_batch_poll_s)
            state = self.provider.poll_batch(batch.batch_id)
        with session_scope() as session:
            session.execute(update(LLMBatch).where(LLMBatch.id == batch.id).values(status=state.status))
            items = list(session.scalars(select(Item).where(
                Item.id.in_(set(batch.item_ids) - _stored_since(session, batch))).order_by(Item.id)))
        missing = f"no result in batch {batch.batch_id} ({state.status})"
        work = [(item, state.results.get(f"item-{item.id}", missing)) for item in items]
        self.total += len(work)
        self.assess(self.agent(batch.tag), work)
        fallback = sum(not isinstance(first, Turn) for _, first in work)
        with session_scope() as session:
            # Left open while the spending cap held items back: their paid first steps wait there.
            done = len(_stored_since(session, batch)) == len(set(batch.item_ids))
            session.execute(update(LLMBatch).where(LLMBatch.id == batch.id).values(
                finished_at=utcnow() if done else None,
                note=f"{fallback} of {len(batch.item_ids)} request(s) had no result and were "
                     "assessed synchronously" if fallback else None))
        self.summary["batches"].append({
            "id": batch.batch_id, "status": state.status, "resumed": resumed, "items": len(batch.item_ids),
            "from_batch": len(work) - fallback, "fallback": fallback})


def _run(settings: Settings, budget: Budget, trigger: str, *, batch: bool, progress: ProgressFn,
         sleep: Sleep, pick: Any) -> dict[str, Any]:
    started = time.perf_counter()
    run = Run(settings, budget, trigger, sleep, progress)
    if batch:
        for stored in run.open_batches():
            run.collect(stored, resumed=True)
    with session_scope() as session:
        items = pick(session, run.provider.model, run.prompt.version)
        to_run, duplicates = _plan(session, items, run.provider.model, run.prompt.version,
                                   run.summary, trigger)
    run.total += len(items)
    progress(run.done, run.total, "assessing items")
    if batch and to_run:
        agent = run.agent()
        requests = run.within_budget(agent, to_run)
        if requests:
            run.total -= len(requests)  # collect() counts them
            run.collect(run.send_batch(agent, requests), resumed=False)
    elif to_run:
        run.assess(run.agent(), [(item, None) for item in to_run])
    run.copy_duplicates(duplicates)
    return run.finish(started)


def cancel_batches() -> dict[str, Any]:
    """Ask the provider to cancel this configuration's open batches. What it finished stays
    paid for and is used by the next `reason --batch`; the rest is assessed synchronously then."""
    settings = get_settings()
    run = Run(settings, Budget(settings.llm_budget_usd), LLMTrigger.MANUAL, time.sleep, no_progress)
    open_batches = run.open_batches()
    for batch in open_batches:
        run.provider.cancel_batch(batch.batch_id)
    return {"canceled": [batch.batch_id for batch in open_batches]}


def reason_items(*, limit: int | None = None, batch: bool = False, progress: ProgressFn = no_progress,
                 sleep: Sleep = time.sleep) -> dict[str, Any]:
    """Assess pending items with the configured LLM; stops cleanly at the spending cap.

    sleep is the wait between retries and batch polls; tests pass one that does not really wait."""
    settings = get_settings()
    return _run(settings, Budget(settings.llm_budget_usd), LLMTrigger.MANUAL, batch=batch,
                progress=progress, sleep=sleep,
                pick=lambda session, model, version: _pending(session, model, version, limit))


def assess_uncertain(*, limit: int | None = None, batch: bool = False,
                     progress: ProgressFn = no_progress, sleep: Sleep = time.sleep) -> dict[str, Any]:
    """Assess the items the classifier is least sure of (score within CURATION_LLM_AUTO_BAND of
    the threshold), most uncertain first, within the daily cap CURATION_LLM_AUTO_DAILY_USD that
    all workers share through the database. Confident items are left to `reason`."""
    settings = get_settings()
    return _run(settings, DailyBudget(settings.llm_auto_daily_usd), LLMTrigger.AUTO, batch=batch,
                progress=progress, sleep=sleep,
                pick=lambda session, model, version: _uncertain(session, model, version,
                                                                settings.llm_auto_band, limit or AUTO_ITEMS))
