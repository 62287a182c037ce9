"""LLM assessment throughput and cost: `python bench/llm.py [--items 40] [--latency-ms 200]
[--cost-items 200]`.

Throughput: runs `reason` over N items against the local stub server (tests/llm_stub.py; the real
anthropic client, a simulated model latency per call, two calls per item: one document tool, then
the verdict). Times our way (CURATION_LLM_CONCURRENCY workers) and the naive way (one item after
another) in the same run and prints the ratio, then times a second run over the same items,
which the cache answers without a single call.

Cost: assesses --cost-items long documents (three ReAct steps each) with claude-haiku-4-5 and with
gpt-5-mini at their genai-prices list prices, from the token counts the stub reports: today's way (synchronous, no
prompt cache: what the code did before issue 16), with prompt caching, and with caching plus the
first step by batch; prints USD per 1,000 items, wall time, the ratio against today's way, and
whether every verdict matched."""

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import select

sys.path[0] = str(Path(__file__).resolve().parent.parent)

from curation.corpus.text import content_hash  # noqa: E402
from curation.llm.reasoning import reason_items  # noqa: E402
from curation.settings import get_settings  # noqa: E402
from db.migrate import upgrade  # noqa: E402
from db.models import Item, LLMAssessment  # noqa: E402
from db.session import reset_caches, session_scope  # noqa: E402
from tests.llm_stub import PromptCache, Reply, StubLLM, tool  # noqa: E402

VERDICT = tool("submit_verdict", {"label": "accept", "confidence": 0.8, "rationale": "r",
                                  "evidence": ["production"]})
SEARCH = tool("search_document", {"phrase": "production"})


def fresh_database(folder: Path, n: int) -> None:
    os.environ["CURATION_HOME"] = str(folder)
    os.environ.pop("CURATION_DATABASE_URL", None)
    get_settings.cache_clear()
    reset_caches()
    upgrade()
    with session_scope() as session:
        for i in range(n):
            text = f"Article {i}. We run an LLM in production at company {i}."
            session.add(Item(canonical_url=f"https://e.com/{i}", source_type="import", text=text,
                             content_hash=content_hash(text), fetch_status="ok"))


def timed_run(concurrency: int) -> tuple[float, dict]:
    os.environ["CURATION_LLM_CONCURRENCY"] = str(concurrency)
    get_settings.cache_clear()
    started = time.perf_counter()
    result = reason_items()
    return time.perf_counter() - started, result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=40)
    parser.add_argument("--latency-ms", type=float, default=200)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--cost-items", type=int, default=200)
    args = parser.parse_args()
    latency = args.latency_ms / 1000

    def respond(body: dict) -> Reply:
        """First call of an item: a search; once a tool result is in the transcript: the verdict."""
        return Reply("", [VERDICT if len(body["messages"]) > 1 else SEARCH], delay_s=latency)

    with StubLLM(respond) as stub, tempfile.TemporaryDirectory() as tmp:
        os.environ.update({"CURATION_LLM_PROVIDER": "anthropic", "CURATION_LLM_MODEL": "bench",
                           "CURATION_LLM_BASE_URL": stub.url, "ANTHROPIC_API_KEY": "bench",
                           "CURATION_LLM_PRICES": '{"bench": [3, 15]}', "CURATION_LLM_BUDGET_USD": "100"})
        fresh_database(Path(tmp) / "naive", args.items)
        naive_s, _ = timed_run(1)
        fresh_database(Path(tmp) / "ours", args.items)
        ours_s, result = timed_run(args.concurrency)
        calls = len(stub.requests)
        cached_s, again = timed_run(args.concurrency)
    print(f"{args.items} items, {args.latency_ms:.0f} ms per call; assessed {result['assessed']}, "
          f"cost ${result['cost_usd']:.4f}")
    print(f"naive (one at a time):      {naive_s:7.2f} s  {args.items / naive_s:6.1f} items/s")
    print(f"ours (concurrency {args.concurrency}):       {ours_s:7.2f} s  {args.items / ours_s:6.1f} items/s")
    print(f"ratio naive/ours:           {naive_s / ours_s:7.2f}x")
    print(f"second run (cache):         {cached_s:7.3f} s, {len(stub.requests) - calls} calls, "
          f"{again['assessed']} assessed")
    cost_comparison(args.cost_items, "anthropic", "claude-haiku-4-5")
    cost_comparison(args.cost_items, "openai", "gpt-5-mini")


