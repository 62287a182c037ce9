"""Anthropic (Messages API) and OpenAI (Chat Completions, or any compatible server by base_url)
behind one small interface: complete(system, transcript, tools, force) -> Turn.

The transcript is provider-neutral (user text, assistant Turns, lists of ToolResults); each
provider translates it to its own wire format. The SDKs' own retries are off (max_retries=0):
retries live here so the wait honours retry-after, is bounded by settings, and tests can inject
the sleep instead of really waiting."""

import io
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

import anthropic
import openai
from openai.types.chat import ChatCompletion

from curation.enums import BatchStatus
from curation.errors import ConfigError, LLMCallError
from curation.llm.pricing import Tokens
from curation.settings import Settings

MAX_RETRY_AFTER_S = 60.0  # a server asking for longer is treated as down for this call
# A refused key (401/403) or an unknown model (404) fails every document alike, so the run stops;
# a 400 or 422 is about this one request (its document), which is stored as failed.
FATAL_STATUSES = (401, 403, 404)
UNUSED_KEY = "unused"  # local OpenAI-compatible servers ignore the key, but the SDK wants one


@dataclass
class ToolCall:
    id: str
    name: str
    arguments: dict[str, Any] | str  # OpenAI sends a JSON string, Anthropic an object


@dataclass
class Turn:
    text: str
    tool_calls: list[ToolCall] = field(default_factory=list)
    tokens: Tokens = field(default_factory=Tokens)


@dataclass
class ToolResult:
    call_id: str
    content: str
    is_error: bool = False


Message = str | Turn | list[ToolResult]
BatchResult = Turn | str  # the first turn, or why the provider gave none (expired, canceled, error)


@dataclass
class BatchState:
    status: BatchStatus  # SUBMITTED while the provider works on it, then ENDED, EXPIRED or CANCELED
    results: dict[str, BatchResult] = field(default_factory=dict)  # by custom_id, once it is over


class Provider(Protocol):
    name: str
    model: str

    def request(
        self, system: str, transcript: list[Message], tools: list[dict[str, Any]], force: str | None
    ) -> dict[str, Any]: ...

    def complete(
        self, system: str, transcript: list[Message], tools: list[dict[str, Any]], force: str | None
    ) -> Turn: ...

    def submit_batch(self, requests: dict[str, dict[str, Any]]) -> str: ...

    def poll_batch(self, batch_id: str) -> BatchState: ...

    def cancel_batch(self, batch_id: str) -> None: ...


T = TypeVar("T")
Sleep = Callable[[float], None]


# What compatible servers put in a 5xx body when the request itself is invalid (llama.cpp's
# server answers a schema error with HTTP 500): sending it again cannot help.
VALIDATION_MARKERS = ("validation error", "validationerror", "invalid request", "unprocessable")


def is_request_error(exc: Exception) -> bool:
    """A 4xx other than 408/409/429, or a 5xx whose body says the request failed validation."""
    status = getattr(exc, "status_code", None)
    if status is None:
        return False
    if 400 <= status < 500:
        return status not in (408, 409, 429)
    if not isinstance(exc, (anthropic.APIStatusError, openai.APIStatusError)):
        return False
    body = exc.response.text.lower()
    return any(marker in body for marker in VALIDATION_MARKERS)


def _retry_wait(exc: Exception, attempt: int, backoff_s: float) -> float | None:
    """Seconds to wait before retrying exc, or None when it must not be retried."""
    if isinstance(exc, (anthropic.APIConnectionError, openai.APIConnectionError)):
        return backoff_s * 2**attempt  # includes timeouts
    status = getattr(exc, "status_code", None)
    if not isinstance(exc, (anthropic.APIStatusError, openai.APIStatusError)) or not (
        status in (408, 409, 429) or status >= 500
    ) or is_request_error(exc):
        return None
    headers = exc.response.headers
    for header, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        try:
            wait = float(headers[header]) * scale
        except (KeyError, ValueError):
            continue
        return wait if 0 <= wait <= MAX_RETRY_AFTER_S else None
    return backoff_s * 2**attempt


def with_retries(call: Callable[[], T], *, retries: int, backoff_s: float, sleep: Sleep, what: str) -> T:
    for attempt in range(retries + 1):
        try:
            return call()
        except (anthropic.APIError, openai.APIError) as exc:
            wait = _retry_wait(exc, attempt, backoff_s)
            if wait is None or attempt == retries:
                status = getattr(exc, "status_code", None) or 0
                # a bad key or model, or a request the server cannot parse (our request's shape,
                # so the same for every document), stops the run; the rest fail one document
                fatal = status in FATAL_STATUSES or (status >= 500 and is_request_error(exc))
                tried = f" after {attempt} retries" if attempt else ""
                raise LLMCallError(f"{what} failed{tried}: {exc}", fatal=fatal) from exc
            sleep(wait)
    raise AssertionError("unreachable")


