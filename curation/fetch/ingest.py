"""Ingest: URLs in, items out. The workflow top to bottom:

check the input -> drop what we already have (by canonical URL) -> download in threads (bounded
overall and per host) -> feeds and sitemaps expand into more URLs -> extract text in a process
pool -> drop copies (by content hash) -> store each item as its result arrives.

Every failure is stored on its item with a status and a reason and never stops the batch; items
stored as failed or pending are fetched again when their URL is given again (retry_failed does
that for all of them)."""

import os
import time
from concurrent.futures import (
    FIRST_COMPLETED,
    Executor,
    Future,
    ProcessPoolExecutor,
    ThreadPoolExecutor,
    wait,
)
from dataclasses import dataclass, field
from multiprocessing import get_context
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from curation.corpus.near_duplicates import mark_near_duplicates
from curation.corpus.text import content_hash
from curation.corpus.urls import canonicalize_url, without_userinfo, youtube_video_id
from curation.enums import FetchStatus, SourceType
from curation.errors import FetchError, IngestInputError
from curation.fetch.download import PAGE_TYPES, Downloader, Response
from curation.fetch.feeds import feed_kind, feed_links
from curation.fetch.web import extract_page
from curation.fetch.youtube import SessionFactory, fetch_video
from curation.progress import ProgressFn, no_progress
from curation.settings import Settings, get_settings
from db.lookups import rows_where_in
from db.models import Item, utcnow
from db.session import session_scope

RETRY_STATUSES = (FetchStatus.FAILED.value, FetchStatus.PENDING.value)
# Fetched again whenever given: failures, imports without text, and feeds (for new entries).
REFETCH_STATUSES = (*RETRY_STATUSES, FetchStatus.FEED.value)
MAX_FEED_DEPTH = 2  # a sitemap index -> its sitemaps -> their pages



@dataclass
class IngestResult:
    fetched: int = 0
    failed: int = 0
    duplicates: int = 0
    seconds: float = 0.0
    errors: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        return {"fetched": self.fetched, "failed": self.failed, "duplicates": self.duplicates,
                "seconds": round(self.seconds, 3)}


@dataclass(frozen=True)
class FetchTask:
    url: str
    canonical: str
    item_id: int | None  # an existing failed/pending item to fill in
    depth: int = 0


def _check_input(urls: list[str]) -> list[str]:
    """Blank lines and # comments are skipped; anything else must look like an http(s) URL."""
    lines = [u.strip() for u in urls if u.strip() and not u.strip().startswith("#")]
    if not lines:
        raise IngestInputError("no URLs given; pass one or more URLs or --file with one a line")
    bad = []
    for line in lines:
        parts = urlsplit(line)
        try:
            parts.port  # noqa: B018 - raises on a malformed port
        except ValueError:
            bad.append(line)
            continue
        if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
            bad.append(line)
    if bad:
        listed = ", ".join(repr(without_userinfo(b)) for b in bad[:10])
        raise IngestInputError(f"{len(bad)} line(s) are not http(s) URLs: {listed}; nothing was "
                               "fetched. Give full links such as https://example.com/post")
    return lines


def _existing(session: Session, canonicals: list[str]) -> dict[str, tuple[int, str]]:
    """(id, fetch_status) of the items we hold for these URLs, looked up in chunks."""
    query = select(Item.canonical_url, Item.id, Item.fetch_status)
    return {url: (item_id, status)
            for url, item_id, status in rows_where_in(session, query, Item.canonical_url, canonicals)}


def _is_page(response: Response) -> bool:
    """HTML (or unlabelled) and not a feed: something to extract text from."""
    return response.content_type in (*PAGE_TYPES, "") and not feed_kind(response.body)


