"""Reports export when view access to a site is taken away mid-run (and given back)."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest
from export_readers import read_rows

from matomo_client import AsyncMatomo, Auth
from matomo_client.export import export_reports
from matomo_client.export.errors import ExportApiError
from matomo_client.sandbox import Sandbox, SandboxConfig

TODAY = date(2024, 5, 15)
NOW = datetime(2024, 5, 15, 12, tzinfo=timezone.utc)
VIEWER = "viewer-token-1"


def _sandbox() -> Sandbox:
    return Sandbox(
        SandboxConfig(seed=3, days=40, visits_per_day=5, viewers={VIEWER: {1, 2}}, today=TODAY)
    )


async def _export(sb: Sandbox, target: str, revoke_after: int | None) -> Any:
    """Export two sites' daily reports; site 1's view access goes after `revoke_after` requests."""
    seen = [0]

    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            seen[0] += 1
            if revoke_after is not None and seen[0] > revoke_after:
                sb.viewers[VIEWER] = frozenset({2})
        await sb.app(scope, receive, send)

    async with (
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app)) as http,
        AsyncMatomo("http://sb.test/", auth=Auth.token(VIEWER), http_client=http) as m,
    ):
        return await export_reports(
            m, sites=[1, 2], start=TODAY - timedelta(days=30), end=TODAY - timedelta(days=1),
            target=target, now=NOW, concurrency=1,
        )  # fmt: skip


@pytest.mark.anyio
async def test_access_removed_mid_run_stops_the_export_and_loses_no_period(
    tmp_path: Path,
) -> None:
    """Every report of the bulk refused for lack of access: the export stops, as for visits,
    instead of recording the site's periods done with no rows (a run after access came back
    then skipped them for good)."""
    sb = _sandbox()
    target = str(tmp_path / "r.sqlite")
    with pytest.raises(ExportApiError, match="access"):
        await _export(sb, target, revoke_after=3)
    done = [r for r in read_rows(target, "_matomo_export") if r["status"] == "done"]
    assert not [r for r in done if int(r["id_site"]) == 1 and not int(r["rows"] or 0)]

    sb.viewers[VIEWER] = frozenset({1, 2})
    summary = await _export(sb, target, revoke_after=None)
    reference = await _export(_sandbox(), str(tmp_path / "ref.sqlite"), revoke_after=None)
    assert summary.windows_exported + summary.windows_skipped == reference.windows_exported
    rows = read_rows(target, "reports")
    assert len(rows) == reference.report_rows
    assert {int(r["id_site"]) for r in rows} == {1, 2}
