"""Anthropic (Messages API) and OpenAI (Chat Completions, or any compatible server by base_url)
behind one small interface: complete(system, transcript, tools, force) -> Turn.

The transcript is provider-neutral (user text, assistant Turns, lists of ToolResults); each
provider translates it to its own wire format. The SDKs' own retries are off (max_retries=0):
retries live here so the wait honours retry-after, is bounded by settings, and tests can inject
the sleep instead of really waiting."""

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

import anthropic
import openai

from curation.errors import ConfigError, LLMCallError
from curation.settings import Settings

MAX_RETRY_AFTER_S = 60.0  # a server asking for longer is treated as down for this call
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
    tokens_in: int = 0
    tokens_out: int = 0


@dataclass
class ToolResult:
    call_id: str
    content: str
    is_error: bool = False


Message = str | Turn | list[ToolResult]



class Provider(Protocol):
    name: str
    model: str

    def complete(
        self, system: str, transcript: list[Message], tools: list[dict[str, Any]], force: str | None
    ) -> Turn: ...


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
    body = exc.response.text.lower() if isinstance(exc, (anthropic.APIStatusError, openai.APIStatusError)) else ""
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
                # the same request shape fails for every document: stop the run
                fatal = status in (400, 401, 403, 404, 422) or (status >= 500 and is_request_error(exc))
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

    def complete(
        self, system: str, transcript: list[Message], tools: list[dict[str, Any]], force: str | None
    ) -> Turn:
        request = dict(
            model=self.model, max_tokens=self.settings.llm_max_tokens, system=system,
            messages=[self._message(m) for m in transcript],
            tools=[{"name": t["name"], "description": t["description"],
                    "input_schema": t["parameters"]} for t in tools],
            tool_choice={"type": "tool", "name": force} if force else {"type": "auto"},
        )
        response = with_retries(
            lambda: self.client.messages.create(**request), retries=self.settings.llm_retries,
            backoff_s=self.settings.llm_backoff_s, sleep=self.sleep,
            what=f"anthropic call to {self.model}",
        )
        text = "".join(b.text for b in response.content if b.type == "text")
        calls = [ToolCall(b.id, b.name, b.input) for b in response.content if b.type == "tool_use"]
        return Turn(text, calls, response.usage.input_tokens, response.usage.output_tokens)

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

    def complete(
        self, system: str, transcript: list[Message], tools: list[dict[str, Any]], force: str | None
    ) -> Turn:
        messages: list[dict[str, Any]] = [{"role": "system", "content": system}]
        for message in transcript:
            messages += self._messages(message)
        # OpenAI itself wants max_completion_tokens (reasoning models refuse max_tokens); the
        # compatible servers reached by base_url (vLLM, Ollama, llama.cpp) all read max_tokens.
        limit = "max_tokens" if self.settings.llm_base_url else "max_completion_tokens"
        request = dict(
            model=self.model, messages=messages, **{limit: self.settings.llm_max_tokens},
            tools=[{"type": "function", "function": t} for t in tools],
            tool_choice={"type": "function", "function": {"name": force}} if force else "auto",
        )
        response = with_retries(
            lambda: self.client.chat.completions.create(**request), retries=self.settings.llm_retries,
            backoff_s=self.settings.llm_backoff_s, sleep=self.sleep,
            what=f"openai call to {self.model}",
        )
        reply = response.choices[0].message
        calls = [ToolCall(c.id, c.function.name, c.function.arguments) for c in reply.tool_calls or []]
        usage = response.usage
        return Turn(reply.content or "", calls,
                    usage.prompt_tokens if usage else 0, usage.completion_tokens if usage else 0)

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
