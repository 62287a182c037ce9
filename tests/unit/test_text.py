from curation.corpus.text import content_hash, split_header


def test_title_url_header_is_split_from_the_body() -> None:
    title, url, body = split_header("My Title\n\nhttps://e.com/x\n\nThe article starts here.")
    assert (title, url, body) == ("My Title", "https://e.com/x", "The article starts here.")


def test_text_without_header_is_left_alone() -> None:
    text = "Intro paragraph\n\nSecond paragraph mentions https://e.com/x\n\nmore"
    assert split_header(text) == (None, None, text)


def test_content_hash_ignores_whitespace_and_case_but_not_words() -> None:
    assert content_hash("Hello   World\n") == content_hash("hello world")
    assert content_hash("hello world") != content_hash("hello there world")
