"""Ingest speed: `python bench/fetch.py [--pages 200] [--latency-ms 50] [--hosts 8]`.

Serves realistic article pages (navigation, sidebars, scripts, footer around a distinct article)
from local servers on 127.0.0.1..127.0.0.N, each request delayed by --latency-ms like a real
site, and times, in the same run:

- ours: `ingest_urls` end to end (guard, robots.txt, threaded downloads bounded per host,
  trafilatura in a process pool on every core, dedup, a row per page in SQLite);
- naive: one page at a time, urllib download then trafilatura in this process, nothing stored.

Extraction, not downloading, is the ceiling: bare trafilatura does about 30 pages/s on one core."""

import argparse
import os
import random
import sys
import tempfile
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

# The repository root instead of bench/ itself, whose queue.py would shadow the standard library.
sys.path[0] = str(Path(__file__).resolve().parent.parent)

WORDS = ("model latency retrieval evaluation production traffic users agents prompt cache "
         "tokens deploy rollout monitoring guardrails fine-tuning embeddings index support "
         "tickets answers cost budget incident review regression dataset labels").split()


def page(n: int) -> bytes:
    """About 18 KB: a distinct 900-word article inside the markup real sites wrap around one."""
    rng = random.Random(n)
    paragraphs = "".join(
        "<p>" + " ".join(rng.choice(WORDS) for _ in range(90)).capitalize() + f" (post {n}).</p>\n"
        for _ in range(10))
    nav = "".join(f'<li><a href="/section/{i}">Section {i}</a></li>' for i in range(60))
    related = "".join(f'<li><a href="/post/{n + i}">Related story {n + i}</a></li>' for i in range(1, 25))
    script = "<script>window.__STATE__=" + '{"k":"' + "x" * 4000 + '"};</script>'
    return f"""<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<title>Production notes {n} | Example Engineering</title><meta name="author" content="Author {n % 17}">
<meta property="og:site_name" content="Example Engineering">
<meta property="article:published_time" content="2024-0{1 + n % 9}-1{n % 10}">{script}</head>
<body><header><nav><ul>{nav}</ul></nav><div class="banner">We use cookies. Accept?</div></header>
<main><article><h1>Production notes {n}</h1>{paragraphs}</article>
<aside><h3>Related</h3><ul>{related}</ul><form>Subscribe <input name="email"></form></aside></main>
<footer>{nav}<p>Copyright 2024 Example Inc.</p></footer></body></html>""".encode()


def serve(host: str, pages: dict[str, bytes], latency_s: float) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            time.sleep(latency_s)  # the network and the remote server, per request
            body = pages.get(self.path)
            self.send_response(200 if body else 404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body or b"")))
            self.end_headers()
            self.wfile.write(body or b"")

    server = ThreadingHTTPServer((host, 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    return server


def naive(urls: list[str]) -> int:
    import trafilatura

    stored = 0
    for url in urls:
        with urllib.request.urlopen(url, timeout=30) as response:
            html = response.read()
        if trafilatura.extract(html, url=url, with_metadata=True):
            stored += 1
    return stored


def fresh_database() -> None:
    from curation.settings import get_settings
    from db.migrate import upgrade
    from db.session import reset_caches

    os.environ["CURATION_HOME"] = tempfile.mkdtemp(prefix="bench-fetch-")
    os.environ.pop("CURATION_DATABASE_URL", None)
    get_settings.cache_clear()
    reset_caches()
    upgrade()


def ours(urls: list[str]) -> int:
    from curation.fetch.ingest import ingest_urls

    result = ingest_urls(urls, allow_private_hosts=True)
    if result.failed:
        raise SystemExit(f"ours failed {result.failed} pages")
    return result.fetched


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=200)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--hosts", type=int, default=8, help="sites the pages are spread over")
    args = parser.parse_args()

    servers, urls = [], []
    for h in range(args.hosts):
        pages = {f"/post/{n}": page(n) for n in range(h, args.pages, args.hosts)}
        server = serve(f"127.0.0.{h + 1}", pages, args.latency_ms / 1000)
        servers.append(server)
        host, port = server.server_address[:2]
        urls += [f"http://{host}:{port}{path}" for path in pages]
    print(f"{len(urls)} pages of ~{len(page(0)) // 1000} KB on {args.hosts} local hosts, "
          f"{args.latency_ms:g} ms latency per request; {os.cpu_count()} cores, load "
          f"{os.getloadavg()[0]:.2f}", file=sys.stderr)

    fresh_database()
    timings = {}
    for name, run in (("naive", naive), ("ours", ours)):
        started = time.perf_counter()
        stored = run(urls)
        seconds = time.perf_counter() - started
        timings[name] = len(urls) / seconds
        print(f"{name:6s} {stored} pages in {seconds:6.2f} s = {timings[name]:6.1f} pages/s")
    print(f"ratio  ours/naive = {timings['ours'] / timings['naive']:.1f}x "
          f"(load after: {os.getloadavg()[0]:.2f})")
    for server in servers:
        server.shutdown()


if __name__ == "__main__":
    main()
