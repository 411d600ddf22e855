"""The sandbox's JSON is PHP's json_encode output: the bytes Python's json writes, `/` escaped."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sandbox_support import recorded_config

from matomo_client.sandbox import Sandbox
from matomo_client.sandbox.formats import php_json
from matomo_client.sandbox.live import live_visits


def _reference(value: Any) -> bytes:
    text = json.dumps(value, ensure_ascii=True, separators=(",", ":"))
    return text.replace("/", "\\/").encode()


@pytest.mark.parametrize(
    "value",
    [
        {"url": "https://shop.example/a/b?q=1", "n": 3, "f": 12.5, "none": None, "t": True},
        "Shop – Home",  # BMP: \u2013
        "Über uns, ÿ",  # Latin-1: \u00dc, not \xdc
        "日本語のページ",
        "a\U0001f600b",  # beyond U+FFFF: a surrogate pair
        '\x00\x1f\x7f"\\ line\nbreak\ttab',  # control characters, DEL, quote, backslash
        "\\xe4 and ä",  # a literal backslash next to a non-ASCII character
        [1e-05, 1.5e-06, 0.0001, 1e16, 1e-10, -0.0, 0.1],  # json's float notation
        {"x": 0.00001},
        [1.5e-06, 2.5e-07],  # orjson: 1.5e-6
        "e-mail 2e-5",  # looks like a float, is a string
        2**70,  # beyond 64 bits
        {1: "an integer key"},
        [],
        {},
    ],
)
def test_php_json_writes_what_json_dumps_writes(value: Any) -> None:
    """Every value the fast path might write differently comes out as json.dumps writes it."""
    assert php_json(value) == _reference(value)


def test_a_live_page_with_every_column_is_encoded_as_json_dumps_would() -> None:
    """A page of rendered visits (non-ASCII titles, URLs, floats) gives json.dumps' bytes."""
    sandbox = Sandbox(recorded_config(visits_per_day=200))
    page = live_visits(sandbox.world, [1, 2], {"period": "day", "date": "2026-11-20"})
    encoded = php_json(page)
    assert len(page) >= 100
    assert b"\\u2013" in encoded
    assert b"\\/" in encoded
    assert encoded.isascii()
    assert encoded == _reference(page)
