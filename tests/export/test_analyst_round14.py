"""Round 14 (analyst): Matomo's reports recomputed with SQL from an exported clickstream.

A DuckDB target holding `export visits` and `export reports` of the same days (site 1 in
UTC, site 2 in Europe/Berlin across the October DST change) must give the same figures
from the raw tables as the reports: these are the recipes the report of round 14 lists.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import duckdb
import pytest
from export_sandbox import sandbox_client as _client

from matomo_client.export import export_reports, export_visits
from matomo_client.sandbox import Sandbox, SandboxConfig

pytestmark = pytest.mark.anyio

TODAY = date(2026, 10, 28)
NOW = datetime(2026, 10, 28, 12, 0, tzinfo=timezone.utc)
START, END = date(2026, 10, 24), date(2026, 10, 26)  # Berlin leaves summer time on the 25th

# A visit's day is the day of its last action in the site's timezone (VisitsSummary, visit
# tables, entry and exit pages); an action's or conversion's day is its own (Actions, Events,
# Goals' conversions), and time spent on a page counts on the day of the next action. The
# visits are exported a day further: the next day's visits may have begun before midnight.
_VISITS = f"""
CREATE TEMP VIEW vd AS SELECT * FROM (SELECT *, CAST(CASE id_site
    WHEN 2 THEN timezone('Europe/Berlin', last_action_timestamp::TIMESTAMPTZ)
    ELSE last_action_timestamp END AS DATE) AS day FROM visits)
    WHERE day BETWEEN '{START}' AND '{END}';
CREATE TEMP VIEW ad AS SELECT *, CAST(CASE id_site
    WHEN 2 THEN timezone('Europe/Berlin', timestamp::TIMESTAMPTZ) ELSE timestamp END AS DATE)
    AS day, CAST(CASE id_site
    WHEN 2 THEN timezone('Europe/Berlin', (timestamp + to_seconds(time_spent))::TIMESTAMPTZ)
    ELSE timestamp + to_seconds(time_spent) END AS DATE) AS time_day FROM actions
