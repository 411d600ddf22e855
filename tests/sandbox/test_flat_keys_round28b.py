"""The Flattener's dimension key on the `flat=1` rows of one-level reports, as Matomo 5 builds
it (core/API/DataTableManipulator/Flattener.php; each report class's dimension; each plugin's
API.php for what runs before flattening and what is queued; Matomo's own expected outputs
test_reportLimiting_flattened__{Resolution.getResolution, UserCountry.getCity,
DevicesDetection.getBrowserVersions/getOsVersions, Goals.getItems*,
Actions.getSiteSearchKeywords}): `<Plugin>_<Dimension>` holds the label as it is when the
table is flattened, before the segment Matomo makes from a segmentValue and before the
queued filters' metadata."""

from __future__ import annotations

from typing import Any

import pytest
from sandbox_support import recorded_json

_MONTH = {"idSite": 1, "period": "month", "date": "2026-10-01"}

# method: (key, the metadata it precedes or None for last)
_SHOWN_LABEL = {
    "UserCountry.getCountry": ("UserCountry_Country", "segment"),
    "UserCountry.getContinent": ("UserCountry_Continent", "code"),
    "UserCountry.getCity": ("UserCountry_City", None),
    "DevicesDetection.getType": ("DevicesDetection_DeviceType", None),
    "DevicesDetection.getBrand": ("DevicesDetection_DeviceBrand", None),
    "DevicesDetection.getBrowsers": ("DevicesDetection_BrowserName", "segment"),
    "DevicesDetection.getBrowserVersions": ("DevicesDetection_BrowserVersion", None),
    "DevicesDetection.getOsFamilies": ("DevicesDetection_Os", None),
    "DevicesDetection.getOsVersions": ("DevicesDetection_OsVersion", None),
    "Resolution.getResolution": ("Resolution_Resolution", "segment"),
    "UserLanguage.getLanguage": ("UserLanguage_Language", None),
    "UserLanguage.getLanguageCode": ("UserLanguage_Language", "segment"),
    "Actions.getSiteSearchKeywords": ("Actions_Keyword", None),
    "Actions.getSiteSearchNoResultKeywords": ("Actions_KeywordwithNoSearchResult", None),
    "Actions.getSiteSearchCategories": ("Actions_SearchCategory", "segment"),
    "Goals.getItemsSku": ("Ecommerce_ProductSku", None),
    "Goals.getItemsName": ("Ecommerce_ProductName", None),
    "Goals.getItemsCategory": ("Ecommerce_ProductCategory", None),
}
# reports whose label is beautified by a queued filter: the key is the archived label
_ARCHIVED_LABEL = {
    "VisitTime.getVisitInformationPerLocalTime": ("VisitTime_LocalTime", "segment"),
    "VisitTime.getVisitInformationPerServerTime": ("CoreHome_VisitFirstActionTime", "segment"),
    "VisitorInterest.getNumberOfVisitsPerVisitDuration": (
        "VisitorInterest_VisitDuration",
        "segment",
    ),
    "VisitorInterest.getNumberOfVisitsPerPage": ("VisitorInterest_PagesPerVisit", "segment"),
    "Goals.getDaysToConversion": ("Goals_DaysToConversion", None),
}
_ALL = {**_SHOWN_LABEL, **_ARCHIVED_LABEL}


async def _rows(method: str, **params: Any) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = await recorded_json(
        method=method, filter_limit=-1, **_MONTH, **params
    )
    return rows


def _placed(row: dict[str, Any], key: str, before: str | None) -> bool:
    keys = list(row)
    if before is None or before not in row:
        return keys[-1] == key
    return keys.index(key) == keys.index(before) - 1


