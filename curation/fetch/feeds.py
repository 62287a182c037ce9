"""Feeds and sitemaps expand into the pages they list; the feed itself is not an item.

Recognised by their root element (a server's content type for XML is often wrong). Parsing is
safe against entity tricks: sitemaps go through defusedxml, feeds through feedparser fed from
memory (never a URL or file name, which feedparser would open itself)."""

import io
import re
from urllib.parse import urlsplit

import feedparser
from defusedxml import ElementTree
from defusedxml.common import DefusedXmlException

from curation.errors import FetchError

_ROOT = re.compile(rb"<(rss|feed|rdf:RDF|urlset|sitemapindex)[\s>]")
# BOM, XML declaration, then any comments, processing instructions and a DOCTYPE (with its subset).
_PROLOGUE = re.compile(
    rb"\A(\xef\xbb\xbf)?\s*(<\?xml[^>]*\?>\s*)?(<!--.*?-->\s*|<\?[^>]*\?>\s*|<!DOCTYPE[^\[>]*(\[.*?\])?\s*>\s*)*",
    re.S)


def feed_kind(body: bytes) -> str | None:
    """"rss", "feed" (Atom), "rdf:RDF", "urlset" or "sitemapindex"; None for anything else."""
    start = _PROLOGUE.match(body[:8192])
    head = body[start.end() if start else 0:][:512]
    match = _ROOT.match(head)
    return match.group(1).decode() if match else None


def _sitemap_locations(body: bytes, url: str) -> list[str]:
    try:
        root = ElementTree.fromstring(body)
    except (ElementTree.ParseError, DefusedXmlException) as exc:
        raise FetchError(f"sitemap {url} is not valid XML ({exc})") from exc
    return [el.text.strip() for el in root.iter() if el.tag.endswith("loc") and el.text]


def _feed_links(body: bytes, url: str) -> list[str]:
    parsed = feedparser.parse(io.BytesIO(body), response_headers={"content-location": url})
    if parsed.bozo and not parsed.entries:
        raise FetchError(f"feed {url} could not be parsed ({parsed.bozo_exception})")
    return [entry.link for entry in parsed.entries if entry.get("link")]


def feed_links(body: bytes, url: str, limit: int) -> list[str]:
    """The page links a feed or sitemap lists, first `limit` of them (sitemap indexes list
    sitemaps, which the caller expands in turn)."""
    kind = feed_kind(body)
    links = _sitemap_locations(body, url) if kind in ("urlset", "sitemapindex") else _feed_links(body, url)
    web = (link for link in links if urlsplit(link).scheme in ("http", "https"))  # no mailto: etc.
    return list(dict.fromkeys(web))[:limit]
