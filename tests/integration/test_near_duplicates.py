"""Near-duplicates by MinHash at import and ingest: linked, not dropped; found by index look-up."""

import threading
from pathlib import Path

import pytest
from sqlalchemy import func, select

from curation.corpus.near_duplicates import BUCKET_CAP, near_duplicates_of, signature, similarity
from curation.fetch.download import Downloader
from curation.fetch.ingest import ingest_urls
from curation.files.importing import import_file
from db.models import Item, MinhashBand
from db.session import session_scope
from tests.factories import run_cli, write_jsonl
from tests.site import Site, article

STORY = ("We moved our support assistant to production in May. Latency fell from eleven seconds "
         "to two after we cached retrieval results and trimmed the prompt. Customers rated the "
         "answers higher, and the on-call team saw fewer escalations during the rollout. ") * 3


def _row(n: int, text: str) -> dict:
    return {"text": text, "meta": {"url": f"https://example.com/{n}", "title": f"T{n}"}, "answer": None}


def _links() -> dict[str, int | None]:
    with session_scope() as session:
        ids = dict(session.execute(select(Item.id, Item.url)).all())
        return {url: ids.get(original) and original for url, original
                in session.execute(select(Item.url, Item.near_duplicate_of))}


def test_signatures_estimate_similarity_and_ignore_case_and_punctuation() -> None:
    a, b = signature(STORY), signature(STORY.upper().replace(",", " ;"))
    assert similarity(a, b) == 1.0
    assert similarity(a, signature("A garden diary about tomatoes and the weather in spring.")) < 0.2
    assert signature("... !!! ") is None


def test_import_links_a_near_duplicate_to_the_earlier_item_and_keeps_both(db_url: str, tmp_path: Path) -> None:
    rows = [_row(1, STORY), _row(2, "Other text entirely, about gardens and weather. " * 5),
            _row(3, STORY + " Updated: one more sentence at the end.")]
    with session_scope() as session:
        result = import_file(session, write_jsonl(tmp_path / "a.jsonl", rows))
    assert (result.imported, result.duplicates) == (3, 0)
    with session_scope() as session:
        by_url = {item.url: item for item in session.scalars(select(Item))}
        first, other, repeat = (by_url[f"https://example.com/{n}"] for n in (1, 2, 3))
        assert (first.near_duplicate_of, other.near_duplicate_of, repeat.near_duplicate_of) == (None, None, first.id)
        assert near_duplicates_of(session, first.id) == [repeat.id]
        assert near_duplicates_of(session, repeat.id) == [first.id]
    with session_scope() as session:  # a later import finds the earlier items through the index
        import_file(session, write_jsonl(tmp_path / "b.jsonl", [_row(4, "Reposted. " + STORY)]))
    with session_scope() as session:
        later = session.scalar(select(Item).where(Item.url == "https://example.com/4"))
        assert later.near_duplicate_of == first.id


def test_threshold_is_a_setting(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from curation.settings import get_settings

    monkeypatch.setenv("CURATION_NEAR_DUPLICATE_THRESHOLD", "1.0")
    get_settings.cache_clear()
    rows = [_row(1, STORY), _row(2, STORY + " Updated: one more sentence at the end.")]
    with session_scope() as session:
        import_file(session, write_jsonl(tmp_path / "a.jsonl", rows))
    with session_scope() as session:
        assert session.scalar(select(func.count()).where(Item.near_duplicate_of.is_not(None))) == 0


def test_a_bucket_stops_growing_at_its_cap(db_url: str, tmp_path: Path) -> None:
    """Templated texts share bands without being near-duplicates; checks must not slow down."""
    rows = [_row(n, f"Report {n} " + " ".join(f"w{n}x{i}" for i in range(3)) + " the same footer text here")
            for n in range(BUCKET_CAP + 10)]
    with session_scope() as session:
        import_file(session, write_jsonl(tmp_path / "a.jsonl", rows))
    with session_scope() as session:
        biggest = session.scalar(select(func.count()).select_from(MinhashBand)
                                 .group_by(MinhashBand.band_key).order_by(func.count().desc()).limit(1))
    assert biggest <= BUCKET_CAP


@pytest.mark.usefixtures("fetch_env")
def test_two_concurrent_ingests_of_near_duplicates_link_one_to_the_other(db_url: str, site: Site) -> None:
    page = article("How we shipped our support assistant")
    gate = threading.Event()
    first = site.add("/a", body=page, gate=gate)
    second = site.add("/b", body=page.replace("</article>", "<p>Edited in June.</p></article>"), gate=gate)
    downloader = Downloader(allow_private=True, sleep=lambda seconds: None)
    threads = [threading.Thread(target=ingest_urls, args=([url],), kwargs={"downloader": downloader})
               for url in (first, second)]
    for thread in threads:
        thread.start()
    gate.set()  # both pages answer at once
    for thread in threads:
        thread.join(timeout=60)
    with session_scope() as session:
        items = session.execute(select(Item.id, Item.near_duplicate_of).order_by(Item.id)).all()
    (a, link_a), (b, link_b) = items  # whichever committed first is the original
    assert (link_a, link_b) in [(None, a), (b, None)]


def test_cli_lists_near_duplicates_to_decide_together(db_url: str, tmp_path: Path) -> None:
    with session_scope() as session:
        import_file(session, write_jsonl(tmp_path / "a.jsonl", [_row(1, STORY), _row(2, "Reposted. " + STORY)]))
    code, result, _ = run_cli("near-duplicates", "1")
    assert code == 0 and result == {"item_id": 1, "near_duplicates": [2]}
