"""YouTube talks: the transcript (preferred languages, then generated, then translated) with the
video's title and channel. Each way YouTube says no becomes one clear per-item reason."""

from collections.abc import Callable
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from youtube_transcript_api import (
    AgeRestricted,
    CouldNotRetrieveTranscript,
    InvalidVideoId,
    NoTranscriptFound,
    RequestBlocked,
    Transcript,
    TranscriptList,
    TranscriptsDisabled,
    VideoUnavailable,
    YouTubeTranscriptApi,
)
from youtube_transcript_api.proxies import GenericProxyConfig, ProxyConfig, WebshareProxyConfig

from curation.errors import FetchError
from curation.settings import Settings

OEMBED_URL = "https://www.youtube.com/oembed"
SessionFactory = Callable[[], requests.Session]


class _TimeoutAdapter(HTTPAdapter):
    """The library calls requests without a timeout; a stalled YouTube must not hang a batch."""

    def __init__(self, timeout: tuple[float, float]) -> None:
        super().__init__()
        self.timeout = timeout

    def send(self, request, **kwargs):  # type: ignore[no-untyped-def]
        kwargs["timeout"] = kwargs.get("timeout") or self.timeout
        return super().send(request, **kwargs)


def default_session(settings: Settings) -> requests.Session:
    session = requests.Session()
    adapter = _TimeoutAdapter((settings.fetch_connect_timeout_s, settings.fetch_read_timeout_s))
    session.mount("https://", adapter)
    session.headers["User-Agent"] = settings.fetch_user_agent
    return session


def proxy_config(settings: Settings) -> ProxyConfig | None:
    """youtube-transcript-api's own proxy settings, from ours: Webshare wins over a generic proxy."""
    if settings.youtube_webshare_username:
        return WebshareProxyConfig(proxy_username=settings.youtube_webshare_username,
                                   proxy_password=settings.youtube_webshare_password.get_secret_value())
    if settings.youtube_proxy_http or settings.youtube_proxy_https:
        return GenericProxyConfig(http_url=settings.youtube_proxy_http or None,
                                  https_url=settings.youtube_proxy_https or None)
    return None


def _choose(transcripts: TranscriptList, languages: list[str]) -> Transcript:
    """Manual then generated in the preferred languages; else any transcript translated into
    the first preferred language it can be translated to."""
    try:
        return transcripts.find_transcript(languages)
    except NoTranscriptFound:
        pass
    for transcript in transcripts:
        codes = {t.language_code for t in transcript.translation_languages}
        for language in languages:
            if language in codes:
                return transcript.translate(language)
    available = ", ".join(t.language_code for t in transcripts) or "none"
    raise FetchError(f"no transcript in {', '.join(languages)} and none translatable to them "
                     f"(available: {available}); add a language to CURATION_YOUTUBE_LANGUAGES")


def _reason(video_id: str, exc: CouldNotRetrieveTranscript) -> str:
    if isinstance(exc, TranscriptsDisabled):
        return f"subtitles are disabled for YouTube video {video_id}; there is no transcript to fetch"
    if isinstance(exc, (VideoUnavailable, InvalidVideoId)):
        return f"YouTube video {video_id} is unavailable (removed, private or a wrong id)"
    if isinstance(exc, AgeRestricted):
        return f"YouTube video {video_id} is age-restricted; its transcript needs a signed-in session"
    if isinstance(exc, RequestBlocked):
        return (f"YouTube blocked the request for {video_id} from this machine's IP; set "
                "CURATION_YOUTUBE_PROXY_HTTPS or CURATION_YOUTUBE_WEBSHARE_USERNAME/_PASSWORD")
    return f"YouTube transcript for {video_id} failed: {str(exc).strip().splitlines()[0]}"


def _metadata(session: requests.Session, video_id: str) -> dict[str, Any]:
    """Title and channel from oEmbed; a missing title is no reason to drop the transcript."""
    try:
        response = session.get(OEMBED_URL, params={
            "url": f"https://www.youtube.com/watch?v={video_id}", "format": "json"})
        data = response.json() if response.ok else {}
    except (requests.RequestException, ValueError):
        data = {}
    return {"title": data.get("title"), "author": data.get("author_name")}


def fetch_video(video_id: str, settings: Settings,
                session_factory: SessionFactory | None = None) -> dict[str, Any]:
    """Transcript text plus title and channel (author) for one video; FetchError on failure."""
    session = session_factory() if session_factory else default_session(settings)
    api = YouTubeTranscriptApi(proxy_config=proxy_config(settings), http_client=session)
    languages = [code.strip() for code in settings.youtube_languages.split(",") if code.strip()]
    try:
        transcript = _choose(api.list(video_id), languages).fetch()
    except CouldNotRetrieveTranscript as exc:
        raise FetchError(_reason(video_id, exc)) from exc
    except requests.RequestException as exc:
        raise FetchError(f"could not reach YouTube for {video_id} ({exc}); retry later") from exc
    text = " ".join(snippet.text.strip() for snippet in transcript if snippet.text.strip())
    return {**_metadata(session, video_id), "site_name": "YouTube", "published_at": None,
            "text": text}