class _Run:
    """One ingest: the executors, what has been seen, and the counts."""

    def __init__(self, settings: Settings, downloader: Downloader,
                 youtube_session: SessionFactory | None, progress: ProgressFn) -> None:
        self.settings = settings
        self.downloader = downloader
        self.youtube_session = youtube_session
        self.progress = progress
        self.result = IngestResult()
        self.seen_urls: set[str] = set()
        self.seen_hashes: dict[str, int] = {}
        self.pending: dict[Future[Any], tuple[str, FetchTask]] = {}
        self.total = 0
        workers = settings.fetch_extract_workers or os.cpu_count() or 1
        self.threads = ThreadPoolExecutor(settings.fetch_concurrency, thread_name_prefix="fetch")
        # spawn, not fork: forking while download threads hold locks can deadlock the child.
        self.processes: Executor | None = (
            ProcessPoolExecutor(workers, mp_context=get_context("spawn")) if workers > 1 else None)

    def close(self) -> None:
        self.threads.shutdown(cancel_futures=True)
        if self.processes:
            self.processes.shutdown(cancel_futures=True)
        self.downloader.close()

    def add(self, urls: list[str], depth: int = 0) -> None:
        """Queue URLs not seen in this run; those we already have count as duplicates. A
        user:password@ in a link is dropped before anything is fetched, stored or reported."""
        fresh: dict[str, str] = {}
        for url in urls:
            canonical = canonicalize_url(url)
            if canonical in self.seen_urls or canonical in fresh:
                self.result.duplicates += 1
            else:
                fresh[canonical] = without_userinfo(url)
        self.seen_urls.update(fresh)
        with session_scope() as session:
            existing = _existing(session, list(fresh))
        for canonical, url in fresh.items():
            item_id, status = existing.get(canonical, (None, None))
            if status and status not in REFETCH_STATUSES:
                self.result.duplicates += 1
                continue
            self._submit(FetchTask(url=url, canonical=canonical, item_id=item_id, depth=depth))

    def _submit(self, task: FetchTask) -> None:
        self.total += 1
        video_id = youtube_video_id(task.url)
        if video_id:
            future = self.threads.submit(self._video, video_id)
            self.pending[future] = ("video", task)
        else:
            future = self.threads.submit(self._download, task)
            self.pending[future] = ("download", task)

    def _video(self, video_id: str) -> dict[str, Any]:
        """In a download thread, within the per-host limit like any site."""
        with self.downloader.host_slot("www.youtube.com"):
            return fetch_video(video_id, self.settings, self.youtube_session)

    def _download(self, task: FetchTask) -> Response | dict[str, Any]:
        """In a download thread; extracts right here when there is no process pool."""
        response = self.downloader.get(task.url)
        if self.processes is None and _is_page(response):
            return extract_page(response.body, response.url)
        return response

    def drain(self) -> None:
        """Handle results as they arrive until nothing is in flight."""
        while self.pending:
            done, _ = wait(self.pending, return_when=FIRST_COMPLETED)
            for future in done:
                kind, task = self.pending.pop(future)
                try:
                    self._handle(kind, task, future.result())
                except FetchError as exc:
                    self._store_failure(task, str(exc))
                except Exception as exc:  # one bad page must never abort the batch
                    self._store_failure(task, f"unexpected {type(exc).__name__}: {exc}")

    def _handle(self, kind: str, task: FetchTask, outcome: Response | dict[str, Any]) -> None:
        if isinstance(outcome, dict):
            self._store_page(task, outcome, SourceType.YOUTUBE if kind == "video" else SourceType.WEB)
            return
        if feed_kind(outcome.body):
            self._expand(task, outcome)
        elif not _is_page(outcome):
            raise FetchError(f"{task.url} is {outcome.content_type} but not an RSS/Atom feed or "
                             "sitemap; only HTML pages and feeds are ingested")
        else:
            assert self.processes is not None  # without a pool, _download extracted already
            future = self.processes.submit(extract_page, outcome.body, outcome.url)
            self.pending[future] = ("extract", task)

    def _expand(self, task: FetchTask, response: Response) -> None:
        """A feed is not an item: its entries are. An item stored for the feed URL by a failed
        earlier try is marked as a feed, which is fetched again each time it is given."""
        if task.depth >= MAX_FEED_DEPTH:
            raise FetchError(f"{task.url} is a feed nested more than {MAX_FEED_DEPTH} levels deep")
        links = feed_links(response.body, response.url, self.settings.fetch_feed_max_entries)
        self.total -= 1  # the feed is not an item; its entries are counted as they are queued
        if task.item_id:
            self._write(task, SourceType.WEB, {"fetch_status": FetchStatus.FEED.value,
                                              "fetch_error": None})
        self.progress(self.total - len(self.pending), None, f"{task.url}: {len(links)} entries")
        self.add(links, depth=task.depth + 1)

    def _tick(self) -> None:
        self.progress(self.total - len(self.pending), self.total, "fetching")

    def _write(self, task: FetchTask, source_type: SourceType, values: dict[str, Any]) -> int | None:
        """Update the failed/pending item for this URL, or add a new one; returns its id."""
        try:
            with session_scope() as session:
                item = session.get(Item, task.item_id) if task.item_id else None
                if item is None:
                    item = Item(canonical_url=task.canonical, url=task.url,
                                source_type=source_type.value)
                    session.add(item)
                for name, value in values.items():
                    setattr(item, name, value)
                item.fetched_at = utcnow()
                session.flush()
                item_id = item.id
                if item.text:
                    mark_near_duplicates(session, [(item_id, item.text)])
        except IntegrityError:  # another ingest stored this URL meanwhile: keep theirs
            with session_scope() as session:
                item_id = session.scalar(select(Item.id).where(Item.canonical_url == task.canonical))
        self._tick()
        return item_id

    def _store_failure(self, task: FetchTask, reason: str) -> None:
        self.result.failed += 1
        self.result.errors.append(reason)
        source = SourceType.YOUTUBE if youtube_video_id(task.url) else SourceType.WEB
        self._write(task, source, {"fetch_status": FetchStatus.FAILED.value, "fetch_error": reason})

    def _store_page(self, task: FetchTask, page: dict[str, Any], source_type: SourceType) -> None:
        text = page.pop("text")
        meta = {k: v for k, v in page.items() if v is not None}
        if len(text) < self.settings.fetch_min_chars:
            self.result.failed += 1
            reason = (f"only {len(text)} characters of text found at {task.url} (minimum "
                      f"{self.settings.fetch_min_chars}, CURATION_FETCH_MIN_CHARS); the page may "
                      "need JavaScript, sit behind a login, or hold no article")
            self.result.errors.append(reason)
            self._write(task, source_type, meta | {"fetch_status": FetchStatus.TOO_SHORT.value,
                                                  "fetch_error": reason, "text": None})
            return
        digest = content_hash(text)
        twin = self._twin(digest, task.item_id)
        if twin:
            self.result.duplicates += 1
            self._write(task, source_type, meta | {
                "fetch_status": FetchStatus.DUPLICATE.value, "text": None,
                "fetch_error": f"same text as item {twin}; kept that one"})
            return
        self.result.fetched += 1
        item_id = self._write(task, source_type, meta | {
            "text": text, "content_hash": digest, "fetch_status": FetchStatus.OK.value,
            "fetch_error": None})
        if item_id:
            self.seen_hashes[digest] = item_id

    def _twin(self, digest: str, item_id: int | None) -> int | None:
        """Another item with the same text, stored earlier or in this run."""
        if digest in self.seen_hashes:
            return self.seen_hashes[digest]
        with session_scope() as session:
            query = select(Item.id).where(Item.content_hash == digest)
            if item_id:
                query = query.where(Item.id != item_id)
            return session.scalar(query.limit(1))


