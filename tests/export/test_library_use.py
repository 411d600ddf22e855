"""The export functions as a program embeds them: the wrong client is refused, and an export
cancelled from outside leaves nothing open."""

from __future__ import annotations

import gc
import warnings
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

import anyio
import pytest
from export_sandbox import sandbox_client

from matomo_client import Auth, Matomo
from matomo_client.check import check_server
from matomo_client.export import ExportUsageError, export_reports, export_visits
from matomo_client.sandbox import Sandbox, SandboxConfig

pytestmark = pytest.mark.anyio

TODAY = date(2024, 5, 15)
NOW = datetime(2024, 5, 15, 12, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize("export", [export_visits, export_reports])
async def test_the_blocking_client_is_refused_with_what_to_use(export: Any, tmp_path: Path) -> None:
    """`Matomo` (blocking) instead of `AsyncMatomo`: one clear error, no target created."""
    target = tmp_path / "x.duckdb"
    with (
        Matomo("https://stats.example.com/", auth=Auth.token("a" * 32)) as m,
        pytest.raises(ExportUsageError, match="needs an AsyncMatomo, not the blocking"),
    ):
        await export(m, target=str(target))
    assert not target.exists()


async def test_check_server_refuses_the_blocking_client() -> None:
    """`check_server(Matomo(...))` says what it needs instead of failing inside an await."""
    with (
        Matomo("https://stats.example.com/", auth=Auth.token("a" * 32)) as m,
        pytest.raises(TypeError, match="needs an AsyncMatomo"),
    ):
        await check_server(m)  # type: ignore[arg-type]


async def test_an_export_cancelled_from_outside_leaves_no_stream_open(
    tmp_path: Path, anyio_backend: str
) -> None:
    """A caller's cancel scope stopping the export part way: no ResourceWarning about a stream
    left open."""
    sb = Sandbox(SandboxConfig(seed=3, days=8, visits_per_day=30, today=TODAY))
    target = str(tmp_path / "x.jsonl")  # each window written in its own task, as it comes
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        async with sandbox_client(sb) as m:
            with anyio.CancelScope() as scope:

                def stop(event: Any) -> None:
                    if event.windows_done >= 2:
                        scope.cancel()

                await export_visits(
                    m, sites=[1], start="2024-05-08", end="2024-05-14", target=target,
                    concurrency=1, workers=0, page_size=5, now=NOW, progress=stop,
                )  # fmt: skip
            assert scope.cancelled_caught
        gc.collect()
    unclosed = [w for w in caught if issubclass(w.category, ResourceWarning)]
    assert [str(w.message) for w in unclosed] == []


async def test_the_summary_counts_every_request_the_server_saw(tmp_path: Path) -> None:
    """The export's request count includes the preflight and the sites' request (it left out
    the first two)."""
    import httpx

    from matomo_client import AsyncMatomo

    sb = Sandbox(SandboxConfig(seed=4, days=5, visits_per_day=10, today=TODAY))
    seen: list[str] = []

    async def count(request: httpx.Request) -> None:
        seen.append(request.url.path)

    http = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=sb.app), event_hooks={"request": [count]}
    )
    async with AsyncMatomo(
        "http://sandbox.test/", auth=Auth.token(sb.config.token), http_client=http
    ) as m:
        summary = await export_visits(
            m, sites=[1, 2], start="2024-05-12", end="2024-05-14",
            target=str(tmp_path / "x.jsonl"), workers=0, now=NOW,
        )  # fmt: skip
    assert summary.requests == len(seen)


async def test_an_unknown_site_among_many_lists_a_few_visible_ones(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With 300 visible sites the error named all of them on one 1,500-character line."""
    from matomo_client.export import run as run_module
    from matomo_client.export.sites import SiteInfo

    async def many(client: Any) -> dict[int, SiteInfo]:
        return {i: SiteInfo(i, "UTC") for i in range(1, 301)}

    monkeypatch.setattr(run_module, "visible_sites", many)
    with pytest.raises(ExportUsageError) as info:
        await run_module._resolve_sites(object(), [999])
    message = str(info.value)
    assert "site 999 does not exist" in message
    assert "visible sites: 1, 2, 3," in message
    assert "and 280 more: see matomo sites" in message
    assert len(message) < 300


async def test_all_sites_leaves_out_a_site_whose_visits_log_is_off(tmp_path: Path) -> None:
    """With `sites="all"`, site 2's deactivated visits log no longer stops the other sites'
    export (on every run): it is left out with a warning, and tried again by the next run."""
    sb = Sandbox(
        SandboxConfig(seed=4, days=5, visits_per_day=10, today=TODAY, live_disabled_sites={2})
    )
    target = str(tmp_path / "x.jsonl")
    for _ in range(2):
        async with sandbox_client(sb) as m:
            summary = await export_visits(
                m, sites="all", start="2024-05-12", end="2024-05-14", target=target,
                workers=0, now=NOW,
            )  # fmt: skip
        assert summary.not_reconciled == [2]
        assert not summary.ok
        assert any("site 2: left out, its visits log is deactivated" in w for w in summary.warnings)
    from export_readers import read_rows

    sites = {int(r["id_site"]) for r in read_rows(target, "visits")}
    assert 1 in sites
    assert 2 not in sites


async def test_a_named_site_whose_visits_log_is_off_still_fails(tmp_path: Path) -> None:
    """Named explicitly, the site is what was asked for: its refusal is the export's error."""
    from matomo_client.export import ExportApiError

    sb = Sandbox(
        SandboxConfig(seed=4, days=5, visits_per_day=10, today=TODAY, live_disabled_sites={2})
    )
    async with sandbox_client(sb) as m:
        with pytest.raises(ExportApiError, match="site 2"):
            await export_visits(
                m, sites=[1, 2], start="2024-05-12", end="2024-05-14",
                target=str(tmp_path / "x.jsonl"), workers=0, now=NOW,
            )  # fmt: skip


async def test_all_sites_with_every_visits_log_off_is_an_error(tmp_path: Path) -> None:
    """Nothing at all to export is not a success with warnings."""
    from matomo_client.export import ExportApiError

    sb = Sandbox(
        SandboxConfig(seed=4, days=5, visits_per_day=10, today=TODAY, live_disabled_sites={1, 2, 3})
    )
    async with sandbox_client(sb) as m:
        with pytest.raises(ExportApiError, match="deactivated for every site to export"):
            await export_visits(
                m, sites="all", start="2024-05-12", end="2024-05-14",
                target=str(tmp_path / "x.jsonl"), workers=0, now=NOW,
            )  # fmt: skip
