"""The downloader against a local website: redirects, errors, retries, caps, robots.txt."""

import gzip
import shutil
import ssl
import subprocess
import threading

import pytest

from curation.errors import FetchError, UnsafeURLError
from curation.fetch import download
from curation.fetch.download import Downloader
from curation.fetch.safety import check_url
from curation.settings import Settings
from tests.site import Site, article


def make(**settings: object) -> tuple[Downloader, list[float]]:
    """A downloader allowed onto loopback, whose backoff waits are recorded instead of slept."""
    waits: list[float] = []
    base = {"fetch_read_timeout_s": 0.25, "fetch_retries": 2, "fetch_backoff_s": 1.0}
    return Downloader(Settings(**(base | settings)), allow_private=True, sleep=waits.append), waits


def test_a_page_is_downloaded_with_our_user_agent(site: Site) -> None:
    url = site.add("/post", body=article("Scaling support"))
    downloader, _ = make(fetch_user_agent="TestBot/1.0")
    response = downloader.get(url)
    assert b"Scaling support" in response.body and response.content_type == "text/html"
    assert site.requests[-1][1]["User-Agent"] == "TestBot/1.0"


def test_redirects_are_followed_to_the_final_page(site: Site) -> None:
    site.add("/old", status=301, headers={"Location": "/moved"})
    site.add("/moved", status=302, headers={"Location": f"{site.url}/final"})
    site.add("/final", body=article("Final"))
    response = make()[0].get(site.url + "/old")
    assert response.url == site.url + "/final" and b"Final" in response.body


