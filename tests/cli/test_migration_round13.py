"""A migrating user who changes the command against a target that holds an export (QA round 13).

The refusal said "pass --restart to start over", which reads as harmless; `--restart` first
deletes every row that export wrote there (two years of backfill, for a new cron's range).
The line now says what it deletes. Another range or other sites are no longer refused: a
window is one site's day whatever the range, so a backfill then a daily cron share a target.
"""

from __future__ import annotations

import duckdb
import pytest

from .conftest import invoke, one_error_line

DAYS = ["--from", "last3", "--to", "yesterday"]


def test_other_options_say_what_restart_deletes_for_visits() -> None:
    first = invoke(["export", "visits", "--sandbox", "--site", "1", *DAYS, "--out", "v.duckdb"])
    assert first.exit_code == 0, first.stderr
    again = invoke(["export", "visits", "--sandbox", "--site", "1", *DAYS,
                    "--segment", "visitorType==new", "--out", "v.duckdb"])  # fmt: skip
    assert again.exit_code == 2
    line = one_error_line(again.stderr)
    assert "made with other options (segment: None -> 'visitorType==new')" in line
    assert line.endswith(
        "re-run with the same options to resume it, or pass --restart to delete the visits "
        "and actions it holds and start over"
    )
    with duckdb.connect("v.duckdb") as db:  # the refusal itself kept everything
        assert db.execute("SELECT count(*) FROM visits").fetchone() != (0,)


def test_a_backfill_then_a_daily_range_goes_on_in_the_same_target() -> None:
    """A backfill, then the cron's own range and another site: no --restart, nothing twice."""
    first = invoke(["export", "visits", "--sandbox", "--site", "1", *DAYS, "--out", "v.duckdb"])
    assert first.exit_code == 0, first.stderr
    cron = invoke(["export", "visits", "--sandbox", "--site", "1,2", "--from", "yesterday",
                   "--to", "today", "--out", "v.duckdb", "--json"])  # fmt: skip
    assert cron.exit_code == 0, cron.stderr
    with duckdb.connect("v.duckdb") as db:
        twice = db.execute(
            "SELECT count(*) FROM (SELECT id_site, id_visit FROM visits "
            "GROUP BY ALL HAVING count(*) > 1)"
        ).fetchone()
        sites = db.execute("SELECT DISTINCT id_site FROM visits ORDER BY 1").fetchall()
        days = db.execute(
            "SELECT count(*) FROM _matomo_export WHERE kind = 'visits' AND id_site = 1 "
            "AND status <> 'job'"
        ).fetchone()
    assert twice == (0,)
    assert sites == [(1,), (2,)]
    assert days == (3,)  # last3..yesterday (two days), then today


@pytest.mark.parametrize("period", ["week", "month"])
def test_other_options_say_what_restart_deletes_for_reports(period: str) -> None:
    base = ["export", "reports", "--sandbox", "--site", "1", *DAYS, "--period", period]
    first = invoke([*base, "--report", "VisitsSummary.get", "--out", "r.jsonl"])
    assert first.exit_code == 0, first.stderr
    again = invoke([*base, "--report", "Actions.getPageUrls", "--out", "r.jsonl", "--json"])
    assert again.exit_code == 2
    assert f"pass --restart to delete the {period} reports it holds and start over" in (
        one_error_line(again.stderr)
    )
    assert f'delete the {period} reports it holds and start over"' in again.stdout
