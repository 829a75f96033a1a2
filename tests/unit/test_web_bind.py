"""Where the web server may listen: loopback only without authentication."""

from __future__ import annotations

import pytest

from dbcron.config import Settings, WebSettings
from dbcron.errors import ConfigError
from dbcron.web.server import check_bind, is_loopback, web_settings


@pytest.mark.parametrize("host", ["127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost"])
def test_loopback_addresses(host: str) -> None:
    assert is_loopback(host)


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "10.0.0.5", "example.com", "192.168.1.1"])
def test_other_addresses(host: str) -> None:
    assert not is_loopback(host)


def test_without_auth_only_loopback_is_served() -> None:
    check_bind(Settings(), WebSettings(host="127.0.0.1"))
    with pytest.raises(ConfigError, match=r"web.host 0.0.0.0 is not a loopback address"):
        check_bind(Settings(), WebSettings(host="0.0.0.0"))


def test_flags_override_and_are_checked() -> None:
    base = WebSettings()
    assert web_settings(base, host=None, port=None) == base
    assert web_settings(base, host="::1", port=0) == WebSettings(host="::1", port=0)
    with pytest.raises(ConfigError, match="--port must be between 0 and 65535, not 70000"):
        web_settings(base, host=None, port=70000)
    with pytest.raises(ConfigError, match="--host must not be empty"):
        web_settings(base, host=" ", port=None)
