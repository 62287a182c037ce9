"""Feeds and sitemaps are recognised by content and expand into their page links."""

import pytest

from curation.errors import FetchError
from curation.fetch.feeds import feed_kind, feed_links

ATOM = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Acme</title>
<entry><title>A</title><link href="https://acme.example/blog/a"/></entry>
<entry><title>B</title><link rel="alternate" href="/blog/b"/></entry></feed>"""
RSS = b"""\xef\xbb\xbf<?xml version="1.0"?><!-- generator: acme -->
<rss version="2.0"><channel><title>Acme</title>
<item><link>https://acme.example/1</link></item><item><link>https://acme.example/2</link></item>
<item><link>https://acme.example/1</link></item><item><title>no link</title></item>
<item><link>mailto:press@acme.example</link></item></channel></rss>"""
INDEX = b"""<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
<sitemap><loc>https://acme.example/sitemap-posts.xml</loc></sitemap></sitemapindex>"""
BOMB = b"""<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]>
<urlset><url><loc>&lol2;</loc></url></urlset>"""


@pytest.mark.parametrize(("body", "kind"), [
    (ATOM, "feed"), (RSS, "rss"), (INDEX, "sitemapindex"),
    (b"<urlset xmlns='x'><url><loc>https://a.example/</loc></url></urlset>", "urlset"),
    (b"<!DOCTYPE html><html><body><p>rss feed</p></body></html>", None),
    (b"<?xml version='1.0'?><svg xmlns='http://www.w3.org/2000/svg'/>", None),
])
def test_feeds_are_recognised_by_their_root_element(body: bytes, kind: str | None) -> None:
    assert feed_kind(body) == kind


def test_atom_links_are_resolved_against_the_feed_url() -> None:
    assert feed_links(ATOM, "https://acme.example/feed.atom", 10) == [
        "https://acme.example/blog/a", "https://acme.example/blog/b"]


def test_rss_links_are_listed_once_and_capped() -> None:
    assert feed_links(RSS, "https://acme.example/rss", 10) == ["https://acme.example/1", "https://acme.example/2"]
    assert feed_links(RSS, "https://acme.example/rss", 1) == ["https://acme.example/1"]


def test_a_sitemap_index_lists_its_sitemaps() -> None:
    assert feed_links(INDEX, "https://acme.example/sitemap.xml", 10) == [
        "https://acme.example/sitemap-posts.xml"]


def test_an_entity_bomb_in_a_sitemap_is_refused() -> None:
    with pytest.raises(FetchError, match="sitemap https://acme.example/s.xml is not valid XML"):
        feed_links(BOMB, "https://acme.example/s.xml", 10)
