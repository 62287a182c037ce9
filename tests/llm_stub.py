"""A scripted LLM server on 127.0.0.1 that speaks both wire protocols, so tests drive the real
anthropic and openai clients: Anthropic POST /v1/messages (tool_use blocks, usage) and the Message
Batches API (/v1/messages/batches); OpenAI POST /v1/chat/completions (tool_calls, usage) and the
Batch API (/v1/files, /v1/batches).

A script is a list of replies, one per model request (a batch takes one per document it holds),
written once for both protocols: reply(text, tool(...)), error(429, retry_after=0) or HANG
(answers only after the client gave up). Without a script, a respond function can answer from
the request (bench/llm.py). Every model request body is recorded in .requests for assertions.
Chat Completions requests are checked the way llama.cpp's server checks them
(llama_cpp_rejection), so what passes here passes there.

Usage is reported as the real APIs report it, cache included. A scripted reply carries its usage;
a reply with usage=None is measured: about four characters a token, and a prompt cache that
serves a prefix it has seen (Anthropic: up to a cache_control breakpoint, OpenAI: automatically),
from 1,024 tokens on, as both providers do.

Batches: each answers batch_polls polls "in progress", then ends. expire_after=k leaves all but
the first k requests unprocessed: expired when the batch ends, canceled if it is cancelled first
(a cancelled batch ends at the next poll)."""

import hashlib
import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

MIN_CACHED_TOKENS = 1024
CHARS_PER_TOKEN = 4


@dataclass
class Tool:
    name: str
    arguments: dict[str, Any] | str  # a str is sent as it is: malformed JSON for OpenAI


@dataclass
class Reply:
    text: str = ""
    tools: list[Tool] = field(default_factory=list)
    usage: tuple[int, int] | None = (1000, 100)  # (input, output); None: measured from the request
    cache: tuple[int, int] = (0, 0)  # scripted (read, write) input tokens, part of usage[0]
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    hang: bool = False
    delay_s: float = 0.0  # simulated model latency, for bench/llm.py; tests leave it at 0
    echo_key: bool = False  # an error body that quotes the request's key headers, as some proxies do


def tool(name: str, arguments: dict[str, Any] | str | None = None) -> Tool:
    return Tool(name, {} if arguments is None else arguments)


def reply(text: str = "", *tools: Tool, usage: tuple[int, int] | None = (1000, 100),
          cache: tuple[int, int] = (0, 0)) -> Reply:
    return Reply(text, list(tools), usage, cache)


def error(status: int, retry_after: float | None = None, message: str = "", echo_key: bool = False) -> Reply:
    headers = {} if retry_after is None else {"retry-after": str(retry_after)}
    return Reply(text=message, status=status, headers=headers, echo_key=echo_key)


def _echo(headers: dict[str, str]) -> str:
    return f" for Authorization: {headers.get('authorization')}, x-api-key: {headers.get('x-api-key')}"


HANG = Reply(hang=True)


def llama_cpp_rejection(body: dict[str, Any]) -> str | None:
    """What llama-cpp-python's server (chat format chatml-function-calling) answers, with HTTP 500,
    to a message its pydantic schema refuses: an assistant turn's content must be a string."""
    for n, message in enumerate(body.get("messages", [])):
        if message.get("role") == "assistant" and "content" in message and not isinstance(message["content"], str):
            return ("1 validation error for ChatCompletionRequestAssistantMessage\ncontent\n  Input "
                    f"should be a valid string [type=string_type, input_value={message['content']!r}, "
                    f"input_type={type(message['content']).__name__}] (messages.{n})")
    return None


