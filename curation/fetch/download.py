"""The one way we download a URL: guarded, capped, polite.

Every hop of a redirect chain goes through the SSRF guard, and the connection is opened to the
address the guard checked (the Host header and TLS SNI/certificate still name the host). Bodies
are read in chunks against a size cap and a deadline, content types are checked before the body
is read, robots.txt is honoured, each host gets a bounded number of parallel requests, and
timeouts, 429 and 5xx are retried with exponential backoff that yields to Retry-After."""

import threading
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urljoin, urlsplit
from urllib.robotparser import RobotFileParser

import certifi
import urllib3
from urllib3.exceptions import HTTPError as Urllib3Error
from urllib3.exceptions import NewConnectionError
from urllib3.exceptions import TimeoutError as Urllib3Timeout

from curation.errors import FetchError, HTTPStatusError, RetryableError
from curation.fetch.safety import Resolver, Target, check_url, system_resolver
from curation.settings import Settings, get_settings

REDIRECTS = frozenset({301, 302, 303, 307, 308})
PAGE_TYPES = ("text/html", "application/xhtml+xml")
FEED_TYPES = ("application/rss+xml", "application/atom+xml", "application/xml", "text/xml",
              "application/rdf+xml")
GZIP_TYPES = ("application/gzip", "application/x-gzip")  # sitemap.xml.gz, served as a file
CHUNK = 64 * 1024


@dataclass(frozen=True)
class Response:
    url: str  # after redirects
    status: int
    content_type: str
    body: bytes
    location: str | None = None  # set on redirects only




def gunzip(body: bytes, url: str, cap: int) -> bytes:
    """The content of a gzip file (a sitemap.xml.gz), refusing to inflate past the byte cap:
    a few kilobytes of gzip can unpack to gigabytes."""
    inflater = zlib.decompressobj(wbits=zlib.MAX_WBITS | 16)
    try:
        content = inflater.decompress(body, cap + 1)
    except zlib.error as exc:
        raise FetchError(f"{url} is not valid gzip ({exc})") from exc
    if len(content) > cap:
        raise FetchError(f"{url} unpacks to more than the {cap:,}-byte cap (CURATION_FETCH_MAX_BYTES); "
                         "stopped unpacking")
    return content


