"""Round 11: the goal and ecommerce data Matomo 5 has, recounted from the sandbox's own visits.

* Actions page rows: the page-attribution and entry-page goal metrics (recorded 067/068/075/077);
* Events.getCategory with `secondaryDimension=eventName` (recorded 123);
* Goals.get for `idGoal=ecommerceOrder` (recorded 110) and `ecommerceAbandonedCart`.
"""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any
from urllib.parse import quote_plus

import pytest
from sandbox_support import get_all, load_case, recorded_config

from matomo_client.sandbox import Sandbox

DAY = "2026-11-20"
WEEK = ("2026-11-16", "2026-11-22")
_CART = "idgoal=ecommerceAbandonedCart"
_ATTRIB = ("nb_conv_pages_before", "nb_conversions_attrib", "revenue_attrib")
_ENTRY = ("revenue_entry", "nb_conversions_entry_rate", "revenue_per_entry", "nb_conversions_entry")


@pytest.fixture(scope="module")
def sandbox() -> Sandbox:
    """Enough traffic for goals, orders and carts on one day."""
    return Sandbox(recorded_config(visits_per_day=120))


_get = get_all


async def _visits(sb: Sandbox, date: str) -> list[dict[str, Any]]:
    visits: list[dict[str, Any]] = await _get(
        sb, method="Live.getLastVisitsDetails", idSite=1, period="day", date=date
    )
    return visits


def _conversions(visit: dict[str, Any]) -> list[tuple[int, str, float]]:
    """(time, goal, revenue) of a visit's goal conversions and orders (not carts)."""
    out = []
    for a in visit["actionDetails"]:
        if a["type"] == "goal":
            out.append((a["timestamp"], f"idgoal={a['goalId']}", float(a["revenue"])))
        elif a["type"] == "ecommerceOrder":
            out.append((a["timestamp"], "idgoal=ecommerceOrder", float(a["revenue"])))
    return out


def _expected(visits: list[dict[str, Any]], key: str) -> dict[tuple[str, str], dict[str, float]]:
    """Matomo's page goal metrics per (page `key` value, goal), from the raw visits of a day."""
    out: dict[tuple[str, str], dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for v in visits:
        pages = [(a["timestamp"], a[key]) for a in v["actionDetails"] if a["type"] == "action"]
        convs = _conversions(v)
        per_visit: dict[tuple[str, str], float] = defaultdict(float)
        for cts, goal, revenue in convs:
            before = [label for ts, label in pages if ts <= cts]
            for label in before:
                m = out[(label, goal)]
                m["nb_conversions_attrib"] += round(1 / len(before), 4)
                m["nb_conv_pages_before"] = max(m["nb_conv_pages_before"], len(before))
                per_visit[(label, goal)] += revenue / len(before)
            out[(pages[0][1], goal)]["nb_conversions_entry"] += 1
            out[(pages[0][1], goal)]["revenue_entry"] += revenue
        for k, revenue in per_visit.items():
            out[k]["revenue_attrib"] += round(revenue, 2)
    entries: dict[str, int] = defaultdict(int)
    for v in visits:
        entries[next(a[key] for a in v["actionDetails"] if a["type"] == "action")] += 1
    for (label, _), m in out.items():
        if m["nb_conversions_entry"]:
            m["revenue_entry"] = round(m["revenue_entry"], 2)
            m["nb_conversions_entry_rate"] = round(m["nb_conversions_entry"] / entries[label], 3)
            m["revenue_per_entry"] = round(m["revenue_entry"] / entries[label], 3)
    return out


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("method", "key", "live_key"),
    [("Actions.getPageTitles", "label", "pageTitle"), ("Actions.getPageUrls", "url", "url")],
)
async def test_page_goal_attribution_recounts_from_the_visits(
    sandbox: Sandbox, method: str, key: str, live_key: str
) -> None:
    """Each page's attributed conversions and revenue, pages before and entry conversions are
    what the day's visits give under Matomo's rules; carts carry none of them."""
    rows = await _get(sandbox, method=method, idSite=1, period="day", date=DAY, flat=1)
    expected = _expected(await _visits(sandbox, DAY), live_key)
    checked = 0
    for row in rows:
        for goal, metrics in row.get("goals", {}).items():
            if goal == _CART:
                assert not set(metrics) & {*_ATTRIB, *_ENTRY}, row["label"]
                continue
            want = expected[(row[key], goal)]
            for name in (*_ATTRIB, *(_ENTRY if want["nb_conversions_entry"] else ())):
                assert metrics[name] == pytest.approx(want[name], abs=1e-6), (row[key], goal, name)
                checked += 1
            if not want["nb_conversions_entry"]:
                assert not set(metrics) & set(_ENTRY), (row[key], goal)
    assert checked > 50