@pytest.mark.anyio
@pytest.mark.parametrize("method", sorted(_SHOWN_LABEL))
async def test_flat_rows_carry_the_dimension_of_their_label(method: str) -> None:
    """Each flat row is the plain row plus the key, valued with its (shown) label, in place."""
    key, before = _SHOWN_LABEL[method]
    plain = await _rows(method)
    flat = await _rows(method, flat=1)
    assert flat
    assert len(flat) == len(plain)
    for row, same in zip(flat, plain, strict=True):
        assert row[key] == row["label"].strip(), row
        assert _placed(row, key, before), list(row)
        assert {k: v for k, v in row.items() if k != key} == same
        assert list(same) == [k for k in row if k != key]


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("method", "keys"),
    [
        # the expected outputs' row metadata, in order
        ("Resolution.getResolution", ["Resolution_Resolution", "segment"]),
        (
            "DevicesDetection.getBrowserVersions",
            ["segment", "logo", "DevicesDetection_BrowserVersion"],
        ),
        ("DevicesDetection.getOsVersions", ["segment", "logo", "DevicesDetection_OsVersion"]),
        ("Goals.getItemsSku", ["segment", "Ecommerce_ProductSku"]),
        ("Actions.getSiteSearchKeywords", ["segment", "Actions_Keyword"]),
        # from the API code: segmentValue turned into a segment after flattening, queued logoHeight
        (
            "UserCountry.getCountry",
            ["code", "logo", "UserCountry_Country", "segment", "logoHeight"],
        ),
    ],
)
async def test_flat_metadata_order_is_matomos(method: str, keys: list[str]) -> None:
    """The row's last keys are Matomo's metadata in Matomo's order."""
    for row in await _rows(method, flat=1):
        assert list(row)[-len(keys) :] == keys, row


@pytest.mark.anyio
async def test_hour_rows_carry_the_archived_hour() -> None:
    """VisitTime's label "07" is getTimeLabel's, a queued filter: the key is the hour "7"."""
    for method in (
        "VisitTime.getVisitInformationPerLocalTime",
        "VisitTime.getVisitInformationPerServerTime",
    ):
        key, before = _ARCHIVED_LABEL[method]
        flat = await _rows(method, flat=1)
        assert [row[key] for row in flat] == [str(hour) for hour in range(24)]
        assert [row["label"] for row in flat] == [f"{hour:02d}" for hour in range(24)]
        assert all(_placed(row, key, before) for row in flat)


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("method", "archived"),
    [
        (
            "VisitorInterest.getNumberOfVisitsPerVisitDuration",
            [
                "0-10",
                "11-30",
                "31-60",
                "60-120",
                "120-240",
                "240-420",
                "420-600",
                "600-900",
                "900-1800",
                "1801%2B",
            ],
        ),
        (
            "VisitorInterest.getNumberOfVisitsPerPage",
            ["1-1", "2-2", "3-3", "4-4", "5-5", "6-7", "8-10", "11-14", "15-20", "21%2B"],
        ),
        (
            "Goals.getDaysToConversion",
            [
                *(f"{n}-{n}" for n in range(8)),
                "8-14",
                "15-30",
                "31-60",
                "61-120",
                "121-364",
                "365%2B",
            ],
        ),
    ],
)
async def test_range_rows_carry_the_archived_range(method: str, archived: list[str]) -> None:
    """BeautifyRangeLabels and AddSegmentByRangeLabel are queued: the key is the range as
    LogAggregator archives it (`low-high`, the open one with a urlencoded "+"), then the segment."""
    key, before = _ARCHIVED_LABEL[method]
    flat = await _rows(method, flat=1)
    plain = await _rows(method)
    assert [row[key] for row in flat] == archived
    assert [row["label"] for row in flat] == [row["label"] for row in plain]
    assert all(_placed(row, key, before) for row in flat)


@pytest.mark.anyio
@pytest.mark.parametrize("method", [*sorted(_ALL), "UserId.getUsers"])
async def test_no_dimension_key_without_flat(method: str) -> None:
    """A guard: no key without `flat=1`, nor on UserId.getUsers (`supportsFlatten = false`)."""
    keys = {key for key, _ in _ALL.values()}
    for params in ({}, {"flat": 0}, *([{"flat": 1}] if method == "UserId.getUsers" else [])):
        for row in await _rows(method, **params):
            assert not keys & set(row), row