def test_every_redirect_hop_is_checked_again(site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    """The first hop (our local site) is let through; the hop to cloud metadata is refused."""
    def guard(url: str, *, allow_private: bool, resolve: object) -> object:
        return check_url(url, allow_private=url.startswith(site.url), resolve=resolve)  # type: ignore[arg-type]

    monkeypatch.setattr(download, "check_url", guard)
    site.add("/innocent", status=302, headers={"Location": "http://169.254.169.254/latest/meta-data/"})
    with pytest.raises(UnsafeURLError, match="169.254.169.254"):
        make(fetch_respect_robots=False)[0].get(site.url + "/innocent")


def test_a_redirect_loop_stops_with_a_clear_error(site: Site) -> None:
    site.add("/loop", status=302, headers={"Location": "/loop"})
    with pytest.raises(FetchError, match="more than 5 redirects"):
        make()[0].get(site.url + "/loop")


def test_we_connect_to_the_checked_address_and_keep_the_host_name(site: Site) -> None:
    """blog.example resolves (once, in the guard) to our local site; no DNS is asked again."""
    site.add("/post", body=article("Pinned"))
    downloader = Downloader(Settings(), allow_private=True,
                            resolve=lambda host, port: ["127.0.0.1"])
    response = downloader.get(f"http://blog.example:{site.port}/post")
    assert b"Pinned" in response.body
    assert site.requests[-1][1]["Host"] == f"blog.example:{site.port}"


def test_not_found_fails_at_once_without_retrying(site: Site) -> None:
    downloader, waits = make()
    with pytest.raises(FetchError, match="HTTP 404"):
        downloader.get(site.url + "/missing")
    assert site.hits("/missing") == 1 and waits == []


def test_server_errors_are_retried_with_backoff_then_reported(site: Site) -> None:
    site.add("/broken", status=500, body="oops")
    downloader, waits = make()
    with pytest.raises(FetchError, match=r"HTTP 500.*gave up after 3 tries"):
        downloader.get(site.url + "/broken")
    assert site.hits("/broken") == 3 and waits == [1.0, 2.0]


def test_rate_limits_honour_retry_after_and_recover(site: Site) -> None:
    site.add("/busy", status=429, headers={"Retry-After": "7"})
    downloader, waits = make()
    page = article("Finally")

    def recover(wait: float) -> None:
        waits.append(wait)
        site.add("/busy", body=page)

    downloader.sleep = recover
    assert b"Finally" in downloader.get(site.url + "/busy").body
    assert waits == [7.0]


def test_a_stalled_response_times_out_and_is_retried(site: Site) -> None:
    site.add("/stall", body=article("Slow") * 10, hang=threading.Event())
    downloader, waits = make(fetch_retries=1)
    with pytest.raises(FetchError, match="stalled|did not answer"):  # which one depends on load
        downloader.get(site.url + "/stall")
    assert len(waits) == 1


def test_a_response_over_the_time_cap_is_cut_off(site: Site) -> None:
    site.add("/long", body=article("Long"))
    with pytest.raises(FetchError, match="took over 0s"):
        make(fetch_total_timeout_s=0)[0].get(site.url + "/long")


def test_a_declared_huge_response_is_refused_before_reading(site: Site) -> None:
    site.add("/huge", body="x" * 5000)
    with pytest.raises(FetchError, match="5,000 bytes, over the 1,000-byte cap"):
        make(fetch_max_bytes=1000)[0].get(site.url + "/huge")


def test_a_compression_bomb_is_cut_off_at_the_cap(site: Site) -> None:
    site.add("/bomb", body=b"<html>" + b" " * 2_000_000, gzip=True)
    assert len(gzip.compress(b" " * 2_000_000)) < 100_000
    with pytest.raises(FetchError, match="more than the 100,000-byte cap"):
        make(fetch_max_bytes=100_000)[0].get(site.url + "/bomb")


def test_a_gzip_file_that_unpacks_past_the_cap_or_is_corrupt_is_refused(site: Site) -> None:
    site.add("/big.xml.gz", body=gzip.compress(b"<urlset>" + b" " * 2_000_000),
             content_type="application/gzip")
    site.add("/bad.xml.gz", body=b"\x1f\x8b not gzip at all", content_type="application/x-gzip")
    downloader = make(fetch_max_bytes=100_000)[0]
    with pytest.raises(FetchError, match="unpacks to more than the 100,000-byte cap"):
        downloader.get(site.url + "/big.xml.gz")
    with pytest.raises(FetchError, match="is not valid gzip"):
        downloader.get(site.url + "/bad.xml.gz")


def test_non_html_content_is_refused_before_reading(site: Site) -> None:
    site.add("/report.pdf", body=b"%PDF-1.7" + b"0" * 1000, content_type="application/pdf")
    with pytest.raises(FetchError, match="application/pdf, not a web page or feed"):
        make()[0].get(site.url + "/report.pdf")


def test_robots_txt_is_honoured_once_per_site(site: Site) -> None:
    site.add("/robots.txt", body="User-agent: *\nDisallow: /private/\n", content_type="text/plain")
    site.add("/private/memo", body=article("Memo"))
    site.add("/public", body=article("Public"))
    downloader, _ = make()
    with pytest.raises(FetchError, match="robots.txt .* disallows"):
        downloader.get(site.url + "/private/memo")
    assert b"Public" in downloader.get(site.url + "/public").body
    assert site.hits("/robots.txt") == 1 and site.hits("/private/memo") == 0


def test_a_redirect_into_a_disallowed_path_is_refused(site: Site) -> None:
    site.add("/robots.txt", body="User-agent: *\nDisallow: /private/\n", content_type="text/plain")
    site.add("/go", status=302, headers={"Location": "/private/memo"})
    site.add("/private/memo", body=article("Memo"))
    with pytest.raises(FetchError, match="disallows .*/private/memo"):
        make()[0].get(site.url + "/go")
    assert site.hits("/private/memo") == 0


def test_robots_txt_can_be_switched_off(site: Site) -> None:
    site.add("/robots.txt", body="User-agent: *\nDisallow: /\n", content_type="text/plain")
    site.add("/page", body=article("Page"))
    assert b"Page" in make(fetch_respect_robots=False)[0].get(site.url + "/page").body


def test_no_more_than_the_per_host_limit_is_in_flight_at_once(site: Site) -> None:
    gate = threading.Event()
    urls = [site.add(f"/held/{n}", body=article(f"Held {n}"), gate=gate) for n in range(5)]
    downloader, _ = make(fetch_per_host=2, fetch_respect_robots=False)
    threads = [threading.Thread(target=downloader.get, args=(url,)) for url in urls]
    for thread in threads:
        thread.start()
    with site.changed:
        assert site.changed.wait_for(lambda: site.in_flight == 2, timeout=5)
        # Three more are waiting for a slot: none of them may reach the server meanwhile.
        assert not site.changed.wait_for(lambda: site.in_flight > 2, timeout=0.2)
    gate.set()
    for thread in threads:
        thread.join(5)
    assert len([p for p, _ in site.requests if p.startswith("/held/")]) == 5
    assert site.most_in_flight == 2


@pytest.fixture
def tls_site(tmp_path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """The local site over HTTPS with a certificate for blog.example, which our CA bundle trusts."""
    if not shutil.which("openssl"):
        pytest.skip("openssl is needed to make a test certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=blog.example", "-addext", "subjectAltName=DNS:blog.example",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    monkeypatch.setattr(download.certifi, "where", lambda: str(cert))
    running = Site()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    running.server.socket = context.wrap_socket(running.server.socket, server_side=True)
    with running:
        yield running


def test_https_to_the_pinned_address_still_verifies_the_host_name(tls_site: Site) -> None:
    tls_site.add("/post", body=article("Over TLS"))
    downloader = Downloader(Settings(fetch_respect_robots=False), allow_private=True,
                            resolve=lambda host, port: ["127.0.0.1"])
    assert b"Over TLS" in downloader.get(f"https://blog.example:{tls_site.port}/post").body
    with pytest.raises(FetchError, match="'other.example' doesn't match 'blog.example'"):
        downloader.get(f"https://other.example:{tls_site.port}/post")
