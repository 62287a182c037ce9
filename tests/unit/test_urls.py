import pytest

from curation.urls import canonicalize_url


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
