"""LLM assessment throughput: `python bench/llm.py [--items 40] [--latency-ms 200]`.

Runs `reason` over N items against the local stub server (tests/llm_stub.py; the real anthropic
client, a simulated model latency per call, two calls per item: one document tool, then the
verdict). Times our way (CURATION_LLM_CONCURRENCY workers) and the naive way (one item after
another) in the same run and prints the ratio, then times a second run over the same items,
which the cache answers without a single call."""

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path[0] = str(Path(__file__).resolve().parent.parent)

from curation.corpus.text import content_hash  # noqa: E402
from curation.llm.reasoning import reason_items  # noqa: E402
from curation.settings import get_settings  # noqa: E402
from db.migrate import upgrade  # noqa: E402
from db.models import Item  # noqa: E402
from db.session import reset_caches, session_scope  # noqa: E402
from tests.llm_stub import Reply, StubLLM, tool  # noqa: E402

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


if __name__ == "__main__":
    main()