class NoCache(PromptCache):
    """Today's way: no cache_control and a system prompt that differed per document, so the
    provider never served a prefix from its cache."""

    def measure(self, body: dict, anthropic: bool) -> tuple[int, int, int]:
        total, _, _ = super().measure(body, anthropic)
        return total, 0, 0


def long_document(i: int) -> str:
    verdict_word = "in production" if i % 2 else "as a thought experiment"
    sections = "".join(f"\n\n## Part {n}\n\n" + f"Notes on week {n} of the rollout at company {i}. " * 6
                       for n in range(30))
    return f"Case study {i}\n\nWe run an LLM {verdict_word} for support triage.{sections}"


def react_reply(body: dict) -> Reply:
    """Three steps per document: search, read a section, then the verdict the text supports."""
    turns = [m for m in body["messages"] if m["role"] != "system"]
    if len(turns) == 1:
        return Reply("Look for production use.", [tool("search_document", {"phrase": "production"})],
                     usage=None)
    if len(turns) == 3:
        return Reply("Read the first part.", [tool("read_section", {"number": 2})], usage=None)
    label = "accept" if "in production" in json.dumps(turns[0]) else "reject"
    return Reply("", [tool("submit_verdict", {"label": label, "confidence": 0.8, "rationale": "r",
                                              "evidence": ["support triage"]})], usage=None)


def cost_run(folder: Path, n: int, provider: str, model: str, *, cache: bool,
             batch: bool) -> tuple[float, dict, dict[int, str]]:
    os.environ.update({"CURATION_HOME": str(folder), "CURATION_LLM_PROVIDER": provider,
                       "CURATION_LLM_MODEL": model, "CURATION_LLM_PRICES": "{}",
                       "CURATION_LLM_CONCURRENCY": "4", "CURATION_LLM_BATCH_POLL_S": "0.05",
                       "OPENAI_API_KEY": "bench"})
    get_settings.cache_clear()
    reset_caches()
    upgrade()
    with session_scope() as session:
        for i in range(n):
            text = long_document(i)
            session.add(Item(canonical_url=f"https://e.com/{i}", source_type="import", text=text,
                             content_hash=content_hash(text), fetch_status="ok"))
    with StubLLM(react_reply) as stub:
        stub.cache = PromptCache() if cache else NoCache()
        os.environ["CURATION_LLM_BASE_URL"] = stub.url + ("/v1" if provider == "openai" else "")
        get_settings.cache_clear()
        started = time.perf_counter()
        result = reason_items(batch=batch)
        seconds = time.perf_counter() - started
    with session_scope() as session:
        verdicts = dict(session.execute(select(LLMAssessment.item_id, LLMAssessment.verdict)).all())
    return seconds, result, verdicts


def cost_comparison(n: int, provider: str, model: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        runs = {name: cost_run(Path(tmp) / name, n, provider, model, cache=cache, batch=batch)
                for name, cache, batch in (("today: synchronous, no cache", False, False),
                                           ("prompt caching", True, False),
                                           ("caching + first step by batch", True, True))}
    _, base, base_verdicts = runs["today: synchronous, no cache"]
    print(f"\n{n} documents, 3 ReAct steps each, {provider} {model} at genai-prices list prices")
    for name, (seconds, result, verdicts) in runs.items():
        per_1000 = result["cost_usd"] * 1000 / n
        print(f"{name:32s} ${per_1000:7.3f} per 1,000 items  {seconds:6.2f} s  "
              f"cache read {result['cache_read_tokens']:>8} of {result['tokens_in']:>8} input tokens  "
              f"{base['cost_usd'] / result['cost_usd']:5.2f}x cheaper  assessed {result['assessed']}  "
              f"same verdicts: {verdicts == base_verdicts}")


if __name__ == "__main__":
    main()