def _retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header, given as seconds or as an HTTP date."""
    if not value:
        return None
    if value.strip().isdigit():
        return float(value.strip())
    try:
        return max(0.0, (parsedate_to_datetime(value) - datetime.now(UTC)).total_seconds())
    except (TypeError, ValueError):
        return None


def _host_header(target: Target) -> str:
    host = f"[{target.host}]" if ":" in target.host else target.host
    default = 443 if target.scheme == "https" else 80
    return host if target.port == default else f"{host}:{target.port}"


class Downloader:
    """Thread-safe; one per ingest run so robots.txt and connections are shared within it."""

    def __init__(self, settings: Settings | None = None, *, allow_private: bool = False,
                 resolve: Resolver = system_resolver,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.settings = settings or get_settings()
        self.allow_private = allow_private
        self.resolve = resolve
        self.sleep = sleep  # tests pass a recorder so backoff never waits for real
        self._pools: dict[tuple[str, str, int, str], urllib3.HTTPConnectionPool] = {}
        self._lock = threading.Lock()
        self._host_slots: dict[str, threading.BoundedSemaphore] = {}
        self._robots: dict[str, RobotFileParser] = {}
        self._robots_locks: dict[str, threading.Lock] = {}

    def get(self, url: str, accept: tuple[str, ...] = PAGE_TYPES + FEED_TYPES + GZIP_TYPES) -> Response:
        """Download url, following checked redirects; raises FetchError with the reason."""
        return self._follow(url, accept, retries=self.settings.fetch_retries,
                            robots=self.settings.fetch_respect_robots)

    def close(self) -> None:
        with self._lock:
            for pool in self._pools.values():
                pool.close()
            self._pools.clear()

    def _follow(self, url: str, accept: tuple[str, ...], retries: int, robots: bool) -> Response:
        """Each hop is checked by the guard and, with robots, against its site's robots.txt."""
        for _ in range(self.settings.fetch_max_redirects + 1):
            target = check_url(url, allow_private=self.allow_private, resolve=self.resolve)
            if robots and not self._robots_allow(url):
                raise FetchError(f"robots.txt of {urlsplit(url).netloc} disallows {url} for our "
                                 "user agent; set CURATION_FETCH_RESPECT_ROBOTS=false only with "
                                 "permission")
            response = self._with_retries(target, url, accept, retries)
            if response.status not in REDIRECTS:
                return response
            url = urljoin(url, response.location or "")
        raise FetchError(f"more than {self.settings.fetch_max_redirects} redirects from {url}; "
                         "open the link in a browser to find its final address")

    def _with_retries(self, target: Target, url: str, accept: tuple[str, ...],
                      retries: int) -> Response:
        for attempt in range(retries + 1):
            try:
                with self.host_slot(target.host):
                    return self._once(target, url, accept)
            except RetryableError as exc:
                if attempt == retries:
                    raise FetchError(f"{exc} (gave up after {retries + 1} tries)") from exc
                wait = exc.retry_after if exc.retry_after is not None else (
                    self.settings.fetch_backoff_s * 2 ** attempt)
                self.sleep(min(wait, self.settings.fetch_max_wait_s))
        raise AssertionError("unreachable")

    def host_slot(self, host: str) -> threading.BoundedSemaphore:
        """Hold it while talking to host: at most fetch_per_host at once (YouTube uses it too)."""
        return self._shared(self._host_slots, host,
                            lambda: threading.BoundedSemaphore(self.settings.fetch_per_host))

    def _shared(self, table: dict[str, Any], key: str, make: Callable[[], Any]) -> Any:
        """The per-host object in table, made once even when threads ask at the same time."""
        with self._lock:
            if key not in table:
                table[key] = make()
            return table[key]

    def _pool(self, target: Target, address: str) -> urllib3.HTTPConnectionPool:
        key = (target.scheme, address, target.port, target.host)
        with self._lock:
            if key not in self._pools:
                common = {"maxsize": self.settings.fetch_per_host, "block": False, "retries": False}
                if target.scheme == "https":
                    self._pools[key] = urllib3.HTTPSConnectionPool(
                        address, target.port, server_hostname=target.host,
                        assert_hostname=target.host, cert_reqs="CERT_REQUIRED",
                        ca_certs=certifi.where(), **common)
                else:
                    self._pools[key] = urllib3.HTTPConnectionPool(address, target.port, **common)
            return self._pools[key]

    def _open(self, target: Target, url: str) -> urllib3.BaseHTTPResponse:
        """Connect to the checked addresses in turn (never re-resolving the name)."""
        parts = urlsplit(url)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        headers = {"Host": _host_header(target), "User-Agent": self.settings.fetch_user_agent,
                   "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.5",
                   "Accept-Encoding": "gzip, deflate"}
        timeout = urllib3.Timeout(connect=self.settings.fetch_connect_timeout_s,
                                  read=self.settings.fetch_read_timeout_s)
        error: Exception | None = None
        for address in target.addresses:
            try:
                return self._pool(target, address).urlopen(
                    "GET", path, headers=headers, redirect=False, retries=False,
                    preload_content=False, timeout=timeout, assert_same_host=False)
            except NewConnectionError as exc:
                error = exc
        raise FetchError(f"cannot connect to {target.host} ({error}); the site may be down")

    def _once(self, target: Target, url: str, accept: tuple[str, ...]) -> Response:
        try:
            raw = self._open(target, url)
        except Urllib3Timeout as exc:
            raise RetryableError(f"{target.host} did not answer within the connect/read timeout "
                                 "(CURATION_FETCH_CONNECT_TIMEOUT_S, _READ_TIMEOUT_S)") from exc
        except Urllib3Error as exc:
            raise FetchError(f"request to {url} failed: {exc}") from exc
        try:
            return self._read(raw, url, accept)
        except BaseException:
            raw.close()  # an unread body must not be left on a connection that is reused
            raise
        finally:
            raw.release_conn()

    def _read(self, raw: urllib3.BaseHTTPResponse, url: str, accept: tuple[str, ...]) -> Response:
        status = raw.status
        if status in REDIRECTS:
            location = raw.headers.get("Location")
            if not location:
                raise FetchError(f"HTTP {status} from {url} without a Location header")
            return Response(url=url, status=status, content_type="", body=b"", location=location)
        if status == 429 or status >= 500:
            raise RetryableError(f"HTTP {status} from {url}", _retry_after(raw.headers.get("Retry-After")))
        if status >= 400:
            raise HTTPStatusError(f"HTTP {status} from {url}; check that the link still works",
                                  status)
        content_type = (raw.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if content_type and content_type not in accept:
            raise FetchError(f"{url} is {content_type}, not a web page or feed; only HTML, "
                             "RSS/Atom and sitemaps are ingested")
        body = self._body(raw, url)
        if content_type in GZIP_TYPES:
            body = gunzip(body, url, self.settings.fetch_max_bytes)
        return Response(url=url, status=status, content_type=content_type, body=body)

    def _body(self, raw: urllib3.BaseHTTPResponse, url: str) -> bytes:
        cap = self.settings.fetch_max_bytes
        declared = raw.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > cap:
            raise FetchError(f"{url} is {int(declared):,} bytes, over the {cap:,}-byte cap "
                             "(CURATION_FETCH_MAX_BYTES)")
        deadline = time.monotonic() + self.settings.fetch_total_timeout_s
        chunks, size = [], 0
        try:
            for chunk in raw.stream(CHUNK, decode_content=True):
                size += len(chunk)
                if size > cap:
                    raise FetchError(f"{url} sent more than the {cap:,}-byte cap "
                                     "(CURATION_FETCH_MAX_BYTES); stopped reading")
                if time.monotonic() > deadline:
                    raise FetchError(f"{url} took over {self.settings.fetch_total_timeout_s:g}s "
                                     "(CURATION_FETCH_TOTAL_TIMEOUT_S); stopped reading")
                chunks.append(chunk)
        except Urllib3Timeout as exc:
            raise RetryableError(f"{url} stalled for over {self.settings.fetch_read_timeout_s:g}s") from exc
        except Urllib3Error as exc:
            raise FetchError(f"reading {url} failed: {exc}") from exc
        return b"".join(chunks)

    def _robots_allow(self, url: str) -> bool:
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        with self._shared(self._robots_locks, origin, threading.Lock):
            if origin not in self._robots:
                self._robots[origin] = self._load_robots(origin)
        return self._robots[origin].can_fetch(self.settings.fetch_user_agent, url)

    def _load_robots(self, origin: str) -> RobotFileParser:
        """Missing robots.txt (4xx) allows everything, 401/403 forbid everything, as in
        urllib.robotparser; an unreachable one allows, since the page fetch will report why."""
        parser = RobotFileParser(f"{origin}/robots.txt")
        try:
            response = self._follow(f"{origin}/robots.txt", ("text/plain", "text/html"), retries=0,
                                    robots=False)
            parser.parse(response.body.decode("utf-8", "replace").splitlines())
        except HTTPStatusError as exc:
            parser.disallow_all = exc.status in (401, 403)
            parser.allow_all = not parser.disallow_all
        except FetchError:
            parser.allow_all = True
        return parser
