"""Ingest end to end against a local website, on SQLite and PostgreSQL."""

import gzip
import threading

import pytest
from sqlalchemy import select

from curation.enums import FetchStatus
from curation.errors import CurationError
from curation.fetch.download import Downloader
from curation.fetch.ingest import ingest_urls, recent_sources, retry_failed
from curation.settings import get_settings
from db.models import Item, Score
from db.session import session_scope
from tests.factories import make_row, run_cli, write_jsonl
from tests.site import Site, article

pytestmark = pytest.mark.usefixtures("fetch_env")

RSS = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>Acme Engineering</title><link>{base}/</link>
<item><title>One</title><link>{base}/blog/one</link></item>
<item><title>Two</title><link>{base}/blog/two?utm_source=rss</link></item>
</channel></rss>"""
SITEMAP = """<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
<url><loc>{base}/blog/one</loc><lastmod>2024-05-01</lastmod></url>
<url><loc>{base}/blog/three</loc></url></urlset>"""


def ingest(urls: list[str], **kwargs: object):  # type: ignore[no-untyped-def]
    """Ingest with a downloader allowed onto loopback and backoff waits skipped."""
    downloader = Downloader(allow_private=True, sleep=lambda seconds: None)
    return ingest_urls(urls, downloader=downloader, **kwargs)  # type: ignore[arg-type]


def items() -> dict[str, Item]:
    with session_scope() as session:
        return {item.url or "": item for item in session.scalars(select(Item))}


def test_an_article_is_stored_as_clean_text_with_its_metadata(db_url: str, site: Site) -> None:
    url = site.add("/blog/launch", body=article("How we shipped our support assistant"))
    result = ingest([url])
    assert result.summary() | {"seconds": 0} == {"fetched": 1, "failed": 0, "duplicates": 0, "seconds": 0}
    item = items()[url]
    assert item.fetch_status == FetchStatus.OK and item.source_type == "web"
    assert item.title == "How we shipped our support assistant"
    assert item.author == "Dana Reyes" and item.site_name == "Acme Engineering"
    assert item.published_at is not None and item.published_at.year == 2024
    assert "p95 was eleven seconds" in (item.text or "")
    for boilerplate in ("cookies", "Careers", "newsletter", "All rights reserved", "<p>"):
        assert boilerplate not in (item.text or "")
    assert item.content_hash and item.fetched_at


def test_known_urls_are_skipped_before_fetching(db_url: str, site: Site) -> None:
    url = site.add("/blog/once", body=article("Once"))
    ingest([url])
    again = ingest([url + "?utm_source=newsletter", url + "#comments"])
    assert (again.fetched, again.duplicates) == (0, 2)
    assert site.hits("/blog/once") == 1


def test_the_same_article_under_two_urls_is_kept_once(db_url: str, site: Site) -> None:
    page = article("Syndicated")
    first = site.add("/blog/original", body=page)
    second = site.add("/syndicated/copy", body=page)
    result = ingest([first, second])
    assert (result.fetched, result.duplicates) == (1, 1)
    statuses = sorted(item.fetch_status for item in items().values())
    assert statuses == [FetchStatus.DUPLICATE, FetchStatus.OK]


def test_each_failure_is_stored_with_its_reason_and_the_batch_goes_on(db_url: str, site: Site) -> None:
    good = site.add("/blog/good", body=article("Good"))
    missing = site.url + "/blog/missing"
    broken = site.add("/blog/broken", status=503, body="down for maintenance")
    pdf = site.add("/paper.pdf", body=b"%PDF-1.7", content_type="application/pdf")
    thin = site.add("/blog/thin", body="<html><body><p>Coming soon.</p></body></html>")
    result = ingest([missing, good, broken, pdf, thin])
    assert (result.fetched, result.failed) == (1, 4)
    stored = items()
    assert stored[good].fetch_status == FetchStatus.OK
    assert "HTTP 404" in (stored[missing].fetch_error or "")
    assert "HTTP 503" in (stored[broken].fetch_error or "")
    assert "application/pdf" in (stored[pdf].fetch_error or "")
    assert stored[thin].fetch_status == FetchStatus.TOO_SHORT
    assert "characters of text" in (stored[thin].fetch_error or "") and stored[thin].text is None
    assert all(stored[u].fetch_status == FetchStatus.FAILED for u in (missing, broken, pdf))


def test_a_failed_url_given_again_is_fetched_again(db_url: str, site: Site) -> None:
    url = site.url + "/blog/later"
    assert ingest([url]).failed == 1
    site.add("/blog/later", body=article("Later"))
    result = ingest([url])
    assert (result.fetched, result.duplicates) == (1, 0)
    assert len(items()) == 1 and items()[url].fetch_status == FetchStatus.OK
    assert items()[url].fetch_error is None


def test_imported_rows_without_text_are_fetched_by_retry_failed(db_url: str, site: Site, tmp_path) -> None:  # type: ignore[no-untyped-def]
    site.add("/blog/imported", body=article("Imported later"))
    header_only = make_row(1, "accept") | {"text": f"Imported later\n\n{site.url}/blog/imported\n\n"}
    header_only["meta"]["url"] = f"{site.url}/blog/imported"
    code, _, _ = run_cli("import", str(write_jsonl(tmp_path / "rows.jsonl", [header_only])))
    assert code == 0 and items()[f"{site.url}/blog/imported"].fetch_status == FetchStatus.PENDING
    result = retry_failed(allow_private_hosts=True)
    assert result.fetched == 1
    item = items()[f"{site.url}/blog/imported"]
    assert item.fetch_status == FetchStatus.OK and "hybrid BM25" in (item.text or "")
    assert item.source_type == "import"  # still the imported row, with its label


def test_a_feed_expands_into_its_entries(db_url: str, site: Site) -> None:
    site.add("/blog/one", body=article("One", "search ranker"))
    site.add("/blog/two", body=article("Two", "code reviewer"))
    feed = site.add("/feed.xml", body=RSS.format(base=site.url), content_type="application/rss+xml")
    result = ingest([feed])
    assert (result.fetched, result.failed) == (2, 0)
    assert set(items()) == {f"{site.url}/blog/one", f"{site.url}/blog/two?utm_source=rss"}


def test_a_sitemap_expands_and_skips_what_we_have(db_url: str, site: Site) -> None:
    site.add("/blog/one", body=article("One", "search ranker"))
    site.add("/blog/three", body=article("Three", "sales copilot"))
    ingest([f"{site.url}/blog/one"])
    sitemap = site.add("/sitemap.xml", body=SITEMAP.format(base=site.url), content_type="text/xml")
    result = ingest([sitemap])
    assert (result.fetched, result.duplicates) == (1, 1)


def test_a_gzipped_sitemap_expands_into_its_pages(db_url: str, site: Site) -> None:
    site.add("/blog/one", body=article("One", "search ranker"))
    site.add("/blog/three", body=article("Three", "sales copilot"))
    sitemap = site.add("/sitemap.xml.gz", body=gzip.compress(SITEMAP.format(base=site.url).encode()),
                       content_type="application/gzip")
    result = ingest([sitemap])
    assert (result.fetched, result.failed) == (2, 0)
    assert set(items()) == {f"{site.url}/blog/one", f"{site.url}/blog/three"}


def test_a_gzip_file_that_is_not_a_sitemap_fails_with_the_reason(db_url: str, site: Site) -> None:
    url = site.add("/archive.gz", body=gzip.compress(article("Packed").encode()),
                   content_type="application/gzip")
    assert ingest([url]).failed == 1
    stored = items()[url]
    assert stored.fetch_status == FetchStatus.FAILED and stored.text is None
    assert "application/gzip but not an RSS/Atom feed or sitemap" in (stored.fetch_error or "")


def test_lines_that_are_not_urls_stop_the_batch_before_anything_is_written(db_url: str) -> None:
    with pytest.raises(CurationError, match="'example.com/post'.*https://example.com/post"):
        ingest(["https://example.com/a", "example.com/post", "# a comment"])
    assert items() == {}


def test_a_password_in_a_link_is_neither_stored_nor_listed(db_url: str, site: Site) -> None:
    good = site.add("/blog/private", body=article("Private"))
    with_password = good.replace("://", "://reader:hunter2@")
    ingest([with_password, with_password.replace("/blog/private", "/gone")])
    with session_scope() as session:
        rows = recent_sources(session, limit=10)
    assert sorted(row["url"] for row in rows) == sorted([good, site.url + "/gone"])
    assert "hunter2" not in repr(rows) and "hunter2" not in repr(list(items()))
    with session_scope() as session:  # one stored before passwords were dropped
        session.add(Item(canonical_url="https://old.example/a", url="https://me:hunter2@old.example/a",
                         source_type="web", fetch_status=FetchStatus.FAILED))
    with session_scope() as session:
        assert recent_sources(session, limit=1)[0]["url"] == "https://old.example/a"


def test_recent_sources_lists_what_was_fetched_and_why_it_failed(db_url: str, site: Site) -> None:
    good = site.add("/blog/good", body=article("Good"))
    ingest([good, site.url + "/gone"])
    with session_scope() as session:
        rows = recent_sources(session, limit=10)
    assert [row["url"] for row in rows] == [site.url + "/gone", good] or \
        [row["url"] for row in rows] == [good, site.url + "/gone"]
    failed = next(row for row in rows if row["url"].endswith("/gone"))
    assert failed["fetch_status"] == "failed" and "HTTP 404" in failed["fetch_error"]
    assert set(failed) >= {"url", "title", "source_type", "fetch_status", "fetch_error", "fetched_at"}


def test_cli_ingest_reads_a_url_file_and_prints_the_counts(home, site: Site, tmp_path) -> None:  # type: ignore[no-untyped-def]
    site.add("/blog/a", body=article("A", "search ranker"))
    site.add("/blog/b", body=article("B", "code reviewer"))
    urls = tmp_path / "urls.txt"
    urls.write_text(f"# reading list\n{site.url}/blog/a\n\n{site.url}/blog/b\n")
    env = {"CURATION_FETCH_RETRIES": "0"}
    assert run_cli("init")[0] == 0
    code, summary, stderr = run_cli("ingest", f"{site.url}/nowhere", "--file", str(urls),
                                    "--allow-private-hosts", env=env)
    assert code == 0, stderr
    assert {k: summary[k] for k in ("fetched", "failed", "duplicates")} == \
        {"fetched": 2, "failed": 1, "duplicates": 0}
    assert "HTTP 404" in stderr and isinstance(summary["seconds"], float)


def test_cli_ingest_refuses_loopback_unless_allowed(home, site: Site) -> None:  # type: ignore[no-untyped-def]
    site.add("/blog/a", body=article("A"))
    assert run_cli("init")[0] == 0
    code, summary, stderr = run_cli("ingest", f"{site.url}/blog/a")
    assert code == 0 and summary["failed"] == 1 and "loopback" in stderr
    assert site.hits("/blog/a") == 0


def test_extraction_in_a_process_pool_stores_the_same_items(
        db_url: str, site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CURATION_FETCH_EXTRACT_WORKERS", "2")
    get_settings.cache_clear()
    topics = ["search ranker", "code reviewer", "sales copilot"]
    urls = [site.add(f"/blog/{n}", body=article(f"Post {n}", topic)) for n, topic in enumerate(topics)]
    result = ingest(urls)
    assert (result.fetched, result.failed) == (3, 0)
    assert all("BM25" in (items()[url].text or "") for url in urls)


def test_a_url_stored_by_another_ingest_meanwhile_does_not_break_the_batch(db_url: str, site: Site) -> None:
    gate = threading.Event()
    racing = site.add("/blog/racing", body=article("Racing", "search ranker"), gate=gate)
    other = site.add("/blog/other", body=article("Other", "code reviewer"))
    results = []
    worker = threading.Thread(target=lambda: results.append(ingest([racing, other])))
    worker.start()
    with site.changed:
        assert site.changed.wait_for(lambda: site.hits("/blog/racing") == 1, timeout=5)
    with session_scope() as session:  # what a second ingest running beside this one would store
        session.add(Item(canonical_url=racing, url=racing, source_type="web", fetch_status="ok",
                         text="stored by the other run"))
    gate.set()
    worker.join(10)
    assert results and results[0].fetched == 2
    assert items()[racing].text == "stored by the other run"
    assert items()[other].fetch_status == FetchStatus.OK


def test_cli_ingest_scores_new_items_when_a_model_is_active(
        home, site: Site, tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    """In-process (typer's runner), so the model loads once for scoring and ingest; SQLite only."""
    from typer.testing import CliRunner

    from curation.cli import app
    from curation.files.importing import import_file
    from db.migrate import upgrade
    from models.scoring import score_unscored

    upgrade()

    for name, value in {"CURATION_HUB_OFFLINE": "1", "CURATION_DEVICE": "cpu"}.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    with session_scope() as session:
        import_file(session, write_jsonl(tmp_path / "rows.jsonl", [make_row(1, "accept"), make_row(2, "reject")]))
    score_unscored()  # builds and activates the cold-start scorer
    url = site.add("/blog/new", body=article("New"))
    outcome = CliRunner().invoke(app, ["ingest", url, "--allow-private-hosts"])
    assert outcome.exit_code == 0, outcome.output
    assert "scored 1 new item(s) with cold start" in outcome.stderr
    with session_scope() as session:
        new_id = session.scalar(select(Item.id).where(Item.url == url))
        assert session.scalar(select(Score.probability).where(Score.item_id == new_id)) is not None
