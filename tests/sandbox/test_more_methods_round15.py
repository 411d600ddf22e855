"""Round 15: recorded report methods the sandbox used to answer "does not exist" for.

Entry and exit pages, VisitTime, DevicesDetection's other reports, Resolution, UserLanguage,
UserCountry.getContinent, VisitorInterest and Goals.getItems* answer in the recorded shapes
(cases 079-080, 112-115, 125, 127-128, 130-139), add up to VisitsSummary's figures, agree
with the Live visits they are drawn from, and are listed in API.getReportMetadata.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import date, timedelta

import pytest
from sandbox_support import (
    TOKEN,
    client_for,
    load_case,
    recorded_json,
    recorded_sandbox,
    shape_mismatches,
)

from matomo_client.sandbox.render import render_visit

#: recorded cases of the methods added this round
_CASES = [
    79,
    80,
    112,
    113,
    114,
    115,
    125,
    127,
    128,
    130,
    131,
    132,
    133,
    134,
    135,
    136,
    137,
    138,
    139,
]
#: reports whose rows are visits: each adds up to VisitsSummary.get's nb_visits
_VISIT_REPORTS = [
    "DevicesDetection.getType",
    "DevicesDetection.getBrand",
    "DevicesDetection.getOsFamilies",
    "DevicesDetection.getOsVersions",
    "DevicesDetection.getBrowserVersions",
    "Resolution.getResolution",
    "UserLanguage.getLanguage",
    "UserLanguage.getLanguageCode",
    "UserCountry.getContinent",
    "VisitTime.getVisitInformationPerServerTime",
    "VisitTime.getVisitInformationPerLocalTime",
    "VisitTime.getByDayOfWeek",
    "VisitorInterest.getNumberOfVisitsPerVisitDuration",
    "VisitorInterest.getNumberOfVisitsPerPage",
]
_WITH_ACTIONS = {
    m for m in _VISIT_REPORTS if not m.startswith("VisitorInterest")
}  # rows with nb_actions
#: reports that carry goal conversions per row (recorded 125, 131, 134, 136)
_WITH_GOALS = [
    "DevicesDetection.getType",
    "DevicesDetection.getBrand",
    "UserCountry.getContinent",
    "VisitTime.getVisitInformationPerServerTime",
    "VisitTime.getVisitInformationPerLocalTime",
]


# -- shapes ----------------------------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize("number", _CASES)
async def test_recorded_requests_answer_in_the_recorded_shape(number: int) -> None:
    """Each recorded request of the new methods answers rows shaped as recorded."""
    request, body = load_case(number)
    recorded = json.loads(body)
    actual = await recorded_json(**request["params"])
    assert actual, "no rows"
    assert shape_mismatches(recorded, actual) == []
    keys = {k for r in recorded for k in r}
    assert {k for r in actual for k in r} <= keys


@pytest.mark.anyio
@pytest.mark.parametrize("number", [131, 136, 137, 138, 139])
async def test_fixed_rows_come_in_matomos_order(number: int) -> None:
    """Device types, hours, weekdays and VisitorInterest ranges: every row, in the recorded
    order (hours and ranges in their own order, not by visits)."""
    request, body = load_case(number)
    recorded = [r["label"] for r in json.loads(body)]
    actual = [r["label"] for r in await recorded_json(**request["params"])]
    if number == 131:  # the types with visits first, the zero rows by name
        assert sorted(actual) == sorted(recorded)
        assert actual[3:] == recorded[3:]
    else:
        assert actual == recorded


@pytest.mark.anyio
async def test_zero_rows_are_shaped_as_recorded() -> None:
    """A device type or an hour without visits is a row of label, nb_visits 0 and segment."""
    types = await recorded_json(
        method="DevicesDetection.getType", idSite=2, period="day", date="2026-11-28"
    )
    wearable = next(r for r in types if r["label"] == "Wearable")
    _, body = load_case(131)
    assert wearable == next(r for r in json.loads(body) if r["label"] == "Wearable")
    hours = await recorded_json(
        method="VisitTime.getVisitInformationPerServerTime",
        idSite=1,
        period="day",
        date="2026-11-28",
    )
    assert len(hours) == 24
    empty = [r for r in hours if r["nb_visits"] == 0]
    assert empty
    assert all(set(r) == {"label", "nb_visits", "segment"} for r in empty)


# -- consistency with VisitsSummary ---------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("id_site", "period", "day"),
    [(1, "month", "2026-10-01"), (2, "week", "2026-11-16"), (2, "day", "2026-11-28")],
)
async def test_visit_reports_add_up_to_visits_summary(id_site: int, period: str, day: str) -> None:
    """Every visit report's rows add up to VisitsSummary's visits (and actions, bounces,
    converted visits where the rows have them)."""
    where = {"idSite": id_site, "period": period, "date": day}
    summary = await recorded_json(method="VisitsSummary.get", **where)
    assert summary["nb_visits"] > 0
    for method in _VISIT_REPORTS:
        rows = await recorded_json(method=method, filter_limit=-1, **where)
        assert sum(r["nb_visits"] for r in rows) == summary["nb_visits"], method
        if method in _WITH_ACTIONS:
            for key in ("nb_actions", "bounce_count", "nb_visits_converted", "sum_visit_length"):
                assert sum(r.get(key, 0) for r in rows) == summary[key], (method, key)


@pytest.mark.anyio
async def test_goal_conversions_agree_with_the_country_report() -> None:
    """Goal conversions and revenue per row add up as in UserCountry.getCountry."""
    where = {"idSite": 1, "period": "month", "date": "2026-10-01", "filter_limit": -1}
    countries = await recorded_json(method="UserCountry.getCountry", **where)
    expected = sum(r.get("nb_conversions", 0) for r in countries)
    revenue = round(sum(r.get("revenue", 0) for r in countries), 2)
    assert expected > 0
    for method in _WITH_GOALS:
        rows = await recorded_json(method=method, **where)
        assert sum(r.get("nb_conversions", 0) for r in rows) == expected, method
        assert round(sum(r.get("revenue", 0) for r in rows), 2) == revenue, method


@pytest.mark.anyio
async def test_day_of_week_adds_up_each_days_summary() -> None:
    """VisitTime.getByDayOfWeek over a week is that week's daily VisitsSummary by weekday."""
    monday = date(2026, 11, 16)
    rows = await recorded_json(
        method="VisitTime.getByDayOfWeek", idSite=1, period="week", date=monday
    )
    for i, row in enumerate(rows):
        day = await recorded_json(
            method="VisitsSummary.get", idSite=1, period="day", date=monday + timedelta(days=i)
        )
        assert row["day_of_week"] == i + 1
        for key in ("nb_visits", "nb_uniq_visitors", "nb_actions", "nb_users", "bounce_count"):
            assert row[key] == day[key], (row["label"], key)


