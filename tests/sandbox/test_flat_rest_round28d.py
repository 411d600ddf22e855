"""The Flattener's dimension key where round 28b left it out, and where getProcessedReport puts
it. From Matomo 5's source: core/API/DataTableManipulator/Flattener.php (the key is the report
dimension's id with `.` turned into `_`, its value the trimmed label, set as row metadata);
VisitTime's API.php (getByDayOfWeek names the weekday before flattening) and its report's
DayOfTheWeek dimension; CustomDimensions' Custom{Visit,Action}Dimension::getId
(`CustomDimension.CustomDimension<id>`); plugins/API/ProcessedReport.php (a row's metadata goes
to `reportMetadata`, its columns to `reportData`). Matomo's expected outputs
test_reportLimitingdimension_1_flattened__CustomDimensions.getCustomDimension_day.xml (the key
last, after `segment`) and test_CustomEvents_Events.getCategory_flat__API.getProcessedReport_day.xml
(the keys in `reportMetadata` only) show the same."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sandbox_support import recorded_json

_MONTH = {"idSite": 1, "period": "month", "date": "2026-10-01"}
_DIMENSION_KEY = re.compile(r"[A-Z][A-Za-z0-9]*_[A-Za-z0-9]+")


async def _rows(method: str, **params: Any) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = await recorded_json(method=method, **_MONTH, **params)
    return rows


def _keys(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if _DIMENSION_KEY.fullmatch(k)}


# -- VisitTime.getByDayOfWeek -------------------------------------------------------------
@pytest.mark.anyio
async def test_day_of_week_flat_rows_end_with_the_weekday() -> None:
    """`VisitTime_DayOfTheWeek`: the translated weekday, last (after `day_of_week`)."""
    plain = await _rows("VisitTime.getByDayOfWeek")
    flat = await _rows("VisitTime.getByDayOfWeek", flat=1)
    assert [row["VisitTime_DayOfTheWeek"] for row in flat] == [
        "Monday",
        "Tuesday",
        "Wednesday",
        "Thursday",
        "Friday",
        "Saturday",
        "Sunday",
    ]
    for row, same in zip(flat, plain, strict=True):
        assert list(row) == [*same, "VisitTime_DayOfTheWeek"]
        assert row["VisitTime_DayOfTheWeek"] == row["label"]


@pytest.mark.anyio
async def test_day_of_week_key_survives_label_and_show_columns() -> None:
    """The key is metadata: `showColumns` keeps it, `label` finds the flat row."""
    (row,) = await _rows("VisitTime.getByDayOfWeek", flat=1, label="Sunday")
    assert row["VisitTime_DayOfTheWeek"] == "Sunday"
    for row in await _rows("VisitTime.getByDayOfWeek", flat=1, showColumns="nb_visits"):
        assert list(row)[-2:] == ["day_of_week", "VisitTime_DayOfTheWeek"]


# -- CustomDimensions.getCustomDimension --------------------------------------------------
@pytest.mark.anyio
@pytest.mark.parametrize("dimension", [1, 2])
async def test_custom_dimension_flat_rows_end_with_the_dimension(dimension: int) -> None:
    """`CustomDimension_CustomDimension<id>`: the value, last, after `segment` (the sandbox's
    action dimension has no subtables of pages, so its rows stay as they are)."""
    key = f"CustomDimension_CustomDimension{dimension}"
    plain = await _rows("CustomDimensions.getCustomDimension", idDimension=dimension)
    flat = await _rows("CustomDimensions.getCustomDimension", idDimension=dimension, flat=1)
    assert flat
    for row, same in zip(flat, plain, strict=True):
        assert list(row) == [*same, key]
        assert row[key] == row["label"]
        assert list(row)[-2] == "segment"


@pytest.mark.anyio
@pytest.mark.parametrize("params", [{}, {"flat": 0}, {"expanded": 1}])
async def test_no_key_without_flat(params: dict[str, Any]) -> None:
    """A guard: no dimension key unless `flat=1`."""
    for method, extra in (
        ("VisitTime.getByDayOfWeek", {}),
        ("CustomDimensions.getCustomDimension", {"idDimension": 1}),
        ("CustomDimensions.getCustomDimension", {"idDimension": 2}),
    ):
        for row in await _rows(method, **extra, **params):
            assert not _keys(row), row


# -- API.getProcessedReport ---------------------------------------------------------------
_PROCESSED = [
    ("Actions", "getPageUrls", {}),
    ("Actions", "getPageTitles", {}),
    ("Events", "getCategory", {}),
    ("Events", "getName", {}),
    ("Referrers", "getWebsites", {}),
    ("Referrers", "getSearchEngines", {}),
    ("UserCountry", "getCountry", {}),
    ("DevicesDetection", "getBrowsers", {}),
    ("VisitTime", "getVisitInformationPerLocalTime", {}),
    ("VisitTime", "getByDayOfWeek", {}),
    ("Goals", "getItemsSku", {}),
    ("CustomDimensions", "getCustomDimension", {"idDimension": 1}),
]


@pytest.mark.anyio
@pytest.mark.parametrize("raw", [0, 1])
@pytest.mark.parametrize(("module", "action", "extra"), _PROCESSED)
async def test_processed_report_keeps_flat_keys_as_row_metadata(
    module: str, action: str, extra: dict[str, Any], raw: int
) -> None:
    """Each flat row's dimension keys are in its `reportMetadata` row, in the row's order and
    with its values, and never in `reportData`, with `showRawMetrics` or not."""
    rows = await _rows(f"{module}.{action}", flat=1, **extra)
    report = await recorded_json(
        method="API.getProcessedReport",
        apiModule=module,
        apiAction=action,
        flat=1,
        showRawMetrics=raw,
        **_MONTH,
        **extra,
    )
    assert rows
    assert len(report["reportData"]) == len(report["reportMetadata"]) == len(rows)
    for row, data, meta in zip(rows, report["reportData"], report["reportMetadata"], strict=True):
        assert data["label"] == row["label"]
        assert not _keys(data), data
        assert _keys(row)
        assert _keys(meta) == _keys(row)
        assert list(_keys(meta)) == list(_keys(row))


@pytest.mark.anyio
async def test_processed_events_metadata_is_matomos() -> None:
    """As Matomo's expected getCategory_flat getProcessedReport: each `reportMetadata` row is
    the category and the action, and `reportData` rows are the label and the metrics."""
    report = await recorded_json(
        method="API.getProcessedReport",
        apiModule="Events",
        apiAction="getCategory",
        flat=1,
        showRawMetrics=1,
        **_MONTH,
    )
    assert report["reportMetadata"]
    for data, meta in zip(report["reportData"], report["reportMetadata"], strict=True):
        assert list(meta) == ["Events_EventCategory", "Events_EventAction"]
        assert data["label"] == f"{meta['Events_EventCategory']} - {meta['Events_EventAction']}"


@pytest.mark.anyio
@pytest.mark.parametrize(("module", "action", "extra"), _PROCESSED)
async def test_processed_report_has_no_keys_without_flat(
    module: str, action: str, extra: dict[str, Any]
) -> None:
    """A guard: without `flat=1` neither part of the answer has a dimension key."""
    report = await recorded_json(
        method="API.getProcessedReport",
        apiModule=module,
        apiAction=action,
        showRawMetrics=1,
        **_MONTH,
        **extra,
    )
    for part in ("reportData", "reportMetadata"):
        for row in report[part]:
            assert not _keys(row or {}), row


@pytest.mark.anyio
async def test_a_one_row_reports_module_named_metrics_stay_columns() -> None:
    """`Referrers.get` has no label and metrics named like dimension keys
    (`Referrers_distinctWebsitesUrls`): with showRawMetrics=1 they stay in `reportData` (a
    first version of the flat-key rule moved them out as row metadata)."""
    params = {"apiModule": "Referrers", "apiAction": "get", "showRawMetrics": 1}
    answer: dict[str, Any] = await recorded_json(
        method="API.getProcessedReport", **_MONTH, **params
    )
    raw = await recorded_json(method="Referrers.get", **_MONTH)
    assert "Referrers_distinctWebsitesUrls" in raw
    assert "Referrers_distinctWebsitesUrls" in answer["reportData"]
    assert answer["reportMetadata"] == []