class AnthropicProvider:
    name = "anthropic"

    def __init__(self, settings: Settings, sleep: Sleep = time.sleep) -> None:
        key = settings.secret("ANTHROPIC_API_KEY")
        if not key:
            raise ConfigError(
                "ANTHROPIC_API_KEY is not set; export it (or put it in CURATION_SECRETS_FILE), "
                "or set CURATION_LLM_PROVIDER=openai"
            )
        self.model = settings.llm_model
        self.settings, self.sleep = settings, sleep
        self.client = anthropic.Anthropic(
            api_key=key,
            base_url=settings.llm_base_url, timeout=settings.llm_timeout_s, max_retries=0,
        )

    def request(
        self, system: str, transcript: list[Message], tools: list[dict[str, Any]], force: str | None
    ) -> dict[str, Any]:
        """Two cache breakpoints: the system prompt (tools, instructions and guideline, the same
        for every document) and the end of the transcript, so each ReAct step reads the steps
        before it from the cache instead of paying for them again."""
        messages = [self._message(m) for m in transcript]
        last = messages[-1]["content"]
        if isinstance(last, str):
            last = messages[-1]["content"] = [{"type": "text", "text": last}]
        last[-1] = {**last[-1], "cache_control": {"type": "ephemeral"}}
        return dict(
            model=self.model, max_tokens=self.settings.llm_max_tokens,
            system=[{"type": "text", "text": system, "cache_control": {"type": "ephemeral"}}],
            messages=messages,
            tools=[{"name": t["name"], "description": t["description"],
                    "input_schema": t["parameters"]} for t in tools],
            tool_choice={"type": "tool", "name": force} if force else {"type": "auto"},
        )

    def complete(
        self, system: str, transcript: list[Message], tools: list[dict[str, Any]], force: str | None
    ) -> Turn:
        request = self.request(system, transcript, tools, force)
        response = self._retried(lambda: self.client.messages.create(**request), "call")
        return self._turn(response)

    def submit_batch(self, requests: dict[str, dict[str, Any]]) -> str:
        batch = self._retried(lambda: self.client.messages.batches.create(
            requests=[{"custom_id": key, "params": body} for key, body in requests.items()]), "batch")
        return batch.id

    def poll_batch(self, batch_id: str) -> BatchState:
        batch = self._retried(lambda: self.client.messages.batches.retrieve(batch_id), "batch poll")
        if batch.processing_status != "ended":
            return BatchState(BatchStatus.SUBMITTED)
        entries = self._retried(lambda: list(self.client.messages.batches.results(batch_id)), "batch results")
        results = {entry.custom_id: self._result(entry.result) for entry in entries}
        counts = batch.request_counts
        status = (BatchStatus.EXPIRED if counts.expired else BatchStatus.CANCELED if counts.canceled
                  else BatchStatus.ENDED)
        return BatchState(status, results)

    def cancel_batch(self, batch_id: str) -> None:
        self._retried(lambda: self.client.messages.batches.cancel(batch_id), "batch cancel")

    def _result(self, result: Any) -> BatchResult:
        if result.type == "succeeded":
            return self._turn(result.message)
        detail = f": {result.error.error.message}" if result.type == "errored" else ""
        return f"batch request {result.type}{detail}"

    def _retried(self, call: Callable[[], T], what: str) -> T:
        return with_retries(call, retries=self.settings.llm_retries, backoff_s=self.settings.llm_backoff_s,
                            sleep=self.sleep, what=f"anthropic {what} to {self.model}")

    @staticmethod
    def _turn(response: Any) -> Turn:
        text = "".join(b.text for b in response.content if b.type == "text")
        calls = [ToolCall(b.id, b.name, b.input) for b in response.content if b.type == "tool_use"]
        usage = response.usage  # input_tokens excludes what was read from or written to the cache
        read, write = usage.cache_read_input_tokens or 0, usage.cache_creation_input_tokens or 0
        return Turn(text, calls, Tokens(usage.input_tokens + read + write, usage.output_tokens, read, write))

    @staticmethod
    def _message(message: Message) -> dict[str, Any]:
        if isinstance(message, str):
            return {"role": "user", "content": message}
        if isinstance(message, Turn):
            blocks: list[dict[str, Any]] = [{"type": "text", "text": message.text}] if message.text else []
            blocks += [{"type": "tool_use", "id": c.id, "name": c.name,
                        "input": c.arguments if isinstance(c.arguments, dict) else {}}
                       for c in message.tool_calls]
            return {"role": "assistant", "content": blocks}
        return {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": r.call_id, "content": r.content, "is_error": r.is_error}
            for r in message
        ]}


