"""Where the app may listen. Without accounts everyone who reaches the app is admin, so it must
stay on this machine; `make run` checks before Streamlit starts and app.py checks again."""

import ipaddress

from curation.errors import BindRefused


def is_loopback(host: str | None) -> bool:
    """Whether host names only this machine. Empty means every interface (Streamlit's default)."""
    if not host:
        return False
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # any other host name may resolve to a public interface


def check_bind_address(host: str | None, auth_enabled: bool) -> None:
    """Refuse a non-loopback address unless accounts are on."""
    if auth_enabled or is_loopback(host):
        return
    shown = host or "every interface"
    raise BindRefused(
        f"refusing to listen on {shown}: with accounts off anyone who can reach the app is admin; "
        "listen on 127.0.0.1 (make run HOST=127.0.0.1), or switch accounts on with CURATION_AUTH=1 "
        "after adding an admin with `python -m curation user add NAME --role admin`"
    )
