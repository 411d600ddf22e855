"""The blocking client is generated from the async one and offers the same surface."""

from __future__ import annotations

import inspect
import subprocess
import sys
from pathlib import Path

import pytest

from matomo_client import AsyncMatomo, Matomo, MockTransport, SyncMockTransport
from matomo_client.transports import json_response

ROOT = Path(__file__).resolve().parents[2]
MODULES = ("api", "visits_summary", "actions", "referrers", "live", "sites")
URL = "https://m.example/"


def _clients() -> tuple[AsyncMatomo, Matomo]:
    a = AsyncMatomo(URL, transport=MockTransport(lambda r: json_response([])))
    return a, Matomo(URL, transport=SyncMockTransport(lambda r: json_response([])))


def test_generated_sync_code_is_up_to_date() -> None:
    """`scripts/unasync.py --check` exits 0: _sync matches what _async generates."""
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "unasync.py"), "--check"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def _public(obj: object) -> dict[str, inspect.Signature]:
    return {
        name: inspect.signature(member)
        for name, member in inspect.getmembers(obj, callable)
        if not name.startswith("_")
    }


def test_clients_have_the_same_methods() -> None:
    """Matomo has every public method of AsyncMatomo (aclose -> close), same parameters."""
    a = _public(AsyncMatomo)
    s = _public(Matomo)
    a["close"] = a.pop("aclose")
    assert set(a) == set(s)
    for name in a:
        assert list(a[name].parameters) == list(s[name].parameters), name


@pytest.mark.parametrize("module", MODULES)
def test_modules_have_the_same_methods(module: str) -> None:
    """Each typed module of Matomo has the methods and parameters of AsyncMatomo's."""
    async_client, sync_client = _clients()
    a = _public(getattr(async_client, module))
    s = _public(getattr(sync_client, module))
    assert a, module
    assert {k: list(v.parameters) for k, v in a.items()} == {
        k: list(v.parameters) for k, v in s.items()
    }


def test_sync_methods_are_not_coroutines() -> None:
    """Nothing in the generated client is async."""
    m = _clients()[1]
    for owner in (m, *(getattr(m, name) for name in MODULES)):
        for name, member in inspect.getmembers(owner, callable):
            if not name.startswith("__"):
                assert not inspect.iscoroutinefunction(member), name
                assert not inspect.isasyncgenfunction(member), name
