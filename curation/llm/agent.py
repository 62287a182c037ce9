"""The ReAct loop: the model sees the guideline and the document's outline, thinks, calls a
document tool, reads the observation, and repeats until it submits a verdict.

Bounds: at most llm_max_steps calls (the last one is forced to be the verdict), and once the
document has used llm_max_item_tokens the next call is forced to be the verdict too. A malformed
verdict is sent back once with the validation error; a second one fails the assessment.

The document is untrusted: its outline, metadata and every tool observation reach the model only
inside <document-NONCE> tags with a nonce drawn fresh for each run (not each document, so the
system prompt is the same for every document and the provider's prompt cache serves it; a document
still cannot know the nonce in advance), the system prompt says their content is data,
and the verdict is validated against the task's labels, so the document cannot change the
output contract."""

import json
import time
from dataclasses import dataclass, field
from typing import Any

from curation.errors import BudgetExceeded, LLMCallError
from curation.llm.pricing import Budget, Price, Tokens, cost_usd
from curation.llm.prompt import Prompt, new_tag, render
from curation.llm.providers import Provider, ToolCall, ToolResult, Turn
from curation.llm.tools import TOOLS, Document, ToolError, outline, read_metadata, run_tool
from curation.llm.verdict import (
    VERDICT_TOOL,
    Verdict,
    VerdictError,
    check_evidence,
    parse_verdict,
    verdict_schema,
)
from curation.task import Task

OBSERVATION_TRACE_CHARS = 500  # what the stored trace keeps of each observation
NUDGE = f"Call a document tool to look further, or {VERDICT_TOOL} to finish."


@dataclass
class Limits:
    max_steps: int
    max_item_tokens: int


@dataclass
class Outcome:
    """What one assessment produced; reasoning.py stores it as an LLMAssessment row."""

    verdict: Verdict | None = None
    evidence: list[dict[str, Any]] = field(default_factory=list)
    steps: list[dict[str, Any]] = field(default_factory=list)
    tokens_in: int = 0
    tokens_out: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    batched: bool = False  # the first step came back from a provider batch
    calls: int = 0  # synchronous calls made (a batched first step is not one)
    cost_usd: float = 0.0
    latency_ms: float = 0.0
    error: str | None = None
    stopped_by_budget: bool = False

    @property
    def evidence_ok(self) -> bool | None:
        return all(e["found"] for e in self.evidence) if self.verdict else None