def ingest_urls(urls: list[str], *, allow_private_hosts: bool | None = None,
                progress: ProgressFn = no_progress, downloader: Downloader | None = None,
                youtube_session: SessionFactory | None = None) -> IngestResult:
    """Fetch web pages, feeds/sitemaps and YouTube videos into items; retries those stored as
    failed or pending. downloader and youtube_session are for tests (local server, replay)."""
    started = time.perf_counter()
    lines = _check_input(urls)
    settings = get_settings()
    allow = settings.allow_private_hosts if allow_private_hosts is None else allow_private_hosts
    run = _Run(settings, downloader or Downloader(settings, allow_private=allow), youtube_session,
               progress)
    try:
        run.add(lines)
        run.drain()
    finally:
        run.close()
    run.result.seconds = time.perf_counter() - started
    return run.result


def failed_urls(session: Session, limit: int = 1000) -> list[str]:
    """URLs of items stored as failed or pending (imported with a header but no text)."""
    return list(session.scalars(
        select(Item.url).where(Item.fetch_status.in_(RETRY_STATUSES), Item.url.is_not(None))
        .order_by(Item.id).limit(limit)))


def retry_failed(*, allow_private_hosts: bool | None = None, progress: ProgressFn = no_progress,
                 limit: int = 1000) -> IngestResult:
    """Fetch again every item stored as failed or pending."""
    with session_scope() as session:
        urls = failed_urls(session, limit)
    if not urls:
        return IngestResult()
    return ingest_urls(urls, allow_private_hosts=allow_private_hosts, progress=progress)


def recent_sources(session: Session, limit: int = 100) -> list[dict[str, Any]]:
    """Items that went through the fetch layer or wait for it, newest first, for the Sources page.
    A URL stored with user:password@ before those were dropped is shown without them."""
    query = (
        select(Item.id, Item.url, Item.title, Item.source_type, Item.fetch_status,
               Item.fetch_error, Item.fetched_at)
        .where(or_(Item.source_type != SourceType.IMPORT.value, Item.fetched_at.is_not(None),
                   Item.fetch_status != FetchStatus.OK.value))
        .order_by(Item.id.desc())
        .limit(limit)
    )
    return [row._asdict() | {"url": row.url and without_userinfo(row.url)} for row in session.execute(query)]