@pytest.mark.anyio
async def test_day_of_week_refuses_several_periods_and_covers_the_periods_weekdays() -> None:
    """As Matomo: several periods are refused (the export asks one at a time); a day period
    has its own weekday's row only."""
    data = {"module": "API", "format": "JSON", "token_auth": TOKEN}
    async with client_for(recorded_sandbox()) as client:
        response = await client.post(
            "index.php",
            data={
                **data,
                "method": "VisitTime.getByDayOfWeek",
                "idSite": "1",
                "period": "day",
                "date": "last3",
            },
        )
    assert response.json() == {
        "result": "error",
        "message": "VisitTime.getByDayOfWeek does not support multiple dates.",
    }
    rows = await recorded_json(
        method="VisitTime.getByDayOfWeek", idSite=1, period="day", date="2026-11-28"
    )
    summary = await recorded_json(
        method="VisitsSummary.get", idSite=1, period="day", date="2026-11-28"
    )
    assert [(r["label"], r["day_of_week"], r["nb_visits"]) for r in rows] == [
        ("Saturday", 6, summary["nb_visits"])
    ]


@pytest.mark.anyio
async def test_rows_match_the_live_visits_of_the_day() -> None:
    """Devices, resolutions, languages and start hours counted from the Live visits of a day."""
    sb = recorded_sandbox()
    site = sb.world.site(1)
    day = date(2026, 11, 28)
    visits = [
        render_visit(v, site, sb.world.seed, with_actions=False)
        for v in sb.world.day_visits(1, day)
    ]
    where = {"idSite": 1, "period": "day", "date": day.isoformat(), "filter_limit": -1}

    async def counts(method: str) -> Counter[str]:
        return Counter(
            {
                r["label"]: r["nb_visits"]
                for r in await recorded_json(method=method, **where)
                if r["nb_visits"]
            }
        )

    assert await counts("DevicesDetection.getType") == Counter(v["deviceType"] for v in visits)
    assert await counts("DevicesDetection.getBrand") == Counter(v["deviceBrand"] for v in visits)
    assert await counts("DevicesDetection.getOsVersions") == Counter(
        v["operatingSystem"] for v in visits
    )
    assert await counts("DevicesDetection.getBrowserVersions") == Counter(
        v["browser"] for v in visits
    )
    assert await counts("Resolution.getResolution") == Counter(v["resolution"] for v in visits)
    codes = await recorded_json(method="UserLanguage.getLanguageCode", **where)
    assert Counter({r["segment"].split("==")[1]: r["nb_visits"] for r in codes}) == Counter(
        v["languageCode"] for v in visits
    )
    # site 1 is in UTC: the server hour is the first action's UTC hour
    hours = Counter(f"{int(v['serverTimePrettyFirstAction'][:2]):02d}" for v in visits)
    assert await counts("VisitTime.getVisitInformationPerServerTime") == hours


