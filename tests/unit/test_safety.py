"""The SSRF guard refuses every way of spelling an internal address, before any connection."""

import pytest
import urllib3

from curation.errors import UnsafeURLError
from curation.fetch.download import Downloader
from curation.fetch.safety import check_url
from curation.settings import Settings

FAKE_DNS = {
    "metadata.example": ["169.254.169.254"],
    "intranet.example": ["10.1.2.3"],
    "rebind.example": ["93.184.216.34", "192.168.0.10"],  # one bad record is enough to refuse
    "v6.example": ["2606:4700:4700::1111"],
    "public.example": ["93.184.216.34"],
}


def fake_resolver(host: str, port: int) -> list[str]:
    return FAKE_DNS[host]


REFUSED = [
    "http://127.0.0.1/", "http://127.1/", "http://0x7f000001/", "http://2130706433/",
    "http://0177.0.0.1/", "http://0x7f.0.0.1/", "http://127.000.000.001/", "http://localhost./",
    "http://0.0.0.0/", "http://0/", "http://10.0.0.1/", "http://172.16.5.4/", "http://192.168.1.1/",
    "http://169.254.169.254/latest/meta-data/", "http://100.64.0.1/", "http://224.0.0.1/",
    "http://240.0.0.1/", "http://255.255.255.255/", "http://192.0.2.1/",
    "http://[::1]/", "http://[::]/", "http://[::ffff:127.0.0.1]/", "http://[::ffff:7f00:1]/",
    "http://[::ffff:169.254.169.254]/", "http://[2002:7f00:1::]/", "http://[2002:a9fe:a9fe::]/",
    "http://[64:ff9b::a9fe:a9fe]/", "http://[::127.0.0.1]/", "http://[fe80::1]/",
    "http://[fc00::1]/", "http://[fd12:3456::1]/", "http://[ff02::1]/",
    "http://metadata.example/", "http://intranet.example/", "http://rebind.example/",
    "http://public.example@127.0.0.1/",
    "file:///etc/passwd", "ftp://public.example/", "gopher://public.example/",
    "javascript:alert(1)", "http://user:pass@public.example/",
]


@pytest.mark.parametrize("url", REFUSED)
def test_internal_addresses_and_other_schemes_are_refused(url: str) -> None:
    def resolver(host: str, port: int) -> list[str]:
        return ["127.0.0.1"] if host == "localhost" else fake_resolver(host, port)

    with pytest.raises(UnsafeURLError, match="refused"):
        check_url(url, resolve=resolver)


@pytest.mark.parametrize("url", REFUSED)
def test_the_downloader_refuses_without_opening_a_connection(
        url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    connects: list[object] = []
    monkeypatch.setattr(urllib3.connection.HTTPConnection, "connect",
                        lambda self: connects.append(self))
    downloader = Downloader(Settings(fetch_respect_robots=False), resolve=lambda h, p: (
        ["127.0.0.1"] if h == "localhost" else fake_resolver(h, p)))
    with pytest.raises(UnsafeURLError):
        downloader.get(url)
    assert connects == []


@pytest.mark.parametrize(("url", "address"), [
    ("http://public.example/post", "93.184.216.34"),
    ("https://v6.example/", "2606:4700:4700::1111"),
    ("http://93.184.216.34/", "93.184.216.34"),
    ("https://[2606:4700:4700::1111]/", "2606:4700:4700::1111"),
])
def test_public_addresses_pass_and_are_what_we_connect_to(url: str, address: str) -> None:
    assert check_url(url, resolve=fake_resolver).addresses == (address,)


def test_the_refusal_says_what_was_refused_and_how_to_allow_it_locally() -> None:
    with pytest.raises(UnsafeURLError) as refused:
        check_url("http://metadata.example/latest", resolve=fake_resolver)
    message = str(refused.value)
    assert "metadata.example" in message and "169.254.169.254" in message
    assert "link-local" in message and "--allow-private-hosts" in message


def test_allow_private_lifts_the_address_rule_but_not_the_scheme_rule() -> None:
    assert check_url("http://127.1:8080/", allow_private=True).addresses == ("127.0.0.1",)
    with pytest.raises(UnsafeURLError, match="scheme"):
        check_url("file:///etc/passwd", allow_private=True)
