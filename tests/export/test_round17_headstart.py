"""Round 17 regressions of the head start (`export/head.py`) and of the DuckDB target's start
(`DuckDBSink.connect`)."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import anyio
import duckdb
import pytest
from export_fakeworld import FakeMatomo

from matomo_client import AsyncMatomo, Auth, RetryPolicy
from matomo_client._core.http import Request, Response
from matomo_client.export import ExportApiError, TargetError, export_visits
from matomo_client.export import head as head_module
from matomo_client.export.head import HeadStart, first_page_params
from matomo_client.export.sinks import DuckDBSink
from matomo_client.export.windows import plan_days, site_tz
from matomo_client.transports import json_response, request_params

NOW = datetime(2024, 3, 31, 12, 0, tzinfo=timezone.utc)


def test_a_head_start_over_many_sites_plans_only_its_first_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """1,000 sites of 100 days: the head start's plan took every site's windows in both
    timezones (2 s here, 20 s and 1 GB for 5,000 sites of a year, before the first request);
    it plans the first site's days and the first runs only, and asks for the same pages."""
    planned: list[int] = []

    def counting(*args: Any, **kw: Any) -> Any:
        windows = plan_days(*args, **kw)
        planned.append(len(windows))
        return windows

    monkeypatch.setattr(head_module, "plan_days", counting)
    start, end = date(2023, 12, 1), date(2024, 3, 9)  # 100 days
    proven = SimpleNamespace(_version="5.2.0")  # a client whose preflight has answered
    head = HeadStart.plan(
        proven,
        None,
        sites=list(range(1, 1001)),
        start=start,
        end=end,
        target=str(tmp_path / "x.duckdb"),
        page_size=1000,
        segment=None,
        concurrency=8,
        now=NOW,
        settle=timedelta(hours=1),
    )
    assert head is not None
    assert sum(planned) <= 1000
    # 100,000 windows in 16 lanes: runs of 7 days; the first 6 runs are site 1's first weeks
    site_1 = plan_days(1, start, end, site_tz("UTC"), NOW)
    runs = [site_1[i : i + 7] for i in range(0, 42, 7)]
    assert head.pages == [first_page_params(r, 1000, None) for r in runs]


def test_a_duckdb_file_this_process_has_open_read_only_is_one_clear_error(
    tmp_path: Path,
) -> None:
    """A notebook's read-only connection (the README's example reads the target that way) and
    an export into the same file: one 'cannot open' line, not the message twice over."""
    path = tmp_path / "x.duckdb"
    duckdb.connect(str(path)).close()
    reader = duckdb.connect(str(path), read_only=True)
    try:
        sink = DuckDBSink(str(path))
        with pytest.raises(TargetError) as info:
            sink.connect()
        sink.close()
    finally:
        reader.close()
    message = str(info.value)
    assert message.startswith(f"cannot open {path}: this process has it open already")
    assert message.count("cannot open") == 1
    assert path.exists()


class _DownOnOneRun:
    """A `FakeMatomo` whose Live pages of site 1 from `DOWN` answer 503 (a proxy's page)."""

    DOWN = "2024-02-21"

    def __init__(self) -> None:
        self.world = FakeMatomo(date(2024, 3, 31), days=40)
        self.down = 0

    async def send(self, request: Request) -> Response:
        p = request_params(request)
        if p.get("method") == "API.getMatomoVersion":
            return json_response({"value": "5.2.0"})
        live = p.get("method") == "Live.getLastVisitsDetails" and p.get("idSite") == "1"
        if live and p.get("date", "").startswith(self.DOWN):
            self.down += 1
            return Response(503, {"content-type": "text/html"}, b"<html>down</html>")
        return self.world.handle(request)

    async def aclose(self) -> None:
        pass


@pytest.mark.anyio
@pytest.mark.parametrize("new", [True, False])
async def test_a_first_page_retried_to_the_end_is_not_retried_as_often_again(
    tmp_path: Path, new: bool
) -> None:
    """A head start page the client retried as often as its policy allows (3 tries of a 503)
    fails its run with that error: it was tried 6 times, twice the policy, where an export
    without a head start (a target that exists) tries it 3 times."""
    if not new:
        (tmp_path / "x.duckdb.note").write_text("")  # something of the target's name: no head start
    transport = _DownOnOneRun()
    retry = RetryPolicy(attempts=3, initial_wait=0.01, max_wait=0.02)
    async with AsyncMatomo(
        "https://matomo.test/", auth=Auth.token("t-123"), transport=transport, retry=retry
    ) as m:
        await m.preflight()  # a head start waits for a token known to be good
        with anyio.fail_after(30), pytest.raises(ExportApiError, match="HTTP 503"):
            await export_visits(
                m,
                sites=[1, 2],
                start=date(2024, 2, 21),
                end=date(2024, 3, 28),
                target=str(tmp_path / "x.duckdb"),
                concurrency=5,
                now=NOW,
            )
    assert transport.down == 3