@pytest.mark.anyio
async def test_server_hours_are_the_sites_and_segment_on_utc() -> None:
    """For the Berlin site, a row's label is the local hour and its segment the UTC hour."""
    rows = await recorded_json(
        method="VisitTime.getVisitInformationPerServerTime",
        idSite=2,
        period="day",
        date="2026-11-28",
    )
    for row in rows:  # November: UTC+1
        assert row["segment"] == f"visitStartServerHour=={(int(row['label']) - 1) % 24}"


# -- entry and exit pages --------------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize(("kind", "key"), [("entry", "Entry"), ("exit", "Exit")])
async def test_entry_and_exit_pages_are_the_page_rows_with_such_visits(kind: str, key: str) -> None:
    """get{Entry,Exit}PageUrls: the flat page rows with entries (exits), their counts adding
    up to the period's visits, the flat column and segment renamed."""
    where = {"idSite": 1, "period": "month", "date": "2026-10-01", "flat": 1, "filter_limit": -1}
    pages = await recorded_json(method="Actions.getPageUrls", **where)
    rows = await recorded_json(method=f"Actions.get{key}PageUrls", **where)
    summary = await recorded_json(
        method="VisitsSummary.get", idSite=1, period="month", date="2026-10-01"
    )
    count = f"{kind}_nb_visits"
    assert [r["label"] for r in rows] == [r["label"] for r in pages if r.get(count)]
    assert sum(int(r[count]) for r in rows) == summary["nb_visits"]
    for row in rows:
        assert row[f"Actions_{key}PageUrl"] == row["label"]
        assert "Actions_PageUrl" not in row
        assert row["segment"].startswith(f"{kind}PageUrl==")
    titles = await recorded_json(method=f"Actions.get{key}PageTitles", **where)
    assert sum(int(r[count]) for r in titles) == summary["nb_visits"]
    assert all(r["segment"].startswith(f"{kind}PageTitle==") for r in titles)


@pytest.mark.anyio
async def test_entry_pages_keep_folders_and_subtables() -> None:
    """Without flat, entry pages are folders whose subtables hold only pages with entries."""
    where = {"idSite": 1, "period": "day", "date": "2026-11-28"}
    rows = await recorded_json(method="Actions.getEntryPageUrls", expanded=1, **where)
    folders = [r for r in rows if "idsubdatatable" in r]
    assert folders
    for folder in folders:
        assert folder["segment"].startswith("entryPageUrl=^")
        sub = await recorded_json(
            method="Actions.getEntryPageUrls", idSubtable=folder["idsubdatatable"], **where
        )
        assert sub
        assert all(int(r["entry_nb_visits"]) > 0 for r in sub)
        assert sum(int(r["entry_nb_visits"]) for r in sub) == int(folder["entry_nb_visits"])