class Agent:
    def __init__(self, provider: Provider, task: Task, prompt: Prompt, limits: Limits,
                 price: Price, budget: Budget, tag: str | None = None) -> None:
        """tag: the run's document delimiter; a resumed batch passes the one its prompts used."""
        self.provider, self.task, self.prompt, self.limits = provider, task, prompt, limits
        self.price, self.budget = price, budget
        self.tag = tag or new_tag()
        self.system = render(self.prompt.system, self.task, self.tag)
        self.tools = TOOLS + [{
            "name": VERDICT_TOOL,
            "description": "Submit the final verdict with evidence quotes copied from the document.",
            "parameters": verdict_schema(task.labels),
        }]

    def first_request(self, doc: Document) -> dict[str, Any]:
        """The wire body of a document's first step, for a provider batch."""
        return self.provider.request(self.system, [self._user(doc)], self.tools, self._first_force())

    def assess(self, doc: Document, first: Turn | None = None) -> Outcome:
        """Never raises for one document's trouble: errors end up in Outcome.error, except a fatal
        LLMCallError (bad key or model), which no other document could get past either.

        first: the first step's reply when it came back from a batch (billed at the batch rate)."""
        outcome = Outcome()
        started = time.perf_counter()
        try:
            self._loop(doc, outcome, first)
        except LLMCallError as exc:
            if exc.fatal:
                raise
            outcome.error = str(exc)
        except BudgetExceeded as exc:
            outcome.error, outcome.stopped_by_budget = str(exc), True
        outcome.latency_ms = (time.perf_counter() - started) * 1000
        return outcome

    def _user(self, doc: Document) -> str:
        return render(self.prompt.user, self.task, self.tag, outline=outline(doc),
                      metadata=read_metadata(doc))

    def _first_force(self) -> str | None:
        return VERDICT_TOOL if self.limits.max_steps <= 1 else None

    def _loop(self, doc: Document, outcome: Outcome, first: Turn | None) -> None:
        transcript: list[Any] = [self._user(doc)]
        retrying = False
        for step in range(self.limits.max_steps + 1):  # +1: room for the one malformed-verdict retry
            if step == self.limits.max_steps and not retrying:
                break
            force = retrying or step >= self.limits.max_steps - 1 or (
                outcome.tokens_in + outcome.tokens_out >= self.limits.max_item_tokens)
            if step == 0 and first is not None:
                turn = self._account(first, outcome, batched=True)
            else:
                turn = self._call(transcript, VERDICT_TOOL if force else None, outcome)
            transcript.append(turn)
            if not turn.tool_calls:
                outcome.steps.append({"thought": turn.text, "action": None})
                transcript.append(NUDGE)
                continue
            results = []
            for call in turn.tool_calls:
                if call.name == VERDICT_TOOL:
                    try:
                        outcome.verdict = parse_verdict(call.arguments, self.task.labels)
                    except VerdictError as exc:
                        outcome.steps.append({"thought": turn.text, "action": VERDICT_TOOL,
                                              "input": call.arguments, "error": str(exc)})
                        if retrying:
                            outcome.error = f"malformed verdict after one retry: {exc}"
                            return
                        retrying = True
                        results.append(ToolResult(call.id, f"{exc}. Call {VERDICT_TOOL} again "
                                                  "with arguments that match its schema.", True))
                        continue
                    outcome.evidence = check_evidence(outcome.verdict.evidence, doc.text)
                    outcome.steps.append({"thought": turn.text, "action": VERDICT_TOOL,
                                          "input": outcome.verdict.model_dump()})
                    return
                results.append(self._observe(doc, call, turn.text, self.tag, outcome))
            transcript.append(results)
        outcome.error = f"no verdict within {self.limits.max_steps} steps (CURATION_LLM_MAX_STEPS)"

    def _call(self, transcript: list[Any], force: str | None, outcome: Outcome) -> Turn:
        self.budget.check()
        turn = self.provider.complete(self.system, transcript, self.tools, force)
        outcome.calls += 1
        return self._account(turn, outcome)

    def _account(self, turn: Turn, outcome: Outcome, batched: bool = False) -> Turn:
        tokens: Tokens = turn.tokens
        cost = cost_usd(self.price, tokens, batched)
        self.budget.charge(cost)
        outcome.tokens_in += tokens.input
        outcome.tokens_out += tokens.output
        outcome.cache_read_tokens += tokens.cache_read
        outcome.cache_write_tokens += tokens.cache_write
        outcome.batched = outcome.batched or batched
        outcome.cost_usd += cost
        return turn

    def _observe(self, doc: Document, call: ToolCall, thought: str, tag: str, outcome: Outcome) -> ToolResult:
        arguments: Any = call.arguments
        try:
            if isinstance(arguments, str):
                arguments = json.loads(arguments)
            if not isinstance(arguments, dict):
                raise ToolError(f"arguments for {call.name} must be a JSON object")
            observation = run_tool(doc, call.name, arguments)
        except ValueError as exc:  # ToolError or JSONDecodeError: the model can correct the call
            error = f"error: {exc}"
            outcome.steps.append({"thought": thought, "action": call.name, "input": arguments,
                                  "error": error})
            return ToolResult(call.id, error, True)
        outcome.steps.append({"thought": thought, "action": call.name, "input": arguments,
                              "observation": observation[:OBSERVATION_TRACE_CHARS]})
        return ToolResult(call.id, f"<{tag}>\n{observation}\n</{tag}>")
