import pytest

from curation.corpus.urls import canonicalize_url, without_userinfo, youtube_video_id


@pytest.mark.parametrize(
    ("url", "canonical"),
    [
        ("HTTPS://Example.COM/Post/", "https://example.com/Post"),
        ("https://example.com:443/a#section-2", "https://example.com/a"),
        ("http://example.com:8080/a", "http://example.com:8080/a"),
        ("https://example.com/a?utm_source=x&utm_medium=y&id=3", "https://example.com/a?id=3"),
        ("https://example.com/a?b=2&a=1&fbclid=zz", "https://example.com/a?a=1&b=2"),
        ("https://example.com", "https://example.com/"),
        ("https://example.com/", "https://example.com/"),
        ("  https://example.com/a  ", "https://example.com/a"),
    ],
)
def test_links_to_one_article_share_one_canonical_url(url: str, canonical: str) -> None:
    assert canonicalize_url(url) == canonical


def test_path_case_and_meaningful_parameters_are_kept_apart() -> None:
    assert canonicalize_url("https://e.com/A") != canonicalize_url("https://e.com/a")
    assert canonicalize_url("https://e.com/a?id=1") != canonicalize_url("https://e.com/a?id=2")


@pytest.mark.parametrize("url", [
    "https://www.youtube.com/watch?v=abcDEF12_-3",
    "https://youtube.com/watch?v=abcDEF12_-3&t=42s",
    "https://m.youtube.com/watch?feature=share&v=abcDEF12_-3",
    "http://www.youtube.com/watch?v=abcDEF12_-3&list=PL123&index=4#comments",
    "https://youtu.be/abcDEF12_-3",
    "https://youtu.be/abcDEF12_-3?t=90&si=tracking",
    "https://www.youtube.com/shorts/abcDEF12_-3",
    "https://www.youtube.com/embed/abcDEF12_-3?start=30",
    "https://www.youtube-nocookie.com/embed/abcDEF12_-3",
    "https://www.youtube.com/live/abcDEF12_-3?feature=shared",
    "https://music.youtube.com/watch?v=abcDEF12_-3",
    "HTTPS://WWW.YOUTUBE.COM/watch?v=abcDEF12_-3",
])
def test_every_youtube_link_form_is_one_video(url: str) -> None:
    assert youtube_video_id(url) == "abcDEF12_-3"
    assert canonicalize_url(url) == "https://www.youtube.com/watch?v=abcDEF12_-3"


@pytest.mark.parametrize("url", [
    "https://www.youtube.com/@somechannel", "https://www.youtube.com/playlist?list=PL123",
    "https://www.youtube.com/watch?v=short", "https://notyoutube.com/watch?v=abcDEF12_-3",
])
def test_youtube_links_that_are_not_one_video_stay_ordinary_urls(url: str) -> None:
    assert youtube_video_id(url) is None


@pytest.mark.parametrize("url", ["https://user:s3cret@example.com/a", "https://user@example.com/a",
                                 "https://:s3cret@Example.com:443/a/", "https://a:b@c@example.com/a"])
def test_credentials_in_a_link_are_no_part_of_its_canonical_form(url: str) -> None:
    assert canonicalize_url(url) == "https://example.com/a"


def test_the_stored_url_loses_its_credentials_and_keeps_the_rest() -> None:
    assert without_userinfo("http://u:pw@Example.com:8080/A?x=1#f") == "http://Example.com:8080/A?x=1#f"
    assert without_userinfo(" https://example.com/a ") == "https://example.com/a"
