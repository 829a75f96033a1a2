"""Secrets in job configs: hidden when shown, kept when a shown config is saved back."""

from __future__ import annotations

from typing import Any

import pytest

from dbcron.service.secrets import MASK, is_secret_key, mask_config, unmask_config

CONFIG: dict[str, Any] = {
    "url": "https://bot:s3cret@example.com/hook?password=hunter2",
    "method": "POST",
    "headers": {
        "Authorization": "Bearer abc123",
        "X-Api-Key": "k-999",
        "Accept": "application/json",
        "X-Token": {"env": "HOOK_TOKEN"},
    },
    "kwargs": {"client_secret": "zzz", "retries": 3, "verbose": True, "tags": ["a", "b"]},
    "password": None,
}


@pytest.mark.parametrize(
    "key", ["password", "passwd", "api_key", "X-Api-Key", "Authorization", "client_secret", "token"]
)
def test_secret_names(key: str) -> None:
    assert is_secret_key(key)


@pytest.mark.parametrize("key", ["url", "method", "command", "timeout", "Accept", "query"])
def test_ordinary_names(key: str) -> None:
    assert not is_secret_key(key)


def test_mask_hides_every_secret_and_keeps_the_rest() -> None:
    masked = mask_config(CONFIG)
    text = repr(masked)
    for secret in ("s3cret", "hunter2", "abc123", "k-999", "zzz"):
        assert secret not in text
    assert masked["url"] == "https://bot:***@example.com/hook?password=***"
    assert masked["headers"]["Authorization"] == MASK
    assert masked["headers"]["Accept"] == "application/json"
    assert masked["headers"]["X-Token"] == {"env": "HOOK_TOKEN"}
    assert masked["kwargs"] == {
        "client_secret": MASK,
        "retries": 3,
        "verbose": True,
        "tags": ["a", "b"],
    }
    assert masked["password"] is None
    assert CONFIG["headers"]["Authorization"] == "Bearer abc123"  # not changed in place


def test_a_masked_config_saved_back_keeps_the_stored_secrets() -> None:
    assert unmask_config(mask_config(CONFIG), CONFIG) == CONFIG


def test_values_the_client_changed_win() -> None:
    sent = mask_config(CONFIG)
    sent["headers"]["Authorization"] = "Bearer new"
    sent["url"] = "https://bot:other@example.com/hook"
    sent["kwargs"]["retries"] = 5
    back = unmask_config(sent, CONFIG)
    assert back["headers"]["Authorization"] == "Bearer new"
    assert back["url"] == "https://bot:other@example.com/hook"
    assert back["kwargs"]["client_secret"] == "zzz"
    assert back["kwargs"]["retries"] == 5


def test_a_mask_with_nothing_stored_stays_a_mask() -> None:
    assert unmask_config({"token": MASK}, {}) == {"token": MASK}
