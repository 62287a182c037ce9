import pytest

from curation.accounts.binding import check_bind_address
from curation.errors import BindRefused


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "localhost", "::1", "[::1]"])
def test_loopback_addresses_are_fine_without_accounts(host: str) -> None:
    check_bind_address(host, auth_enabled=False)


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.20", "10.0.0.5", "curation.example.org", "", None])
def test_any_other_address_is_refused_without_accounts_and_allowed_with_them(host: str | None) -> None:
    with pytest.raises(BindRefused, match=f"refusing to listen on {host or 'every interface'}: with accounts off"):
        check_bind_address(host, auth_enabled=False)
    check_bind_address(host, auth_enabled=True)
