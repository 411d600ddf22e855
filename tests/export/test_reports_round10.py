"""`export_reports` round 10: report rows as real Matomo 5 sends them (`../shared/recorded/`)."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import pytest
from export_fakeworld import FakeMatomo
from export_readers import read_rows
from export_sandbox import sandbox_client

from matomo_client._core.http import Request, Response
from matomo_client.export import export_reports
from matomo_client.export.rows import build_report_rows
from matomo_client.sandbox import Sandbox, SandboxConfig
from matomo_client.transports import MockTransport, json_response, request_params

pytestmark = pytest.mark.anyio

RECORDED = Path(__file__).resolve().parent.parent / "recorded"
TODAY = date(2024, 3, 31)
NOW = datetime(2024, 3, 31, 12, 0, tzinfo=timezone.utc)
NOW_LATER = datetime(2026, 11, 30, 12, 0, tzinfo=timezone.utc)


@pytest.fixture
def anyio_backend() -> str:
    """One backend is enough here."""
    return "asyncio"


def _recorded(name: str) -> Any:
    return json.loads((RECORDED / name).read_text())


def test_metrics_of_a_report_without_label_are_metrics() -> None:
    """`Referrers.get` (in every site's report list) names its metrics `Referrers_...`: they
    were taken for a flattened row's dimensions and stored in `extra`, `metrics` empty."""
    row = _recorded("105_Referrers.get.response.json")
    batch = build_report_rows(1, "month", date(2026, 10, 1), "Referrers.get", "", [row])
    metrics = batch.columns["metrics"][0]
    assert metrics["Referrers_visitorsFromSearchEngines"] == 186.0
    assert metrics["Referrers_distinctKeywords"] == 9.0
    assert metrics["Referrers_visitorsFromDirectEntry_percent"] == 0.33
    assert batch.columns["extra"] == [None]


def test_api_get_metrics_of_other_modules_are_metrics() -> None:
    """`API.get` merges every module's summary: `PagePerformance_network_time` is a metric."""
    row = _recorded("048_API.get_month.response.json")
    batch = build_report_rows(1, "month", date(2026, 10, 1), "API.get", "", [row])
    metrics = batch.columns["metrics"][0]
    assert metrics["PagePerformance_network_time"] == 37.704
    assert metrics["Referrers_visitorsFromCampaigns"] == 75.0
    assert batch.columns["nb_visits"] == [604.0]


def test_a_flattened_rows_dimension_stays_text() -> None:
    """A row with a label keeps its `Module_Dimension` keys as text, however numeric."""
    rows = [{"label": "Video - 007", "nb_visits": 2, "Events_EventAction": "007"}]
    batch = build_report_rows(1, "day", date(2024, 1, 1), "Events.getCategory", "", rows)
    assert batch.columns["extra"] == [{"Events_EventAction": "007"}]
    assert batch.columns["metrics"] == [None]


def test_a_visitor_id_is_never_a_number() -> None:
    """`UserId.getUsers` rows carry the visitor's hex id: "0000000000001234" was stored as the
    metric 1234.0, and "12345678901234e5" as 1.2e18."""
    rows = [
        {"label": "customer-1", "nb_visits": 3, "idvisitor": "0000000000001234"},
        {"label": "customer-2", "nb_visits": 1, "idvisitor": "12345678901234e5"},
        {"label": "customer-3", "nb_visits": 1, "idvisitor": "d3e77b21b7583736"},
    ]
    batch = build_report_rows(1, "day", date(2024, 1, 1), "UserId.getUsers", "", rows)
    assert batch.columns["metrics"] == [None, None, None]
    assert [e["idvisitor"] for e in batch.columns["extra"]] == [r["idvisitor"] for r in rows]


async def test_a_report_cut_to_one_column_keeps_its_values(tmp_path: Path) -> None:
    """`--report VisitsSummary.get?columns=nb_visits`: Matomo answers each period of a Map
    with a bare number (`{"2024-03-27": 27}`, as the recorded `VisitsSummary.getVisits` last3),
    which gave no row, every period recorded done."""
    world = FakeMatomo(TODAY)
    target = str(tmp_path / "r.jsonl")
    start = TODAY - timedelta(days=3)

    def handle(request: Request) -> Response:
        if request_params(request).get("method") != "API.getBulkRequest":
            return world.handle(request)
        form = dict(parse_qsl(request.body.decode()))
        out: list[Any] = []
        i = 0
        while f"urls[{i}]" in form:
            sub = dict(parse_qsl(form[f"urls[{i}]"]))
            a, b = (date.fromisoformat(x) for x in sub["date"].split(","))
            out.append(
                {(a + timedelta(days=n)).isoformat(): 20 + n for n in range((b - a).days + 1)}
            )
            i += 1
        return json_response(out)

    async with world.client(MockTransport(handle)) as m:
        summary = await export_reports(
            m,
            sites=[1],
            start=start,
            end="yesterday",
            target=target,
            now=NOW,
            reports=["VisitsSummary.get?columns=nb_visits"],
        )
    rows = sorted(read_rows(target, "reports"), key=lambda r: r["date"])
    assert [r["date"] for r in rows] == [str(start + timedelta(days=n)) for n in range(3)]
    assert [r["metrics"] for r in rows] == [{"value": 20.0}, {"value": 21.0}, {"value": 22.0}]
    assert {r["report_params"] for r in rows} == {"columns=nb_visits"}
    assert summary.report_rows == 3


async def test_a_period_left_open_long_ago_is_asked_alone(tmp_path: Path) -> None:
    """`--from last3 --to today` run again three months later: the day the first run left open
    is fetched again, in its own request. It shared one `date=A,B` with this run's days, so
    Matomo was asked for every day in between (91 days of every report, 4 of them kept)."""
    today = date(2026, 11, 30)
    sb = Sandbox(SandboxConfig(seed=1, days=120, visits_per_day=3, today=today))
    target = str(tmp_path / "r.jsonl")
    async with sandbox_client(sb) as m:
        for now in (datetime(2026, 9, 1, 12, tzinfo=timezone.utc), NOW_LATER):
            await export_reports(
                m,
                sites=[1],
                start="last3",
                end="today",
                target=target,
                now=now,
                reports=["VisitsSummary.get"],
            )
    spans = []
    for r in sb.requests:
        if r.params.get("method") == "API.getBulkRequest":
            sub = dict(parse_qsl(r.params["urls[0]"]))
            a, b = (date.fromisoformat(x) for x in sub["date"].split(","))
            spans.append((a, b))
    assert spans[1:] == [(date(2026, 9, 1), date(2026, 9, 1)), (date(2026, 11, 28), today)]
    days = sorted(str(r["date"])[:10] for r in read_rows(target, "reports"))
    assert days == [
        "2026-08-30",
        "2026-08-31",
        "2026-09-01",
        "2026-11-28",
        "2026-11-29",
        today.isoformat(),
    ]
