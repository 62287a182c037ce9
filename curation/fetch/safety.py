"""The SSRF guard: a URL we fetch on someone's behalf must not reach into our own network.

Only http and https. The host is turned into addresses here, every address must be public, and
the downloader then connects to exactly those addresses (never resolving the name a second time,
which would let a DNS answer change between check and connect). Numeric hosts are read the way
the C library reads them (127.1, 0x7f000001, 2130706433, 0177.0.0.1 are all 127.0.0.1), and
IPv6 addresses are checked together with any IPv4 address embedded in them."""

import ipaddress
import socket
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from curation.errors import FetchError, UnsafeURLError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], list[str]]

ALLOWED_SCHEMES = ("http", "https")
NAT64_PREFIXES = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
IPV4_COMPATIBLE = ipaddress.ip_network("::/96")



@dataclass(frozen=True)
class Target:
    """A checked URL: where to connect (addresses) and what to call the host (Host, SNI)."""

    scheme: str
    host: str
    port: int
    addresses: tuple[str, ...]


def system_resolver(host: str, port: int) -> list[str]:
    """All addresses the system resolver gives for host, IPv4 and IPv6."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise FetchError(f"cannot resolve host {host!r} ({exc}); check the URL's spelling") from exc
    return list(dict.fromkeys(info[4][0] for info in infos))


def _embedded_ipv4(address: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """IPv4 addresses hidden inside an IPv6 one: mapped, 6to4, Teredo, NAT64, IPv4-compatible."""
    found = [address.ipv4_mapped, address.sixtofour]
    if address.teredo:
        found.extend(address.teredo)
    packed_tail = ipaddress.IPv4Address(address.packed[-4:])
    if any(address in prefix for prefix in NAT64_PREFIXES):
        found.append(packed_tail)
    if address in IPV4_COMPATIBLE:
        found.append(packed_tail)
    return [ip for ip in found if ip is not None]


def _why_not_public(address: IPAddress) -> str | None:
    """None when the address is a public unicast one, else the kind of address it is."""
    if isinstance(address, ipaddress.IPv6Address):
        for inner in _embedded_ipv4(address):
            reason = _why_not_public(inner)
            if reason:
                return f"{reason} (embedded in {address})"
    checks = [
        ("unspecified", address.is_unspecified), ("loopback", address.is_loopback),
        ("link-local", address.is_link_local), ("multicast", address.is_multicast),
        ("reserved", address.is_reserved), ("private", address.is_private),
        ("shared or non-global", not address.is_global),
    ]
    return next((name for name, hit in checks if hit), None)


def parse_numeric_host(host: str) -> IPAddress | None:
    """The address a numeric host stands for, in every spelling the C library accepts; None for
    a name that needs DNS."""
    try:
        return ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        pass
    if host and all(c in "0123456789abcdefxABCDEFX." for c in host) and host[0].isdigit():
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


def check_url(url: str, *, allow_private: bool = False,
              resolve: Resolver = system_resolver) -> Target:
    """Refuse anything but http(s) to public addresses; return the addresses to connect to.
    With allow_private (local use and tests) the address rule is lifted, the scheme rule is not."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ALLOWED_SCHEMES:
        raise UnsafeURLError(f"refused {url!r}: scheme {scheme or '(none)'!r} is not http or https; "
                             "give an http:// or https:// link")
    if parts.username or parts.password:
        raise UnsafeURLError(f"refused {url!r}: credentials in URLs are not fetched; remove 'user@'")
    try:
        host, port = (parts.hostname or "").rstrip("."), parts.port or (443 if scheme == "https" else 80)
    except ValueError as exc:
        raise UnsafeURLError(f"refused {url!r}: invalid port ({exc}); fix the URL") from exc
    if not host:
        raise UnsafeURLError(f"refused {url!r}: no host name; give a full link like https://example.com/a")
    numeric = parse_numeric_host(host)
    addresses = [str(numeric)] if numeric else resolve(host, port)
    if not allow_private:
        for text in addresses:
            reason = _why_not_public(ipaddress.ip_address(text.split("%", 1)[0]))
            if reason:
                raise UnsafeURLError(
                    f"refused {url!r}: host {host!r} is a {reason} address ({text}); only public "
                    "addresses are fetched (--allow-private-hosts lifts this for local use)")
    return Target(scheme=scheme, host=host, port=port, addresses=tuple(addresses))