@pytest.mark.anyio
async def test_attributed_conversions_add_up_to_the_goals_conversions(sandbox: Sandbox) -> None:
    """Over all pages of a week, attributed conversions and revenue give back Goals.get's, and
    every conversion is counted once on its visit's entry page."""
    rows = await _get(
        sandbox, method="Actions.getPageUrls", idSite=1, period="week", date=WEEK[0], flat=1
    )
    for id_goal in ("ecommerceOrder", "1", "2"):
        goal = await _get(sandbox, method="Goals.get", idSite=1, period="week", date=WEEK[0],
                          idGoal=id_goal)  # fmt: skip
        blocks = [r["goals"][f"idgoal={id_goal}"] for r in rows if f"idgoal={id_goal}" in r.get("goals", {})]  # fmt: skip
        n = goal["nb_conversions"]
        assert n > 0
        attributed = sum(b["nb_conversions_attrib"] for b in blocks)
        assert attributed == pytest.approx(n, abs=n * 0.0001)
        revenue = sum(b["revenue_attrib"] for b in blocks)
        assert revenue == pytest.approx(goal["revenue"], abs=0.01 * len(blocks) + 0.01)
        assert sum(b.get("nb_conversions_entry", 0) for b in blocks) == n
        assert sum(b.get("revenue_entry", 0) for b in blocks) == pytest.approx(goal["revenue"])


@pytest.mark.anyio
async def test_page_goal_metrics_add_up_over_days_and_folders(sandbox: Sandbox) -> None:
    """A week's page goal metrics are the sum of its days' (rates and pages-before included, as
    Matomo's archives add them), and a folder's are the sum of its pages'."""
    week = await _get(sandbox, method="Actions.getPageTitles", idSite=1, period="week",
                      date=WEEK[0])  # fmt: skip
    days = await _get(sandbox, method="Actions.getPageTitles", idSite=1, period="day",
                      date=",".join(WEEK))  # fmt: skip
    summed: dict[tuple[str, str, str], float] = defaultdict(float)
    for rows in days.values():
        for row in rows:
            for goal, metrics in row.get("goals", {}).items():
                for name in (*_ATTRIB, *_ENTRY):
                    summed[(row["label"], goal, name)] += metrics.get(name, 0)
    compared = 0
    for row in week:
        for goal, metrics in row.get("goals", {}).items():
            for name in (*_ATTRIB, *_ENTRY):
                if name in metrics:
                    want = summed[(row["label"], goal, name)]
                    assert metrics[name] == pytest.approx(want, abs=1e-6), (row["label"], name)
                    compared += 1
    assert compared > 50
    folders = await _get(sandbox, method="Actions.getPageUrls", idSite=1, period="week",
                         date=WEEK[0], expanded=1)  # fmt: skip
    for folder in (r for r in folders if r.get("subtable")):
        for goal, metrics in folder.get("goals", {}).items():
            for name in (*_ATTRIB, *_ENTRY):
                children = sum(c.get("goals", {}).get(goal, {}).get(name, 0) for c in folder["subtable"])  # fmt: skip
                assert metrics.get(name, 0) == pytest.approx(children, abs=1e-6), name


def _goal_key_sets(value: Any, out: set[tuple[bool, tuple[str, ...]]]) -> None:
    if isinstance(value, list):
        for item in value:
            _goal_key_sets(item, out)
    elif isinstance(value, dict):
        for goal, metrics in value.get("goals", {}).items():
            out.add((goal == _CART, tuple(sorted(metrics))))
        for item in value.values():
            _goal_key_sets(item, out)


@pytest.mark.anyio
@pytest.mark.parametrize("case", [67, 68, 77])
async def test_page_goal_blocks_have_the_recorded_keys(sandbox: Sandbox, case: int) -> None:
    """The goal blocks of page rows have key sets of the recorded Matomo answer (which ones
    depends on the data: a page nobody entered on and converted has no entry metrics)."""
    request, body = load_case(case)
    params = {k: v for k, v in request["params"].items() if k not in ("module", "format")}
    recorded: set[tuple[bool, tuple[str, ...]]] = set()
    ours: set[tuple[bool, tuple[str, ...]]] = set()
    _goal_key_sets(json.loads(body), recorded)
    _goal_key_sets(await _get(sandbox, **params), ours)
    assert ours <= recorded
    assert {cart for cart, _ in ours} == {True, False}
    assert any(set(_ENTRY) <= set(keys) for _, keys in ours)


