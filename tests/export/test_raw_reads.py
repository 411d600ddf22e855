"""The export reads sites and Matomo's daily counts from raw JSON, as the models would read them."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from matomo_client import DateRange
from matomo_client.endpoints import SitesWithViewAccess, VisitsSummarySeries
from matomo_client.errors import DecodeError
from matomo_client.export.reconcile import fetch_counts, read_counts
from matomo_client.export.sites import SiteInfo, read_sites

RECORDED = Path(__file__).parent.parent / "recorded"


def _recorded(stem: str) -> Any:
    request = json.loads((RECORDED / f"{stem}.request.json").read_text(encoding="utf-8"))
    return json.loads((RECORDED / request["response_file"]).read_text(encoding="utf-8"))


@pytest.mark.parametrize(
    "stem",
    [
        "009_SitesManager.getSitesWithAtLeastViewAccess",
        "012_SitesManager.getSitesWithAtLeastViewAccess_viewer",
    ],
)
def test_recorded_sites_read_as_the_site_model_reads_them(stem: str) -> None:
    """Each recorded site list gives the ids and timezones that the `Site` model gives."""
    body = _recorded(stem)
    by_model = {s.id_site: s.timezone for s in SitesWithViewAccess().decode(body)}
    read = read_sites(body)
    assert by_model  # the recording holds sites
    assert {i: s.timezone for i, s in read.items()} == by_model
    assert all(s.id_site == i for i, s in read.items())


def test_sites_in_loose_shapes() -> None:
    """Ids as text, an empty timezone, and an empty answer as `{}` or `[]`."""
    body = [{"idsite": "7", "timezone": ""}, {"idsite": 3, "timezone": "UTC+5.5"}]
    assert read_sites(body) == {7: SiteInfo(7, None), 3: SiteInfo(3, "UTC+5.5")}
    assert read_sites({}) == {} == read_sites([])


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({"idsite": 1}, "expected a list of sites, got dict"),
        ([{"idsite": "one"}], "idsite is not an id: 'one'"),
        ([{"name": "no id"}], "idsite is not an id: None"),
        ([{"idsite": True}], "idsite is not an id: True"),
        (["1"], "expected a list of sites, got list"),
    ],
)
def test_a_site_list_of_another_shape_is_a_decode_error(body: Any, named: str) -> None:
    """A site list that is not one raises DecodeError naming what is wrong."""
    with pytest.raises(DecodeError, match=r"SitesManager\.getSitesWithAtLeastViewAccess") as e:
        read_sites(body)
    assert named in str(e.value)


@pytest.mark.parametrize(
    "stem",
    [
        "026_VisitsSummary.get_day_last7",
        "027_VisitsSummary.get_day_previous7",
        "028_VisitsSummary.get_day_daterange_multi",
        "161_site3.VisitsSummary.get_day_last7",
    ],
)
def test_recorded_daily_counts_read_as_the_summary_model_reads_them(stem: str) -> None:
    """Each recorded multi-day answer gives the nb_visits the `VisitsSummary` model gives."""
    body = _recorded(stem)
    series = VisitsSummarySeries(1, "day", DateRange.last(7)).decode(body)
    assert read_counts(body) == {day: s.nb_visits for day, s in series.items()}
    assert len(read_counts(body)) == len(body)


def test_counts_in_loose_shapes() -> None:
    """Counts as text or whole floats; a day without data (`[]`); no days at all (`[]`)."""
    body = {"2024-03-01": {"nb_visits": "23"}, "2024-03-02": [], "2024-03-03": {"nb_visits": 4.0}}
    assert read_counts(body) == {date(2024, 3, 1): 23, date(2024, 3, 2): 0, date(2024, 3, 3): 4}
    assert read_counts([]) == {}


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ([{"nb_visits": 1}], "expected an object keyed by day, got list"),
        ({"2024-03": {"nb_visits": 1}}, "not a day: '2024-03'"),
        ({"2024-03-01": {"nb_visits": "many"}}, "nb_visits of 2024-03-01 is not a count: 'many'"),
        ({"2024-03-01": {"nb_visits": 1.5}}, "nb_visits of 2024-03-01 is not a count: 1.5"),
        ({"2024-03-01": {"nb_visits": None}}, "nb_visits of 2024-03-01 is not a count: None"),
    ],
)
def test_counts_of_another_shape_are_a_decode_error(body: Any, named: str) -> None:
    """An answer that is not daily counts raises DecodeError naming what is wrong."""
    with pytest.raises(DecodeError, match=r"VisitsSummary\.get") as e:
        read_counts(body)
    assert named in str(e.value)


class _CappedCounts:
    """A client whose VisitsSummary.get keeps the newest 1825 days of a range, as Matomo does."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    async def call(self, method: str, params: Any) -> dict[str, Any]:
        asked = dict(params.items())["date"]
        self.asked.append(asked)
        a, b = (date.fromisoformat(d) for d in asked.split(","))
        days = [a + timedelta(days=i) for i in range((b - a).days + 1)][-1825:]
        return {d.isoformat(): {"nb_visits": d.day} for d in days}


@pytest.mark.anyio
async def test_counts_of_more_days_than_matomo_answers_at_once_are_all_read() -> None:
    """Five and a half years of days: every day's count comes, in requests within Matomo's cap
    (one request kept only the newest 1825 days, and the older ones read as mismatches)."""
    client = _CappedCounts()
    first, last = date(2020, 1, 1), date(2025, 6, 30)
    counts = await fetch_counts(client, 1, first, last, None)
    n = (last - first).days + 1
    assert len(counts) == n
    assert counts == {first + timedelta(days=i): (first + timedelta(days=i)).day for i in range(n)}
    assert len(client.asked) == 2
    assert client.asked[0] == "2020-01-01,2024-12-29"


@pytest.mark.anyio
async def test_counts_within_the_cap_take_one_request() -> None:
    """A range Matomo answers whole is still one request, dates as given."""
    client = _CappedCounts()
    await fetch_counts(client, 1, date(2024, 1, 1), date(2024, 3, 31), None)
    assert client.asked == ["2024-01-01,2024-03-31"]
