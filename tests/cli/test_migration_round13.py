"""A migrating user who changes the command against a target that holds an export (QA round 13).

The refusal said "pass --restart to start over", which reads as harmless; `--restart` first
deletes every row that export wrote there (two years of backfill, for a new cron's range).
The line now says what it deletes.
"""

from __future__ import annotations

import duckdb
import pytest

from .conftest import invoke, one_error_line

DAYS = ["--from", "last3", "--to", "yesterday"]


def test_other_options_say_what_restart_deletes_for_visits() -> None:
    first = invoke(["export", "visits", "--sandbox", "--site", "1", *DAYS, "--out", "v.duckdb"])
    assert first.exit_code == 0, first.stderr
    again = invoke(["export", "visits", "--sandbox", "--site", "1", "--from", "yesterday",
                    "--to", "today", "--out", "v.duckdb"])  # fmt: skip
    assert again.exit_code == 2
    line = one_error_line(again.stderr)
    assert "made with other options (from: 'last3' -> 'yesterday', to: 'yesterday' -> " in line
    assert line.endswith(
        "re-run with the same options to resume it, or pass --restart to delete the visits "
        "and actions it holds and start over"
    )
    with duckdb.connect("v.duckdb") as db:  # the refusal itself kept everything
        assert db.execute("SELECT count(*) FROM visits").fetchone() != (0,)


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