@pytest.mark.anyio
async def test_events_by_category_and_name(sandbox: Sandbox) -> None:
    """`secondaryDimension=eventName` gives event names under the categories (flat: recorded
    123's keys), with the same category rows; getNameFromCategoryId reads its subtables; an
    unknown dimension is refused with Matomo's message."""
    base = {"method": "Events.getCategory", "idSite": 1, "period": "day", "date": DAY}
    flat = await _get(sandbox, **base, secondaryDimension="eventName", flat=1)
    counts: dict[str, int] = defaultdict(int)
    for v in await _visits(sandbox, DAY):
        for a in v["actionDetails"]:
            if a["type"] == "event":
                counts[f"{a['eventCategory']} - {a['eventName']}"] += 1
    assert {r["label"]: r["nb_events"] for r in flat} == counts
    for row in flat:
        assert "Events_EventAction" not in row
        assert row["label"] == f"{row['Events_EventCategory']} - {row['Events_EventName']}"
    by_action = await _get(sandbox, **base)
    by_name = await _get(sandbox, **base, secondaryDimension="eventName")
    strip = ("idsubdatatable",)
    assert [{k: v for k, v in r.items() if k not in strip} for r in by_name] == [
        {k: v for k, v in r.items() if k not in strip} for r in by_action
    ]
    for row in by_name:
        sub = await _get(sandbox, **{**base, "method": "Events.getNameFromCategoryId"},
                         idSubtable=row["idsubdatatable"])  # fmt: skip
        assert sum(r["nb_events"] for r in sub) == row["nb_events"]
        for r in sub:
            assert counts[f"{row['label']} - {r['label']}"] == r["nb_events"]
            assert r["segment"] == "eventName==" + quote_plus(r["label"])  # recording 119
    refused = await _get(sandbox, **base, secondaryDimension="eventLabel")
    assert refused == {
        "result": "error",
        "message": "Secondary dimension 'eventLabel' is not valid for the API getCategory. "
        "Use one of: eventAction, eventName",
    }


@pytest.mark.anyio
async def test_goals_get_ecommerce_order_has_the_recorded_keys_and_the_visits_values(
    sandbox: Sandbox,
) -> None:
    """Goals.get&idGoal=ecommerceOrder: recorded 110's keys in its order, and subtotal, tax,
    shipping, discount, items and average order revenue of the day's orders."""
    _, body = load_case(110)
    got = await _get(sandbox, method="Goals.get", idSite=1, period="day", date=DAY,
                     idGoal="ecommerceOrder")  # fmt: skip
    assert list(got) == list(json.loads(body))
    visits = await _visits(sandbox, DAY)
    for suffix, mine in (
        ("", visits),
        ("_new_visit", [v for v in visits if v["visitorType"] == "new"]),
        ("_returning_visit", [v for v in visits if v["visitorType"] != "new"]),
    ):
        orders = [a for v in mine for a in v["actionDetails"] if a["type"] == "ecommerceOrder"]
        assert got["nb_conversions" + suffix] == len(orders)
        for key, live in (
            ("revenue", "revenue"),
            ("revenue_subtotal", "revenueSubTotal"),
            ("revenue_tax", "revenueTax"),
            ("revenue_shipping", "revenueShipping"),
            ("revenue_discount", "revenueDiscount"),
        ):
            want = sum(float(a[live]) for a in orders)
            assert got[key + suffix] == pytest.approx(want, abs=0.01), key + suffix
        assert got["items" + suffix] == sum(a["items"] for a in orders)
        want_avg = round(got["revenue" + suffix] / len(orders), 2) if orders else 0
        assert got["avg_order_revenue" + suffix] == pytest.approx(want_avg)
    assert got["nb_conversions"] > 0


@pytest.mark.anyio
async def test_goals_get_abandoned_carts_are_the_visits_carts(sandbox: Sandbox) -> None:
    """Goals.get&idGoal=ecommerceAbandonedCart counts the carts (it answered zeros), with
    items and average cart value as Matomo's Goals::getGoalColumns lists them."""
    got = await _get(sandbox, method="Goals.get", idSite=1, period="day", date=DAY,
                     idGoal="ecommerceAbandonedCart")  # fmt: skip
    visits = await _visits(sandbox, DAY)
    carts = [a for v in visits for a in v["actionDetails"] if a["type"] == "ecommerceAbandonedCart"]
    assert got["nb_conversions"] == len(carts) > 0
    assert got["nb_visits_converted"] == sum(
        any(a["type"] == "ecommerceAbandonedCart" for a in v["actionDetails"]) for v in visits
    )
    assert got["revenue"] == pytest.approx(sum(float(a["revenue"]) for a in carts), abs=0.01)
    assert got["items"] == sum(a["items"] for a in carts)
    assert list(got)[:6] == [
        "nb_conversions",
        "nb_visits_converted",
        "revenue",
        "items",
        "avg_order_revenue",
        "conversion_rate",
    ]
    overall = await _get(sandbox, method="Goals.get", idSite=1, period="day", date=DAY)
    assert "items" not in overall  # carts stay out of the overall figures
