"""YouTube talks through the real youtube-transcript-api client, fed recorded responses."""

import pytest
from sqlalchemy import select

from curation.enums import FetchStatus
from curation.errors import FetchError
from curation.fetch.ingest import ingest_urls
from curation.fetch.youtube import fetch_video, proxy_config
from curation.settings import Settings
from db.models import Item
from db.session import session_scope
from tests.youtube_replay import replay_session


def test_a_transcript_comes_with_title_and_channel() -> None:
    video = fetch_video("prodTalk001", Settings(), replay_session)
    assert video["title"] == "Running LLMs in production at Acme"
    assert video["author"] == "Acme Engineering" and video["site_name"] == "YouTube"
    assert "I'm going to talk about how we run LLMs in production" in video["text"]
    assert "golden set of five thousand conversations" in video["text"]


def test_a_generated_transcript_is_used_when_there_is_no_manual_one() -> None:
    video = fetch_video("autoOnly001", Settings(), replay_session)
    assert "we serve about two million requests" in video["text"]


def test_a_transcript_in_another_language_is_translated_to_ours() -> None:
    video = fetch_video("germanTalk1", Settings(youtube_languages="en"), replay_session)
    assert "language models in customer service" in video["text"]


def test_a_preferred_language_comes_first() -> None:
    video = fetch_video("germanTalk1", Settings(youtube_languages="de,en"), replay_session)
    assert "Sprachmodelle im Kundenservice" in video["text"]


@pytest.mark.parametrize(("video_id", "reason"), [
    ("noSubtitle1", "subtitles are disabled"),
    ("goneVideo01", "is unavailable"),
    ("ageLimited1", "is age-restricted"),
    ("botBlocked1", "blocked the request .* CURATION_YOUTUBE_PROXY_HTTPS"),
])
def test_each_way_youtube_says_no_gets_a_clear_reason(video_id: str, reason: str) -> None:
    with pytest.raises(FetchError, match=reason):
        fetch_video(video_id, Settings(), replay_session)


def test_no_transcript_in_a_wanted_language_names_what_there_is() -> None:
    with pytest.raises(FetchError, match=r"no transcript in ja .*available: en"):
        fetch_video("autoOnly001", Settings(youtube_languages="ja"), replay_session)


def test_proxy_settings_reach_the_library() -> None:
    generic = proxy_config(Settings(youtube_proxy_https="http://proxy.local:3128"))
    assert generic is not None and generic.to_requests_dict()["https"] == "http://proxy.local:3128"
    webshare = proxy_config(Settings(youtube_webshare_username="u", youtube_webshare_password="p"))
    assert webshare is not None and webshare.retries_when_blocked > 0
    assert proxy_config(Settings()) is None


def test_ingest_stores_videos_under_one_canonical_url_each(db_url: str) -> None:
    result = ingest_urls(["https://youtu.be/prodTalk001?t=42", "https://www.youtube.com/shorts/prodTalk001",
                          "https://www.youtube.com/watch?v=ageLimited1&list=PL1"],
                         youtube_session=replay_session)
    assert (result.fetched, result.failed, result.duplicates) == (1, 1, 1)
    with session_scope() as session:
        stored = {i.canonical_url: i for i in session.scalars(select(Item))}
    talk = stored["https://www.youtube.com/watch?v=prodTalk001"]
    assert talk.source_type == "youtube" and talk.fetch_status == FetchStatus.OK
    assert talk.title == "Running LLMs in production at Acme" and talk.author == "Acme Engineering"
    blocked = stored["https://www.youtube.com/watch?v=ageLimited1"]
    assert blocked.fetch_status == FetchStatus.FAILED and "age-restricted" in (blocked.fetch_error or "")