"""


@pytest.fixture
def anyio_backend() -> str:
    """One backend is enough here."""
    return "asyncio"


@pytest.fixture
async def db(tmp_path: Path) -> duckdb.DuckDBPyConnection:
    """Visits and day reports of the same days, read back from DuckDB."""
    sb = Sandbox(SandboxConfig(seed=5, days=10, visits_per_day=60, today=TODAY))
    target = str(tmp_path / "a.duckdb")
    async with _client(sb) as m:
        await export_visits(
            m, sites=[1, 2], start=START, end=END + timedelta(days=1), target=target, now=NOW
        )
        await export_reports(
            m,
            sites=[1, 2],
            start=START,
            end=END,
            target=target,
            now=NOW,
            reports=[
                "VisitsSummary.get",
                "Actions.get",
                "Actions.getPageUrls",
                "Goals.get",
                "Referrers.getReferrerType",
            ],
        )
    con = duckdb.connect(target, read_only=True)
    con.sql("SET TimeZone = 'UTC'")
    con.sql(_VISITS)
    return con


def _diff(con: duckdb.DuckDBPyConnection, sql: str) -> list[tuple[object, ...]]:
    return con.sql(sql).fetchall()


async def test_visits_summary_from_visits(db: duckdb.DuckDBPyConnection) -> None:
    rows = _diff(
        db,
        """
        WITH mine AS (
          SELECT id_site, day, count(*) AS v, sum(actions) AS a, count(*) FILTER (actions = 1) AS b,
                 sum(visit_duration) AS l, max(actions) AS m, count(DISTINCT visitor_id) AS u,
                 count(*) FILTER (visit_converted = 1) AS c
          FROM vd GROUP BY ALL),
        rep AS (SELECT * FROM reports WHERE report = 'VisitsSummary.get')
        SELECT * FROM mine FULL JOIN rep ON rep.id_site = mine.id_site AND rep.date = mine.day
        WHERE (v, a, b, l, m, u, c) IS DISTINCT FROM (nb_visits, nb_actions, bounce_count,
              sum_visit_length, max_actions, nb_uniq_visitors, nb_visits_converted)
        """,
    )
    assert rows == []
    sites_days = db.sql("SELECT count(DISTINCT (id_site, day)) FROM vd").fetchall()
    assert sites_days == [(6,)]


async def test_page_urls_from_actions(db: duckdb.DuckDBPyConnection) -> None:
    rows = _diff(
        db,
        """
        WITH pv AS (
          SELECT *, url_decode(regexp_replace(url, '^[a-z]+://[^/]+', '')) AS label,
                 row_number() OVER (PARTITION BY id_site, id_visit ORDER BY position) AS n,
                 count(*) OVER (PARTITION BY id_site, id_visit) AS of
          FROM ad WHERE type = 'action'),
        hits AS (
          SELECT id_site, day, label, count(*) AS hits, count(DISTINCT id_visit) AS visits
          FROM pv GROUP BY ALL),
        spent AS (
          SELECT id_site, time_day AS day, label, sum(time_spent) AS t FROM pv GROUP BY ALL),
        ends AS (
          SELECT id_site, v.day, label, count(*) FILTER (n = 1) AS entries,
                 count(*) FILTER (n = of) AS exits
          FROM pv JOIN vd v USING (id_site, id_visit) GROUP BY ALL),
        mine AS (
          SELECT id_site, day, label, coalesce(hits, 0) AS hits, coalesce(visits, 0) AS visits,
                 coalesce(t, 0) AS t, coalesce(entries, 0) AS entries,
                 coalesce(exits, 0) AS exits
          FROM hits FULL JOIN spent USING (id_site, day, label)
          FULL JOIN ends USING (id_site, day, label)
          WHERE day BETWEEN (SELECT min(day) FROM vd) AND (SELECT max(day) FROM vd)),
        rep AS (
          SELECT id_site, date AS day, label, nb_hits, nb_visits, sum_time_spent,
                 coalesce(entry_nb_visits, 0) AS e, coalesce(exit_nb_visits, 0) AS x
          FROM reports WHERE report = 'Actions.getPageUrls')
        SELECT * FROM mine FULL JOIN rep USING (id_site, day, label)
        WHERE (hits, visits, t, entries, exits)
              IS DISTINCT FROM (nb_hits, nb_visits, sum_time_spent, e, x)
        """,
    )
    assert rows == []
    across = db.sql(
        "SELECT count(*) FROM ad JOIN vd v USING (id_site, id_visit) WHERE ad.day <> v.day"
    ).fetchall()
    assert across[0][0] > 0  # actions of visits across midnight are covered


async def test_goals_and_keywords_from_actions(db: duckdb.DuckDBPyConnection) -> None:
    rows = _diff(
        db,
        """
        WITH conv AS (
          SELECT id_site, day, count(*) AS n, round(sum(revenue), 2) AS r FROM ad
          WHERE type IN ('goal', 'ecommerceOrder') GROUP BY ALL),
        converted AS (
          SELECT id_site, day, count(*) FILTER (visit_converted = 1) AS vc FROM vd GROUP BY ALL),
        mine AS (SELECT * FROM conv FULL JOIN converted USING (id_site, day)
          WHERE day BETWEEN (SELECT min(day) FROM vd) AND (SELECT max(day) FROM vd)),
        rep AS (
          SELECT id_site, date AS day, nb_conversions, nb_visits_converted,
                 round(revenue, 2) AS revenue
          FROM reports WHERE report = 'Goals.get' AND report_params = '')
        SELECT * FROM mine FULL JOIN rep USING (id_site, day)
        WHERE (coalesce(n, 0), coalesce(vc, 0), coalesce(r, 0))
              IS DISTINCT FROM (nb_conversions, nb_visits_converted, revenue)
        """,
    )
    assert rows == []
    rows = _diff(
        db,
        """
        WITH mine AS (
          SELECT id_site, day, count(*) AS s, count(DISTINCT site_search_keyword) AS k
          FROM ad WHERE type = 'search'
            AND day BETWEEN (SELECT min(day) FROM vd) AND (SELECT max(day) FROM vd)
          GROUP BY ALL),
        rep AS (
          SELECT id_site, date AS day, (metrics->>'nb_searches')::INT AS s2,
                 (metrics->>'nb_keywords')::INT AS k2
          FROM reports WHERE report = 'Actions.get')
        SELECT * FROM mine FULL JOIN rep USING (id_site, day)
        WHERE (coalesce(s, 0), coalesce(k, 0)) IS DISTINCT FROM (s2, k2)
        """,
    )
    assert rows == []


async def test_referrer_types_from_visits(db: duckdb.DuckDBPyConnection) -> None:
    rows = _diff(
        db,
        """
        WITH mine AS (
          SELECT id_site, day, CASE referrer_type WHEN 'direct' THEN 'Direct Entry'
                 WHEN 'search' THEN 'Search Engines' WHEN 'website' THEN 'Websites'
                 WHEN 'campaign' THEN 'Campaigns' WHEN 'social' THEN 'Social Networks' END AS t,
                 count(*) AS n
          FROM vd GROUP BY ALL),
        rep AS (
          SELECT id_site, date AS day, split_part(label, ' - ', 1) AS t, sum(nb_visits) AS n2
          FROM reports WHERE report = 'Referrers.getReferrerType' GROUP BY ALL)
        SELECT * FROM mine FULL JOIN rep USING (id_site, day, t) WHERE n IS DISTINCT FROM n2
        """,
    )
    assert rows == []
