"""Round 15: Goals.getDaysToConversion in API.getReportMetadata, and the split of `api.py`.

The days-to-conversion entries (overall, per goal, per ecommerce goal) are the recorded
Matomo 5.11.2 ones (146, 181), each listed after its Goals.get entry, and each answers with
the conversions of the goal Goals.get reports for the same parameters. The summary-like
handlers moved to `summary_api.py` are still dispatched by `Api.call`.
"""

from __future__ import annotations

import json

import pytest
from sandbox_support import (
    load_case,
    recorded_json,
    recorded_sandbox,
)

from matomo_client.sandbox.api import Access
from matomo_client.sandbox.summary_api import SUMMARY_SCALARS, SummaryMethods

_DAYS = "Goals_getDaysToConversion"


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("case", "wanted"),
    [
        (
            146,
            [
                f"{_DAYS}_idGoal--ecommerceOrder",
                f"{_DAYS}_idGoal--ecommerceAbandonedCart",
                _DAYS,
                f"{_DAYS}_idGoal--1",
                f"{_DAYS}_idGoal--2",
            ],
        ),
        (181, [_DAYS]),
    ],
)
async def test_days_to_conversion_entries_are_the_recorded_ones(
    case: int, wanted: list[str]
) -> None:
    """Each days-to-conversion entry equals the recorded one and follows its Goals.get entry."""
    request, body = load_case(case)
    recorded = json.loads(body)
    actual = await recorded_json(**request["params"])
    ids = [r["uniqueId"] for r in actual]
    assert [i for i in ids if i.startswith(_DAYS)] == wanted
    by_id = {r["uniqueId"]: r for r in recorded}
    for uid in wanted:
        assert actual[ids.index(uid)] == by_id[uid]
        goals_get = uid.replace(_DAYS, "Goals_get")
        assert ids[ids.index(uid) - 1] == goals_get
    assert ids == [i for i in by_id if i in set(ids)]  # the recorded order


@pytest.mark.anyio
@pytest.mark.parametrize("id_site", [1, 2, 3])
async def test_each_days_to_conversion_entry_counts_its_goals_conversions(id_site: int) -> None:
    """A per-goal entry's ranges add up to Goals.get's conversions of that goal; the overall
    entry's to those of the site's goals, ecommerce apart (as recorded 116)."""
    where = {"idSite": id_site, "period": "month", "date": "2026-11-01"}
    listed = await recorded_json(method="API.getReportMetadata", idSite=id_site)
    entries = [r for r in listed if r["action"] == "getDaysToConversion"]
    goals = await recorded_json(method="Goals.getGoals", idSite=id_site)
    expected_overall = 0
    for goal in goals:
        one = await recorded_json(method="Goals.get", idGoal=goal["idgoal"], **where)
        expected_overall += one["nb_conversions"]
    assert entries[-len(goals) - 1]["uniqueId"] == _DAYS
    for entry in entries:
        params = {**where, **entry.get("parameters", {})}
        rows = await recorded_json(method="Goals.getDaysToConversion", **params)
        if "parameters" in entry:
            expected = (await recorded_json(method="Goals.get", **params))["nb_conversions"]
        else:
            expected = expected_overall
        assert sum(r["nb_conversions"] for r in rows) == expected, entry["uniqueId"]


def test_api_still_dispatches_the_summary_methods() -> None:
    """`Api` gets the summary-like handlers from `SummaryMethods` and answers them via `call`."""
    api = recorded_sandbox().api
    assert isinstance(api, SummaryMethods)
    where = {"idSite": "1", "period": "day", "date": "2026-11-27"}
    summary = api.call({"method": "VisitsSummary.get", **where}, Access(True))
    visits = summary["nb_visits"]
    assert visits > 0
    for name, column in SUMMARY_SCALARS.items():
        assert api.call({"method": f"VisitsSummary.{name}", **where}, Access(True)) == {
            "value": summary.get(column, 0)
        }
    frequency = api.call({"method": "VisitFrequency.get", **where}, Access(True))
    assert frequency["nb_visits_new"] + frequency["nb_visits_returning"] == visits
    merged = api.call({"method": "API.get", **where, "columns": "nb_visits"}, Access(True))
    assert merged == {"value": visits}
    weekdays = api.call({"method": "VisitTime.getByDayOfWeek", **where}, Access(True))
    assert [(r["label"], r["nb_visits"]) for r in weekdays] == [("Friday", visits)]
