"""URL canonicalisation: one article, one key, whatever tracking or formatting the link carries."""

import re
from urllib.parse import SplitResult, parse_qs, parse_qsl, urlencode, urlsplit, urlunsplit

TRACKING_PARAMS = frozenset(
    {"fbclid", "gclid", "dclid", "msclkid", "yclid", "igshid", "mc_cid", "mc_eid", "ref_src",
     "_hsenc", "_hsmi", "mkt_tok", "spm", "si"}
)
DEFAULT_PORTS = {"http": 80, "https": 443}
YOUTUBE_HOSTS = frozenset({"youtube.com", "www.youtube.com", "m.youtube.com", "music.youtube.com",
                           "youtube-nocookie.com", "www.youtube-nocookie.com"})
YOUTUBE_PATH_PREFIXES = ("shorts", "embed", "live", "v", "e")
_VIDEO_ID = re.compile(r"[A-Za-z0-9_-]{11}")


def _is_tracking(name: str) -> bool:
    name = name.lower()
    return name.startswith("utm_") or name in TRACKING_PARAMS


def youtube_video_id(url: str) -> str | None:
    """The video id of any YouTube link form (watch?v=, youtu.be/, shorts/, embed/, live/, with
    timestamps or playlists attached), or None when the link is not to one video."""
    return _video_id(urlsplit(url.strip()))


def _video_id(parts: SplitResult) -> str | None:
    host = (parts.hostname or "").lower().rstrip(".")
    segments = [s for s in parts.path.split("/") if s]
    candidate = None
    if host in ("youtu.be", "www.youtu.be") and segments:
        candidate = segments[0]
    elif host in YOUTUBE_HOSTS:
        if segments == ["watch"]:
            candidate = (parse_qs(parts.query).get("v") or [None])[0]
        elif len(segments) >= 2 and segments[0] in YOUTUBE_PATH_PREFIXES:
            candidate = segments[1]
    return candidate if candidate and _VIDEO_ID.fullmatch(candidate) else None


def canonicalize_url(url: str) -> str:
    """Every YouTube link to a video becomes https://www.youtube.com/watch?v=ID. Otherwise:
    lower-case scheme and host, drop user:password@, default ports, fragments and tracking
    parameters, sort the remaining query, and drop a trailing slash (but keep the root path as "/")."""
    parts = urlsplit(url.strip())  # split once: import canonicalises every row's URL
    video_id = _video_id(parts)
    if video_id:
        return f"https://www.youtube.com/watch?v={video_id}"
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower().rstrip(".")
    netloc = host
    if parts.port and parts.port != DEFAULT_PORTS.get(scheme):
        netloc = f"{host}:{parts.port}"
    path = parts.path.rstrip("/") or "/"
    query = sorted((k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
                   if not _is_tracking(k))
    return urlunsplit((scheme, netloc, path, urlencode(query), ""))


def without_userinfo(url: str) -> str:
    """url without its user:password@ part, otherwise as given: the URL we store and show. A
    password in a link would otherwise sit in the database and on the Sources page."""
    if "@" not in url:  # most links: no need to split them
        return url.strip()
    parts = urlsplit(url.strip())
    if "@" not in parts.netloc:
        return url.strip()
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))
