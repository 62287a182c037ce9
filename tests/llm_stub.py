"""A scripted LLM server on 127.0.0.1 that speaks both wire protocols, so tests drive the real
anthropic and openai clients: Anthropic POST /v1/messages (tool_use blocks, usage) and OpenAI
POST /v1/chat/completions (tool_calls, usage).

A script is a list of replies, one per request, written once for both protocols:
reply(text, tool(...)), error(429, retry_after=0) or HANG (answers only after the client gave up).
Without a script, a respond function can answer from the request (bench/llm.py).
Every request body is recorded in .requests for assertions. Chat Completions requests are checked
the way llama.cpp's server checks them (llama_cpp_rejection), so what passes here passes there."""

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Tool:
    name: str
    arguments: dict[str, Any] | str  # a str is sent as it is: malformed JSON for OpenAI


@dataclass
class Reply:
    text: str = ""
    tools: list[Tool] = field(default_factory=list)
    usage: tuple[int, int] = (1000, 100)
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    hang: bool = False
    delay_s: float = 0.0  # simulated model latency, for bench/llm.py; tests leave it at 0


def tool(name: str, arguments: dict[str, Any] | str | None = None) -> Tool:
    return Tool(name, {} if arguments is None else arguments)


def reply(text: str = "", *tools: Tool, usage: tuple[int, int] = (1000, 100)) -> Reply:
    return Reply(text, list(tools), usage)


def error(status: int, retry_after: float | None = None, message: str = "") -> Reply:
    headers = {} if retry_after is None else {"retry-after": str(retry_after)}
    return Reply(text=message, status=status, headers=headers)


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


def _anthropic(r: Reply, n: int) -> dict[str, Any]:
    content: list[dict[str, Any]] = [{"type": "text", "text": r.text}] if r.text else []
    for i, t in enumerate(r.tools):
        arguments = t.arguments if isinstance(t.arguments, dict) else {"raw": t.arguments}
        content.append({"type": "tool_use", "id": f"toolu_{n}_{i}", "name": t.name, "input": arguments})
    return {"id": f"msg_{n}", "type": "message", "role": "assistant", "model": "stub",
            "content": content, "stop_reason": "tool_use" if r.tools else "end_turn",
            "stop_sequence": None,
            "usage": {"input_tokens": r.usage[0], "output_tokens": r.usage[1]}}


def _openai(r: Reply, n: int) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": r.text or None}
    if r.tools:
        message["tool_calls"] = [
            {"id": f"call_{n}_{i}", "type": "function", "function": {
                "name": t.name,
                "arguments": t.arguments if isinstance(t.arguments, str) else json.dumps(t.arguments)}}
            for i, t in enumerate(r.tools)
        ]
    return {"id": f"chatcmpl-{n}", "object": "chat.completion", "created": 0, "model": "stub",
            "choices": [{"index": 0, "message": message,
                         "finish_reason": "tool_calls" if r.tools else "stop"}],
            "usage": {"prompt_tokens": r.usage[0], "completion_tokens": r.usage[1],
                      "total_tokens": sum(r.usage)}}


class StubLLM:
    def __init__(self, respond: Callable[[dict[str, Any]], Reply] | None = None) -> None:
        """respond(request body) answers once the script is used up; without it that is a 500."""
        self.respond = respond or (lambda body: Reply(status=500))
        self.script: list[Reply] = []
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
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

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["content-length"])))
                n, r = stub._next(body, {k.lower(): v for k, v in self.headers.items()})
                if r.hang:
                    stub.release.wait(10)  # the client has timed out long before
                    return
                if r.delay_s:
                    stub.release.wait(r.delay_s)
                rejection = self.path.endswith("/chat/completions") and llama_cpp_rejection(body)
                if rejection:
                    payload = {"error": {"message": rejection, "type": "internal_server_error",
                                         "param": None, "code": None}}
                    r = Reply(status=500)
                elif r.status != 200:
                    payload: dict[str, Any] = {"type": "error", "error": {
                        "type": "rate_limit_error" if r.status == 429 else "api_error",
                        "message": r.text or f"stub status {r.status}"}}
                elif self.path.endswith("/v1/messages"):
                    payload = _anthropic(r, n)
                elif self.path.endswith("/chat/completions"):
                    payload = _openai(r, n)
                else:
                    payload, r = {"error": f"unknown path {self.path}"}, Reply(status=404)
                data = json.dumps(payload).encode()
                self.send_response(r.status)
                for key, value in {"content-type": "application/json", **r.headers}.items():
                    self.send_header(key, value)
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        return Handler
