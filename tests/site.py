"""A local website for fetch tests and the benchmark: realistic pages served from 127.0.0.1 on a
free port, plus the awkward cases (redirects, errors, slow, huge, non-HTML, feeds, robots.txt).
Routes can be added or changed while it runs; every request is recorded."""

import gzip
import sys
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

NAV = """<header class="site-header"><a href="/">Acme Engineering</a>
<nav><ul><li><a href="/blog">Blog</a></li><li><a href="/careers">Careers</a></li>
<li><a href="/pricing">Pricing</a></li><li><a href="/contact">Contact sales</a></li></ul></nav></header>
<div class="cookie-banner">We use cookies to improve your experience. <button>Accept all</button></div>"""
SIDEBAR = """<aside class="sidebar"><h3>Related posts</h3><ul><li><a href="/blog/a">Ten tips for
Kubernetes</a></li><li><a href="/blog/b">Our new office</a></li></ul>
<div class="newsletter">Subscribe to our newsletter for weekly updates!</div></aside>"""
FOOTER = """<footer><p>Copyright 2024 Acme Inc. All rights reserved.</p><a href="/privacy">Privacy
policy</a> <a href="/terms">Terms of service</a></footer>"""

PARAGRAPHS = [
    "We moved our customer support assistant from a prototype to production in March, serving "
    "about forty thousand conversations a week across three regions.",
    "The system retrieves passages from our help centre with a hybrid BM25 and embedding index, "
    "then a fine-tuned model drafts an answer that an agent can send or edit.",
    "Latency was the first problem: the p95 was eleven seconds. Caching retrieval results and "
    "streaming tokens brought it under three seconds without changing the model.",
    "We evaluate every release against a set of two thousand labelled tickets and block the "
    "deploy when the resolution rate drops by more than one point.",
    "Hallucinated refund policies were the costliest failure, so answers that mention money now "
    "must quote a retrieved passage or they are routed to a person.",
]


def article(title: str, topic: str = "support assistant", *, author: str = "Dana Reyes",
            date: str = "2024-05-14", paragraphs: int = 5) -> str:
    """A blog post the way real sites wrap one: navigation, banner, sidebar, footer."""
    body = "\n".join(f"<p>{p.replace('support assistant', topic)}</p>"
                     for p in (PARAGRAPHS * 4)[:paragraphs])
    return f"""<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<title>{title} | Acme Engineering Blog</title>
<meta name="author" content="{author}"><meta property="og:site_name" content="Acme Engineering">
<meta property="article:published_time" content="{date}"></head>
<body>{NAV}<main><article><h1>{title}</h1><p class="byline">By {author}, {date}</p>
{body}</article>{SIDEBAR}</main>{FOOTER}</body></html>"""


@dataclass
class Route:
    status: int = 200
    body: bytes | str = b""
    content_type: str = "text/html; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)
    gzip: bool = False
    hang: threading.Event | None = None  # send part of the body, then wait for this
    gate: threading.Event | None = None  # wait for this before answering at all


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        """A downloader hanging up mid-response (a cap, a timeout) is expected; say nothing."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)  # type: ignore[arg-type]


class Site:
    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.in_flight = 0
        self.most_in_flight = 0
        self.changed = threading.Condition()
        self.server = _Server(("127.0.0.1", 0), self._handler_class())
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True)

    def __enter__(self) -> "Site":
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        for route in self.routes.values():
            for event in (route.hang, route.gate):
                if event:
                    event.set()
        self.server.shutdown()
        self.server.server_close()

    def add(self, path: str, **route: object) -> str:
        self.routes[path] = Route(**route)  # type: ignore[arg-type]
        return self.url + path

    def hits(self, path: str) -> int:
        return sum(1 for p, _ in self.requests if p == path)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        site = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                site.requests.append((self.path, dict(self.headers)))
                route = site.routes.get(self.path.split("?")[0]) or Route(status=404, body="<h1>Not found</h1>")
                with site.changed:
                    site.in_flight += 1
                    site.most_in_flight = max(site.most_in_flight, site.in_flight)
                    site.changed.notify_all()
                try:
                    if route.gate:
                        route.gate.wait(10)
                    self._answer(route)
                finally:
                    with site.changed:
                        site.in_flight -= 1
                        site.changed.notify_all()

            def _answer(self, route: Route) -> None:
                body = route.body.encode() if isinstance(route.body, str) else route.body
                if route.gzip:
                    body = gzip.compress(body)
                self.send_response(route.status)
                self.send_header("Content-Type", route.content_type)
                if route.gzip:
                    self.send_header("Content-Encoding", "gzip")
                for name, value in route.headers.items():
                    self.send_header(name, value)
                if "Content-Length" not in route.headers:
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if route.hang:
                    self.wfile.write(body[:100])
                    self.wfile.flush()
                    route.hang.wait(10)
                    return
                self.wfile.write(body)

        return Handler