def _tokens(value: Any) -> int:
    return max(1, len(json.dumps(value)) // CHARS_PER_TOKEN)


def _without_cache_marks(block: Any) -> Any:
    return {k: v for k, v in block.items() if k != "cache_control"} if isinstance(block, dict) else block


class PromptCache:
    """Prefix hashes seen so far, for measured usage."""

    def __init__(self) -> None:
        self.seen: set[str] = set()
        self._lock = threading.Lock()

    def measure(self, body: dict[str, Any], anthropic: bool) -> tuple[int, int, int]:
        """(input tokens in all, read from the cache, written to it) for one request."""
        blocks: list[Any] = [body.get("tools", [])]
        if anthropic:
            blocks += body.get("system", [])
            for message in body["messages"]:
                content = message["content"]
                blocks += [{"type": "text", "text": content}] if isinstance(content, str) else content
        else:
            blocks += body["messages"]
        digest, total, prefixes, marked = hashlib.sha256(), 0, [], []
        for block in blocks:
            digest.update(json.dumps(_without_cache_marks(block), sort_keys=True).encode())
            total += _tokens(block)
            if total >= MIN_CACHED_TOKENS:
                prefixes.append((digest.copy().hexdigest(), total))
                if not anthropic or (isinstance(block, dict) and "cache_control" in block):
                    marked.append(prefixes[-1])
        with self._lock:  # a hit at any block boundary; only breakpoints (Anthropic) are written
            read = max((n for key, n in prefixes if key in self.seen), default=0)
            if not anthropic:
                read -= read % 128  # OpenAI caches in 128-token steps
            self.seen.update(key for key, _ in marked)
        written = max((n for _, n in marked), default=0) - read if anthropic else 0
        return total, read, max(written, 0)


def _anthropic(r: Reply, n: int, usage: tuple[int, int, int, int]) -> dict[str, Any]:
    content: list[dict[str, Any]] = [{"type": "text", "text": r.text}] if r.text else []
    for i, t in enumerate(r.tools):
        arguments = t.arguments if isinstance(t.arguments, dict) else {"raw": t.arguments}
        content.append({"type": "tool_use", "id": f"toolu_{n}_{i}", "name": t.name, "input": arguments})
    total, out, read, write = usage
    return {"id": f"msg_{n}", "type": "message", "role": "assistant", "model": "stub",
            "content": content, "stop_reason": "tool_use" if r.tools else "end_turn",
            "stop_sequence": None,
            "usage": {"input_tokens": total - read - write, "output_tokens": out,
                      "cache_read_input_tokens": read, "cache_creation_input_tokens": write}}


def _openai(r: Reply, n: int, usage: tuple[int, int, int, int]) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": r.text or None}
    if r.tools:
        message["tool_calls"] = [
            {"id": f"call_{n}_{i}", "type": "function", "function": {
                "name": t.name,
                "arguments": t.arguments if isinstance(t.arguments, str) else json.dumps(t.arguments)}}
            for i, t in enumerate(r.tools)
        ]
    total, out, read, _ = usage
    return {"id": f"chatcmpl-{n}", "object": "chat.completion", "created": 0, "model": "stub",
            "choices": [{"index": 0, "message": message,
                         "finish_reason": "tool_calls" if r.tools else "stop"}],
            "usage": {"prompt_tokens": total, "completion_tokens": out, "total_tokens": total + out,
                      "prompt_tokens_details": {"cached_tokens": read}}}


@dataclass
class StubBatch:
    id: str
    anthropic: bool
    results: dict[str, dict[str, Any] | None]  # custom_id -> the answer, None once expired
    polls_left: int
    canceled: bool = False

    def ended(self) -> bool:
        return self.polls_left < 0 or self.canceled


class StubLLM:
    def __init__(self, respond: Callable[[dict[str, Any]], Reply] | None = None) -> None:
        """respond(request body) answers once the script is used up; without it that is a 500."""
        self.respond = respond or (lambda body: Reply(status=500))
        self.script: list[Reply] = []
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.cache = PromptCache()
        self.batch_polls = 1
        self.expire_after: int | None = None
        self.batches: dict[str, StubBatch] = {}
        self.files: dict[str, bytes] = {}
        self.release = threading.Event()
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> "StubLLM":
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()

    def _next(self, body: dict[str, Any], headers: dict[str, str]) -> tuple[int, Reply]:
        with self._lock:
            self.requests.append(body)
            self.headers.append(headers)
            n = len(self.requests)
            if self.script:
                return n, self.script.pop(0)
        return n, self.respond(body)  # outside the lock: respond may wait for other requests

    def answer(self, body: dict[str, Any], headers: dict[str, str], anthropic: bool) -> tuple[int, Any, dict[str, str]]:
        """One model request: (HTTP status, response body in the provider's format, headers)."""
        n, r = self._next(body, headers)
        if r.hang:
            self.release.wait(10)  # the client has timed out long before
            return 0, {}, {}
        if r.delay_s:
            self.release.wait(r.delay_s)
        rejection = not anthropic and llama_cpp_rejection(body)
        if rejection:
            return 500, {"error": {"message": rejection, "type": "internal_server_error",
                                   "param": None, "code": None}}, {}
        if r.status != 200:
            message = (r.text or f"stub status {r.status}") + (_echo(headers) if r.echo_key else "")
            return r.status, {"type": "error", "error": {
                "type": "rate_limit_error" if r.status == 429 else "api_error",
                "message": message}}, r.headers
        if r.usage is None:
            total, read, write = self.cache.measure(body, anthropic)
            usage = (total, _tokens([t.arguments for t in r.tools]) + _tokens(r.text), read, write)
        else:
            usage = (*r.usage, *r.cache)
        return 200, (_anthropic if anthropic else _openai)(r, n, usage), {}

    # -- batches ------------------------------------------------------------------------------

    def _create_batch(self, requests: list[tuple[str, dict[str, Any]]], anthropic: bool,
                      headers: dict[str, str]) -> StubBatch:
        results: dict[str, dict[str, Any] | None] = {}
        for i, (custom_id, body) in enumerate(requests):
            expired = self.expire_after is not None and i >= self.expire_after
            if expired:
                results[custom_id] = None
                continue
            status, answer, _ = self.answer(body, headers, anthropic)
            results[custom_id] = {"status": status, "body": answer}
        with self._lock:
            batch = StubBatch(f"{'msgbatch' if anthropic else 'batch'}_{len(self.batches) + 1}",
                              anthropic, results, self.batch_polls)
            self.batches[batch.id] = batch
        return batch

    def _anthropic_batch(self, batch: StubBatch) -> dict[str, Any]:
        ended = batch.ended()
        answered = [r for r in batch.results.values() if r]
        counts = {"processing": 0 if ended else len(batch.results),
                  "succeeded": sum(r["status"] == 200 for r in answered) if ended else 0,
                  "errored": sum(r["status"] != 200 for r in answered) if ended else 0,
                  "canceled": 0, "expired": 0}
        if ended:
            gone = len(batch.results) - len(answered)
            counts["canceled" if batch.canceled else "expired"] = gone
        return {"id": batch.id, "type": "message_batch",
                "processing_status": "ended" if ended else "in_progress", "request_counts": counts,
                "created_at": "2026-01-01T00:00:00Z", "expires_at": "2026-01-02T00:00:00Z",
                "ended_at": "2026-01-01T01:00:00Z" if ended else None, "archived_at": None,
                "cancel_initiated_at": None,
                "results_url": f"{self.url}/v1/messages/batches/{batch.id}/results" if ended else None}

    def _anthropic_results(self, batch: StubBatch) -> str:
        lines = []
        for custom_id, r in batch.results.items():
            if r is None:
                result: dict[str, Any] = {"type": "canceled" if batch.canceled else "expired"}
            elif r["status"] == 200:
                result = {"type": "succeeded", "message": r["body"]}
            else:
                result = {"type": "errored", "error": {"type": "error", "error": r["body"]["error"]}}
            lines.append(json.dumps({"custom_id": custom_id, "result": result}))
        return "\n".join(lines) + "\n"

    def _openai_batch(self, batch: StubBatch) -> dict[str, Any]:
        ended = batch.ended()
        done = sum(r is not None for r in batch.results.values())
        status = ("cancelled" if batch.canceled else "expired" if done < len(batch.results) else "completed"
                  ) if ended else "in_progress"
        output, errors = [], []
        for custom_id, r in batch.results.items():
            if r is None:
                errors.append({"id": f"req_{custom_id}", "custom_id": custom_id, "response": None,
                               "error": {"code": "batch_cancelled", "message": "This request was "
                                         "cancelled."} if batch.canceled else {
                                   "code": "batch_expired", "message": "This request could not "
                                   "be executed before the completion window expired."}})
            else:
                output.append({"id": f"req_{custom_id}", "custom_id": custom_id, "error": None,
                               "response": {"status_code": r["status"], "request_id": custom_id,
                                            "body": r["body"]}})
        ids = {}
        if ended:
            for kind, rows in (("output", output), ("error", errors)):
                if rows:
                    ids[kind] = f"file-{kind}-{batch.id}"
                    self.files[ids[kind]] = ("\n".join(map(json.dumps, rows)) + "\n").encode()
        return {"id": batch.id, "object": "batch", "endpoint": "/v1/chat/completions",
                "input_file_id": "file-in", "completion_window": "24h", "status": status,
                "created_at": 0, "output_file_id": ids.get("output"), "error_file_id": ids.get("error"),
                "request_counts": {"total": len(batch.results), "completed": done if ended else 0,
                                   "failed": len(batch.results) - done if ended else 0}}

    def _route(self, method: str, path: str, raw: bytes, headers: dict[str, str]) -> tuple[int, Any, dict[str, str]]:
        """(status, JSON body or str for JSONL, headers) for one HTTP request."""
        if method == "POST" and path.endswith("/v1/messages"):
            return self.answer(json.loads(raw), headers, anthropic=True)
        if method == "POST" and path.endswith("/chat/completions"):
            return self.answer(json.loads(raw), headers, anthropic=False)
        if method == "POST" and path.endswith("/v1/messages/batches"):
            requests = [(r["custom_id"], r["params"]) for r in json.loads(raw)["requests"]]
            return 200, self._anthropic_batch(self._create_batch(requests, True, headers)), {}
        if method == "POST" and path.endswith("/v1/files"):
            match = re.search(rb"filename=\"[^\"]*\"\r\n(?:[^\r\n]+\r\n)*\r\n(.*?)\r\n--", raw, re.S)
            file_id = f"file-{len(self.files) + 1}"
            self.files[file_id] = match.group(1) if match else b""
            return 200, {"id": file_id, "object": "file", "bytes": len(self.files[file_id]),
                         "created_at": 0, "filename": "batch.jsonl", "purpose": "batch",
                         "status": "processed"}, {}
        if method == "POST" and path.endswith("/v1/batches"):
            lines = self.files[json.loads(raw)["input_file_id"]].decode().splitlines()
            requests = [(e["custom_id"], e["body"]) for e in map(json.loads, filter(None, lines))]
            return 200, self._openai_batch(self._create_batch(requests, False, headers)), {}
        found = re.search(r"/v1/(?:messages/)?batches/([\w-]+)(/results|/cancel)?$", path)
        if found and found.group(1) in self.batches:
            batch, action = self.batches[found.group(1)], found.group(2)
            if action == "/cancel":
                batch.canceled = True
            elif action is None:
                batch.polls_left -= 1
            if action == "/results":
                return 200, self._anthropic_results(batch), {}
            return 200, self._anthropic_batch(batch) if batch.anthropic else self._openai_batch(batch), {}
        found = re.search(r"/v1/files/([\w-]+)/content$", path)
        if method == "GET" and found and found.group(1) in self.files:
            return 200, self.files[found.group(1)].decode(), {}
        return 404, {"error": f"unknown path {path}"}, {}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _serve(self, method: str) -> None:
                raw = self.rfile.read(int(self.headers.get("content-length") or 0))
                headers = {k.lower(): v for k, v in self.headers.items()}
                status, payload, extra = stub._route(method, self.path.split("?")[0], raw, headers)
                if not status:
                    return  # HANG: no answer
                data = payload.encode() if isinstance(payload, str) else json.dumps(payload).encode()
                self.send_response(status)
                kind = "application/binary" if isinstance(payload, str) else "application/json"
                for key, value in {"content-type": kind, **extra}.items():
                    self.send_header(key, value)
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self) -> None:
                self._serve("POST")

            def do_GET(self) -> None:
                self._serve("GET")

        return Handler