# -- ecommerce items ---------------------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize("carts", [False, True])
async def test_items_add_up_to_the_ecommerce_goals(carts: bool) -> None:
    """Goals.getItemsSku's quantities and revenue add up to the orders' (or abandoned carts')
    items of Goals.get; its orders count each order once per product."""
    where = {"idSite": 1, "period": "month", "date": "2026-10-01"}
    id_goal = "ecommerceAbandonedCart" if carts else "ecommerceOrder"
    goal = await recorded_json(method="Goals.get", idGoal=id_goal, **where)
    extra = {"abandonedCarts": 1} if carts else {}
    rows = await recorded_json(method="Goals.getItemsSku", filter_limit=-1, **where, **extra)
    assert sum(r["quantity"] for r in rows) == goal["items"]
    orders = "abandoned_carts" if carts else "orders"
    assert 0 < max(r[orders] for r in rows) <= goal["nb_conversions"]
    names = await recorded_json(method="Goals.getItemsName", filter_limit=-1, **where, **extra)
    assert sorted(r["revenue"] for r in names) == sorted(r["revenue"] for r in rows)
    revenues = [r["revenue"] for r in rows]
    assert revenues == sorted(revenues, reverse=True)  # Matomo's order: by revenue
    for row in rows:
        if row[orders]:
            assert row["avg_quantity"] == round(row["quantity"] / row[orders], 1)


@pytest.mark.anyio
async def test_items_views_come_from_the_product_pages() -> None:
    """An item's nb_visits and nb_actions are its product page's visits and hits."""
    where = {"idSite": 1, "period": "day", "date": "2026-11-28", "filter_limit": -1}
    pages = await recorded_json(method="Actions.getPageUrls", flat=1, **where)
    sandbox_site = recorded_sandbox().world.site(1)
    by_sku = {p.product: p.path for p in sandbox_site.pages if p.product}
    rows = await recorded_json(method="Goals.getItemsSku", **where)
    assert rows
    for row in rows:
        path = by_sku[row["label"]]
        # the product's URL rows, with and without a campaign query: a visit can see both
        page = [p for p in pages if p["label"] == path or p["label"].startswith(path + "?")]
        assert row["nb_actions"] == sum(p["nb_hits"] for p in page)
        assert max((p["nb_visits"] for p in page), default=0) <= row["nb_visits"]
        assert row["nb_visits"] <= sum(p["nb_visits"] for p in page)


@pytest.mark.anyio
async def test_sites_without_ecommerce_have_no_items() -> None:
    """The blog (no ecommerce) answers an empty items table and lists no items report."""
    rows = await recorded_json(
        method="Goals.getItemsSku", idSite=2, period="month", date="2026-10-01"
    )
    assert rows == []
    listed = {r["uniqueId"] for r in await recorded_json(method="API.getReportMetadata", idSite=2)}
    assert "Goals_getItemsSku" not in listed
    assert "VisitTime_getByDayOfWeek" in listed


# -- metadata and segments ---------------------------------------------------------------------


@pytest.mark.anyio
async def test_report_metadata_lists_the_new_reports_as_recorded() -> None:
    """API.getReportMetadata lists the new reports with the recorded entries, in order."""
    request, body = load_case(146)
    recorded = json.loads(body)
    actual = await recorded_json(**request["params"])
    by_id = {r["uniqueId"]: r for r in recorded}
    ids = [r["uniqueId"] for r in actual]
    for uid in (
        "Actions_getEntryPageUrls",
        "VisitTime_getVisitInformationPerServerTime",
        "DevicesDetection_getType",
        "Goals_getItemsSku",
        "VisitorInterest_getNumberOfVisitsPerPage",
    ):
        entry = next(r for r in actual if r["uniqueId"] == uid)
        recorded_entry = by_id[uid]
        assert {k: v for k, v in entry.items() if not k.startswith("imageGraph")} == {
            k: v for k, v in recorded_entry.items() if not k.startswith("imageGraph")
        }
    order = [i for i in ids if i in by_id]
    assert order == [i for i in by_id if i in set(order)]


@pytest.mark.anyio
async def test_a_segment_narrows_the_dimension_reports() -> None:
    """With a segment the rows are the segment's visits (here: smartphones only)."""
    where = {
        "idSite": 1,
        "period": "day",
        "date": "2026-11-28",
        "segment": "deviceType==smartphone",
    }
    summary = await recorded_json(method="VisitsSummary.get", **where)
    types = await recorded_json(method="DevicesDetection.getType", **where)
    assert [r["label"] for r in types if r["nb_visits"]] == ["Smartphone"]
    assert types[0]["nb_visits"] == summary["nb_visits"]
    hours = await recorded_json(method="VisitTime.getVisitInformationPerServerTime", **where)
    assert sum(r["nb_visits"] for r in hours) == summary["nb_visits"]
