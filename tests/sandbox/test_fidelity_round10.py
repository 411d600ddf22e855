"""Round 10 fidelity: the sandbox reads relative dates in the site's timezone, as Matomo does."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import Any

import pytest
from sandbox_support import api_json, client_for

from matomo_client.sandbox import Sandbox, SandboxConfig
from matomo_client.sandbox.records import local_midnight


def _berlin_just_after_midnight(monkeypatch: pytest.MonkeyPatch) -> tuple[Sandbox, date]:
    """A sandbox on the real clock at 23:50 UTC: 00:50 of the next day in Berlin (site 2)."""
    from matomo_client.sandbox import app

    sb = Sandbox(SandboxConfig(days=3, visits_per_day=500))
    utc_today = sb.world.today
    late = datetime(utc_today.year, utc_today.month, utc_today.day, 23, 50, tzinfo=timezone.utc)
    monkeypatch.setattr(app, "now_utc", lambda: int(late.timestamp()))
    return sb, utc_today


def _visits(summary: Any) -> int:
    return int(summary["nb_visits"]) if isinstance(summary, dict) else 0


@pytest.mark.anyio
async def test_today_is_the_sites_own_date_on_the_real_clock(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """At 00:50 in Berlin, `date=today` on the Berlin site is Berlin's new day with its first
    visits and `yesterday` the day that just ended (matomo-api-notes: "For one site, relative
    keywords use the site's timezone; for several sites, UTC"); it was the UTC date, and the
    new Berlin day had no visits until midnight UTC."""
    sb, utc_today = _berlin_just_after_midnight(monkeypatch)
    berlin_today = utc_today + timedelta(days=1)
    async with client_for(sb) as client:

        async def summary(id_site: str, when: str) -> Any:
            return await api_json(
                client, method="VisitsSummary.get", idSite=id_site, period="day", date=when
            )

        today = await summary("2", "today")
        explicit = await summary("2", berlin_today.isoformat())
        yesterday = await summary("2", "yesterday")
        ended = await summary("2", utc_today.isoformat())
        several = await summary("1,2", "today")
        live = await api_json(
            client, method="Live.getLastVisitsDetails", idSite=2, period="day", date="today",
            filter_limit=-1,
        )  # fmt: skip
    assert _visits(explicit) > 0
    assert today == explicit
    assert yesterday == ended
    assert _visits(several["2"]) == _visits(ended)  # several sites: the UTC date
    midnight = local_midnight(berlin_today, "Europe/Berlin")
    assert any(v["lastActionTimestamp"] >= midnight for v in live)


def test_a_fixed_today_is_every_sites_today() -> None:
    """With `today` configured (tests, benchmarks), every site's today is that date and the
    data of a seed does not change."""
    sb = Sandbox(SandboxConfig(today=date(2026, 11, 29), days=3, visits_per_day=40))
    assert sb.world.site_today(1) == sb.world.site_today(2) == date(2026, 11, 29)
    assert sb.world.visit_count(2, date(2026, 11, 30)) == 0


@pytest.mark.anyio
async def test_a_summary_cut_to_one_column_is_a_bare_value_per_period() -> None:
    """Matomo renders a simple table of one column as its value: `{"value": 23}` alone
    (recording 035), `{"2026-11-27": 27, ...}` over several periods (recording 039's
    getVisits is that report); the sandbox nested `{"value": ...}` in each period, and a
    `hideColumns` that left one column kept its name."""
    sb = Sandbox(SandboxConfig(days=5, visits_per_day=20))
    async with client_for(sb) as client:
        many = await api_json(
            client, method="VisitsSummary.get", idSite="1", period="day", date="previous3",
            columns="nb_visits",
        )  # fmt: skip
        alone = await api_json(
            client, method="VisitsSummary.get", idSite="1", period="day", date="yesterday",
            columns="nb_visits",
        )  # fmt: skip
        sites = await api_json(
            client, method="VisitsSummary.get", idSite="1,2", period="day", date="yesterday",
            columns="nb_visits",
        )  # fmt: skip
        full = await api_json(
            client, method="VisitsSummary.get", idSite="1", period="day", date="yesterday"
        )
        hidden = await api_json(
            client, method="VisitsSummary.get", idSite="1", period="day", date="yesterday",
            hideColumns=",".join(k for k in full if k != "nb_actions"),
        )  # fmt: skip
    assert len(many) == 3
    assert all(isinstance(v, int) and v > 0 for v in many.values())
    assert alone == {"value": full["nb_visits"]}
    assert sites == {"1": full["nb_visits"], "2": sites["2"]}
    assert isinstance(sites["2"], int)
    assert hidden == {"value": full["nb_actions"]}


@pytest.mark.anyio
async def test_a_single_page_lookup_has_no_segment_nor_page_performance_columns() -> None:
    """Matomo adds `segment` and the page performance columns to getPageUrls/getPageTitles
    only; `Actions.getPageUrl`/`getPageTitle` rows have neither (recordings 089, 090), also
    over several periods."""
    sb = Sandbox(SandboxConfig(days=5, visits_per_day=30))
    async with client_for(sb) as client:
        urls = await api_json(
            client, method="Actions.getPageUrls", idSite="1", period="day", date="yesterday",
            flat="1",
        )  # fmt: skip
        url = next(r["url"] for r in urls if r.get("url"))
        assert "segment" in urls[0]
        assert "avg_time_network" in urls[0]
        one = await api_json(
            client, method="Actions.getPageUrl", idSite="1", period="day", date="yesterday",
            pageUrl=url,
        )  # fmt: skip
        days = await api_json(
            client, method="Actions.getPageUrl", idSite="1", period="day", date="last2",
            pageUrl=url,
        )  # fmt: skip
    rows = [*one, *(r for v in days.values() for r in v)]
    assert rows
    for row in rows:
        assert "segment" not in row
        perf = ("network", "server", "transfer", "dom_processing", "dom_completion", "on_load")
        assert not [k for k in row if k.split("_time_")[-1] in perf or "_with_time_" in k]
        assert "avg_page_load_time" not in row
        assert "nb_hits" in row
        assert "avg_time_on_page" in row  # an Actions metric, not a page performance one
