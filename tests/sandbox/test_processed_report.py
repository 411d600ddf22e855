"""API.getProcessedReport and API.getRowEvolution: the recorded shapes (cases 148, 149, 152, 180),
rows and totals that agree with the report method itself, metadata that agrees with
API.getReportMetadata, and Matomo's errors."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sandbox_support import (
    api,
    client_for,
    load_case,
    recorded_json,
    recorded_sandbox,
    shape_mismatches,
)

_PROCESSED_CASES = [148, 149, 180]
_EVOLUTION = json.loads(load_case(152)[1])
_REFERRERS = {"apiModule": "Referrers", "apiAction": "getReferrerType"}


async def _error(**params: Any) -> tuple[int, str]:
    """Status and message of a call that must fail."""
    async with client_for(recorded_sandbox()) as client:
        response = await api(client, **params)
    body = response.json()
    assert body["result"] == "error", body
    return response.status_code, body["message"]


async def _processed(**params: Any) -> dict[str, Any]:
    value: dict[str, Any] = await recorded_json(method="API.getProcessedReport", **params)
    return value


# -- API.getProcessedReport ----------------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize("number", _PROCESSED_CASES)
async def test_processed_report_answers_in_the_recorded_shape(number: int) -> None:
    """Each recorded request answers the recorded keys in order, with the recorded metadata,
    column names, period name and row keys (in order); timerMillis is a string of digits."""
    request, body = load_case(number)
    recorded = json.loads(body)
    actual = await recorded_json(**request["params"])
    assert list(actual) == list(recorded)
    assert shape_mismatches(recorded, actual) == []
    for key in ("website", "prettyDate", "metadata", "columns"):
        assert actual[key] == recorded[key], key
    assert actual["timerMillis"].isdigit()
    if isinstance(recorded["reportData"], dict):
        assert list(actual["reportData"]) == list(recorded["reportData"])
    else:
        wanted = list(recorded["reportData"][0]) if recorded["reportData"] else []
        assert all(list(row) == wanted for row in actual["reportData"] if "revenue" in row)


@pytest.mark.anyio
async def test_processed_rows_are_the_report_rows() -> None:
    """reportData has the report's own rows (same labels, order and counts) with pretty values;
    reportMetadata their metadata; reportTotal adds them up."""
    params = {"idSite": 1, "period": "month", "date": "2026-10-01"}
    report = await recorded_json(method="Referrers.getReferrerType", **params)
    processed = await _processed(**params, **_REFERRERS)
    assert [r["label"] for r in processed["reportData"]] == [r["label"] for r in report]
    for shown, meta, row in zip(
        processed["reportData"], processed["reportMetadata"], report, strict=True
    ):
        assert shown["nb_visits"] == row["nb_visits"]
        assert shown["nb_actions"] == row["nb_actions"]
        assert shown["revenue"] == f"${row.get('revenue', 0):,.2f}".replace(".00", "")
        assert shown["bounce_rate"] == f"{round(row['bounce_count'] / row['nb_visits'] * 100)}%"
        assert meta["segment"] == row["segment"]
        assert meta["referrer_type"] == row["referrer_type"]
        assert meta.get("idsubdatatable") == row.get("idsubdatatable")
    total = processed["reportTotal"]
    assert total["nb_visits"] == sum(r["nb_visits"] for r in report)
    assert total["max_actions"] == max(r["max_actions"] for r in report)
    assert total["nb_conversions"] == sum(r.get("nb_conversions", 0) for r in report)
    summary = await recorded_json(method="VisitsSummary.get", **params)
    assert total["nb_visits"] == summary["nb_visits"]
    assert total["nb_actions_per_visit"] == summary["nb_actions_per_visit"]


@pytest.mark.anyio
async def test_processed_visits_summary_is_visits_summary_get() -> None:
    """VisitsSummary's processed report is VisitsSummary.get's object, durations as clocks."""
    params = {"idSite": 1, "period": "month", "date": "2026-10-01"}
    summary = await recorded_json(method="VisitsSummary.get", **params)
    data = (await _processed(**params, apiModule="VisitsSummary", apiAction="get"))["reportData"]
    for key in ("nb_uniq_visitors", "nb_users", "nb_visits", "nb_actions", "max_actions"):
        assert data[key] == summary[key]
    assert data["bounce_rate"] == summary["bounce_rate"]
    minutes, seconds = divmod(summary["avg_time_on_site"], 60)
    assert data["avg_time_on_site"] == f"00:{minutes:02d}:{seconds:02d}"


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("module", "action", "extra"),
    [
        ("VisitsSummary", "get", {}),
        ("Referrers", "getReferrerType", {}),
        ("UserCountry", "getCountry", {}),
        ("Actions", "getPageUrls", {}),
        ("Goals", "get", {"idGoal": 1}),
        ("Goals", "getItemsSku", {}),
    ],
)
async def test_processed_metadata_is_the_report_metadata_entry(
    module: str, action: str, extra: dict[str, Any]
) -> None:
    """For today's day, `metadata` is the report's entry of API.getReportMetadata."""
    entries = await recorded_json(method="API.getReportMetadata", idSite=1)
    processed = await _processed(
        idSite=1, period="day", date="today", apiModule=module, apiAction=action, **extra
    )
    unique = f"{module}_{action}" + "".join(f"_{k}--{v}" for k, v in extra.items())
    (entry,) = [e for e in entries if e["uniqueId"] == unique]
    assert processed["metadata"] == entry


@pytest.mark.anyio
async def test_processed_report_raw_metrics_with_format_metrics_0() -> None:
    """format_metrics=0 leaves rates as fractions, durations in seconds and money as numbers."""
    params = {"idSite": 1, "period": "month", "date": "2026-10-01", **_REFERRERS}
    report = await recorded_json(method="Referrers.getReferrerType", **params)
    rows = (await _processed(**params, format_metrics=0))["reportData"]
    for shown, row in zip(rows, report, strict=True):
        assert shown["revenue"] == row.get("revenue", 0)
        assert shown["avg_time_on_site"] == round(row["sum_visit_length"] / row["nb_visits"])
        assert shown["bounce_rate"] == round(row["bounce_count"] / row["nb_visits"], 2)


@pytest.mark.anyio
async def test_processed_report_of_several_days() -> None:
    """Several days: reportData and reportMetadata keyed by each day's long name, the totals
    added up over the days, prettyDate the whole span."""
    params = {"idSite": 1, "period": "day", "date": "2026-11-26,2026-11-28"}
    processed = await _processed(**params, apiModule="UserCountry", apiAction="getCountry")
    days = [
        "Thursday, November 26, 2026",
        "Friday, November 27, 2026",
        "Saturday, November 28, 2026",
    ]
    assert list(processed["reportData"]) == days
    assert list(processed["reportMetadata"]) == days
    assert processed["prettyDate"] == "November 26\u2009\u2013\u200928, 2026"
    summary = await recorded_json(method="VisitsSummary.get", **params)
    assert processed["reportTotal"]["nb_visits"] == sum(d["nb_visits"] for d in summary.values())
    assert "period=range&date=2026-11-26,2026-11-28" in processed["metadata"]["imageGraphUrl"]


@pytest.mark.anyio
async def test_processed_report_hides_the_timer_and_columns_on_request() -> None:
    """showTimer=0 drops timerMillis; hideColumns drops a column from columns and rows."""
    processed = await _processed(
        idSite=1,
        period="week",
        date="2026-11-25",
        showTimer=0,
        hideColumns="nb_actions",
        **_REFERRERS,
    )
    assert "timerMillis" not in processed
    assert processed["prettyDate"] == "week November 23\u2009\u2013\u200929, 2026"
    assert "nb_actions" not in processed["columns"]
    assert all("nb_actions" not in row for row in processed["reportData"])


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("params", "status", "message"),
    [
        (
            {"apiModule": "Foo", "apiAction": "bar"},
            200,
            "Requested report Foo.bar for Website id=1 not found in the list of available "
            "reports.  ",
        ),
        (
            {"apiModule": "Goals", "apiAction": "get", "idGoal": 99},
            200,
            "Requested report Goals.get for Website id=1 not found in the list of available "
            "reports.  ",
        ),
        ({"apiModule": "VisitsSummary"}, 400, "Please specify a value for 'apiAction'."),
        ({"apiAction": "get"}, 400, "Please specify a value for 'apiModule'."),
    ],
)
async def test_processed_report_errors(params: dict[str, Any], status: int, message: str) -> None:
    """An unknown report, or a missing apiModule/apiAction, fails with Matomo's text (its
    trailing newline is a space once rendered, as for every error)."""
    assert await _error(
        method="API.getProcessedReport", idSite=1, period="day", date="today", **params
    ) == (status, message)


# -- API.getRowEvolution -------------------------------------------------------------------------


@pytest.mark.anyio
async def test_row_evolution_answers_in_the_recorded_shape() -> None:
    """Recorded 152: label, reportData keyed by day, metadata with each metric's range and the
    dimension; rows carry the recorded keys in order."""
    request, _ = load_case(152)
    actual = await recorded_json(**request["params"])
    assert list(actual) == list(_EVOLUTION)
    assert actual["label"] == "Search Engines"
    assert list(actual["reportData"]) == list(_EVOLUTION["reportData"])
    assert list(actual["metadata"]) == ["metrics", "dimension"]
    assert actual["metadata"]["dimension"] == _EVOLUTION["metadata"]["dimension"]
    assert list(actual["metadata"]["metrics"]) == list(_EVOLUTION["metadata"]["metrics"])
    for name, recorded in _EVOLUTION["metadata"]["metrics"].items():
        ours = actual["metadata"]["metrics"][name]
        assert ours["name"] == recorded["name"]
        assert set(ours) <= set(recorded)  # `change` only when the first value is not 0
    wanted = list(_EVOLUTION["reportData"]["2026-11-23"][0])
    for rows in actual["reportData"].values():
        assert all(list(row) == wanted for row in rows)


@pytest.mark.anyio
async def test_row_evolution_values_are_the_day_reports() -> None:
    """Each day's row is that day's Referrers.getReferrerType row; min, max and change follow."""
    request, _ = load_case(152)
    actual = await recorded_json(**request["params"])
    visits = []
    for day, rows in actual["reportData"].items():
        report = await recorded_json(
            method="Referrers.getReferrerType", idSite=1, period="day", date=day
        )
        (row,) = [r for r in report if r["label"] == "Search Engines"] or [None]
        if row is None:
            assert rows == []
            visits.append(0)
            continue
        assert rows[0]["nb_visits"] == row["nb_visits"]
        assert rows[0]["nb_actions"] == row["nb_actions"]
        assert rows[0]["idsubdatatable"] == row["idsubdatatable"]
        visits.append(row["nb_visits"])
    metric = actual["metadata"]["metrics"]["nb_visits"]
    assert metric["max"] == max(visits)
    assert metric["min"] == min(visits[next(i for i, v in enumerate(visits) if v) :])
    if visits[0]:
        change = round((visits[-1] - visits[0]) / visits[0] * 100)
        assert metric["change"] == f"{'+' if change >= 0 else ''}{change}%"


@pytest.mark.anyio
async def test_row_evolution_without_label_follows_the_top_rows() -> None:
    """No label: one `nb_visits_<n>` value per label and day, for filter_limit labels."""
    evolution = await recorded_json(
        method="API.getRowEvolution",
        idSite=1,
        period="day",
        date="last3",
        filter_limit=2,
        **_REFERRERS,
    )
    assert list(evolution) == ["column", "reportData", "metadata"]
    assert evolution["column"] == "nb_visits"
    assert list(evolution["metadata"]) == ["metrics", "dimension", "columns"]
    names = [m["name"] for m in evolution["metadata"]["metrics"].values()]
    assert len(names) == 2
    assert all(n.endswith(" (Visits)") for n in names)
    for day, rows in evolution["reportData"].items():
        report = await recorded_json(
            method="Referrers.getReferrerType", idSite=1, period="day", date=day
        )
        by_label = {r["label"]: r["nb_visits"] for r in report}
        for index, name in enumerate(names):
            assert rows[0][f"nb_visits_{index}"] == by_label.get(name[: -len(" (Visits)")], 0)


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("params", "message"),
    [
        (
            {"date": "2026-11-28", **_REFERRERS},
            "Row evolutions can not be processed with this combination of \\'date\\' and "
            "\\'period\\' parameters.",
        ),
        (
            {"date": "last7", "apiModule": "VisitsSummary", "apiAction": "get"},
            "Reports like VisitsSummary.get which do not have a dimension are not supported by "
            "row evolution",
        ),
        (
            {"date": "last7", "apiModule": "Foo", "apiAction": "bar"},
            "Requested report Foo.bar for Website id=1 not found in the list of available "
            "reports.  ",
        ),
    ],
)
async def test_row_evolution_errors(params: dict[str, Any], message: str) -> None:
    """One period, a report without dimension or an unknown report fail with Matomo's text."""
    assert await _error(method="API.getRowEvolution", idSite=1, period="day", **params) == (
        200,
        message,
    )