class OpenAIProvider:
    name = "openai"

    def __init__(self, settings: Settings, sleep: Sleep = time.sleep) -> None:
        key = settings.secret("OPENAI_API_KEY")
        if not key and not settings.llm_base_url:
            raise ConfigError(
                "OPENAI_API_KEY is not set; export it (or put it in CURATION_SECRETS_FILE), or "
                "point CURATION_LLM_BASE_URL at a local "
                "OpenAI-compatible server"
            )
        self.model = settings.llm_model
        self.settings, self.sleep = settings, sleep
        self.client = openai.OpenAI(
            api_key=key or UNUSED_KEY, base_url=settings.llm_base_url,
            timeout=settings.llm_timeout_s, max_retries=0,
        )

    def request(
        self, system: str, transcript: list[Message], tools: list[dict[str, Any]], force: str | None
    ) -> dict[str, Any]:
        """The system prompt and tools come first and never change, and the transcript only
        grows, so OpenAI's automatic prompt caching serves every repeated prefix."""
        messages: list[dict[str, Any]] = [{"role": "system", "content": system}]
        for message in transcript:
            messages += self._messages(message)
        # OpenAI itself wants max_completion_tokens (reasoning models refuse max_tokens); the
        # compatible servers reached by base_url (vLLM, Ollama, llama.cpp) all read max_tokens.
        limit = "max_tokens" if self.settings.llm_base_url else "max_completion_tokens"
        return dict(
            model=self.model, messages=messages, **{limit: self.settings.llm_max_tokens},
            tools=[{"type": "function", "function": t} for t in tools],
            tool_choice={"type": "function", "function": {"name": force}} if force else "auto",
        )

    def complete(
        self, system: str, transcript: list[Message], tools: list[dict[str, Any]], force: str | None
    ) -> Turn:
        request = self.request(system, transcript, tools, force)
        return self._turn(self._retried(lambda: self.client.chat.completions.create(**request), "call"))

    def submit_batch(self, requests: dict[str, dict[str, Any]]) -> str:
        lines = "".join(json.dumps({"custom_id": key, "method": "POST", "url": "/v1/chat/completions",
                                    "body": body}) + "\n" for key, body in requests.items())
        upload = self._retried(lambda: self.client.files.create(
            file=("batch.jsonl", io.BytesIO(lines.encode())), purpose="batch"), "batch upload")
        batch = self._retried(lambda: self.client.batches.create(
            input_file_id=upload.id, endpoint="/v1/chat/completions", completion_window="24h"), "batch")
        return batch.id

    def poll_batch(self, batch_id: str) -> BatchState:
        batch = self._retried(lambda: self.client.batches.retrieve(batch_id), "batch poll")
        status = {"completed": BatchStatus.ENDED, "expired": BatchStatus.EXPIRED,
                  "cancelled": BatchStatus.CANCELED, "failed": BatchStatus.FAILED}.get(batch.status)
        if status is None:  # validating, in_progress, finalizing, cancelling
            return BatchState(BatchStatus.SUBMITTED)
        results: dict[str, BatchResult] = {}
        for file_id in (batch.error_file_id, batch.output_file_id):  # output wins over an error
            if file_id:
                text = self._retried(lambda f=file_id: self.client.files.content(f).text, "batch results")
                for entry in map(json.loads, filter(None, text.splitlines())):
                    results[entry["custom_id"]] = self._result(entry)
        return BatchState(status, results)

    def cancel_batch(self, batch_id: str) -> None:
        self._retried(lambda: self.client.batches.cancel(batch_id), "batch cancel")

    def _result(self, entry: dict[str, Any]) -> BatchResult:
        response = entry.get("response") or {}
        if response.get("status_code") == 200:
            return self._turn(ChatCompletion.model_validate(response["body"]))
        error = entry.get("error") or response.get("body", {}).get("error") or {}
        return f"batch request failed: {error.get('code', '')} {error.get('message', '')}".strip()

    def _retried(self, call: Callable[[], T], what: str) -> T:
        return with_retries(call, retries=self.settings.llm_retries, backoff_s=self.settings.llm_backoff_s,
                            sleep=self.sleep, what=f"openai {what} to {self.model}")

    @staticmethod
    def _turn(response: Any) -> Turn:
        reply = response.choices[0].message
        calls = [ToolCall(c.id, c.function.name, c.function.arguments) for c in reply.tool_calls or []]
        usage = response.usage  # prompt_tokens includes the cached ones
        if usage is None:
            return Turn(reply.content or "", calls)
        details = usage.prompt_tokens_details
        cached = (details.cached_tokens or 0) if details else 0
        return Turn(reply.content or "", calls, Tokens(usage.prompt_tokens, usage.completion_tokens, cached))

    @staticmethod
    def _messages(message: Message) -> list[dict[str, Any]]:
        if isinstance(message, str):
            return [{"role": "user", "content": message}]
        if isinstance(message, Turn):
            # "" rather than None: llama.cpp's server (and other compatible servers) validate
            # content as a string and answer null with HTTP 500; the OpenAI API takes either.
            out: dict[str, Any] = {"role": "assistant", "content": message.text}
            if message.tool_calls:
                out["tool_calls"] = [
                    {"id": c.id, "type": "function", "function": {
                        "name": c.name,
                        "arguments": c.arguments if isinstance(c.arguments, str) else json.dumps(c.arguments),
                    }} for c in message.tool_calls
                ]
            return [out]
        return [{"role": "tool", "tool_call_id": r.call_id, "content": r.content} for r in message]


def make_provider(settings: Settings, sleep: Sleep = time.sleep) -> Provider:
    cls = AnthropicProvider if settings.llm_provider == "anthropic" else OpenAIProvider
    return cls(settings, sleep)
