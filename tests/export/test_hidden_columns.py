"""The export asks Matomo to leave presentation keys out of its Live pages; rows stay the same."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import httpx
import pytest
from export_readers import read_rows

from matomo_client import AsyncMatomo, Auth
from matomo_client.export import export_visits, head
from matomo_client.export.schema import (
    _ACTION_DROPPED,
    _ACTION_KNOWN,
    _VISIT_DROPPED,
    _VISIT_KNOWN,
    LIVE_HIDDEN,
    is_presentation,
)
from matomo_client.sandbox import Sandbox, SandboxConfig

TODAY = date(2024, 5, 15)
NOW = datetime(2024, 5, 15, 12, 0, tzinfo=timezone.utc)


def test_every_hidden_key_is_one_the_builders_drop() -> None:
    """Hiding a key can change no row: none is declared, each is dropped at both levels."""
    for key in LIVE_HIDDEN:
        assert key not in _VISIT_KNOWN
        assert key not in _ACTION_KNOWN
        assert key in _VISIT_DROPPED or is_presentation(key), key
        assert key in _ACTION_DROPPED or is_presentation(key), key


async def _export(tmp_path: Path, name: str) -> tuple[Sandbox, list[dict[str, object]]]:
    sb = Sandbox(SandboxConfig(seed=11, days=6, visits_per_day=40, today=TODAY))
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=sb.app))
    target = str(tmp_path / f"{name}.jsonl")
    async with AsyncMatomo(
        "http://sandbox.test/", auth=Auth.token("sandbox-token"), http_client=http
    ) as m:
        await export_visits(
            m,
            sites=[1, 2],
            start=TODAY - timedelta(days=4),
            end=TODAY - timedelta(days=1),
            target=target,
            now=NOW,
            workers=0,
        )
    return sb, read_rows(target, "visits") + read_rows(target, "actions")


@pytest.mark.anyio
async def test_pages_come_without_presentation_keys_and_give_the_same_rows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every Live request hides LIVE_HIDDEN (recursively); an export that does not hide them
    stores exactly the same rows."""
    sb, hidden_rows = await _export(tmp_path, "hidden")
    live = [r for r in sb.requests if r.method == "Live.getLastVisitsDetails"]
    assert live
    for r in live:
        assert r.params["hideColumns"].split(",") == list(LIVE_HIDDEN)
        assert r.params["hideColumnsRecursively"] == "1"
    monkeypatch.setattr(head, "_HIDDEN", "")
    _, full_rows = await _export(tmp_path, "full")
    assert hidden_rows == full_rows
    assert len(hidden_rows) > 100
