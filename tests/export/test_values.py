"""Values as Matomo sent them: text stays text, numbers exact, NULL apart from the empty text."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import duckdb

from matomo_client.export import open_target
from matomo_client.export.coerce import as_number
from matomo_client.export.rows import build_report_rows, build_visit_batches
from matomo_client.export.state import DONE, JobInfo, WindowRecord, fingerprint

RECORDED = Path(__file__).parent.parent / "recorded"
VISIT = json.loads(
    (RECORDED / "049_Live.getLastVisitsDetails_limit5_offset0.response.json").read_text()
)[0]


def _report(rows: list[dict[str, Any]]) -> dict[str, list[Any]]:
    return build_report_rows(1, "day", date(2026, 11, 1), "Events.getCategory", "", rows).columns


def test_a_flattened_row_s_dimensions_stay_text_however_numeric() -> None:
    """`Events_EventAction: "007"` is the action's name, not the metric 7.0: it stays in `extra`
    as sent, like any other action name, and `metrics` gets only the row's numbers."""
    cols = _report(
        [
            {"label": "Video - 007", "nb_visits": 2, "Events_EventAction": "007", "x_rate": "5%"},
            {"label": "Video - Play", "nb_visits": 1, "Events_EventAction": "Play"},
        ]
    )
    assert cols["extra"] == [{"Events_EventAction": "007"}, {"Events_EventAction": "Play"}]
    assert cols["metrics"] == [{"x_rate": 0.05}, None]


def test_repeated_labels_get_a_suffix_no_other_row_has() -> None:
    """A repeated label is numbered past the labels the report already has, so (report, label)
    still names one row: "X", "X", "X (2)" give "X", "X (3)", "X (2)"."""
    cols = _report([{"label": "X", "nb_visits": n} for n in (1, 2)] + [{"label": "X (2)"}])
    assert cols["label"] == ["X", "X (3)", "X (2)"]


def test_a_metric_that_is_not_a_number_is_kept_in_extra() -> None:
    """A declared metric Matomo sends as something else than a number is NULL in its column
    and kept in `extra`, as visits keep what cannot be coerced, instead of vanishing."""
    cols = _report([{"label": "a", "nb_visits": "n/a", "bounce_rate": "46%"}])
    assert cols["nb_visits"] == [None]
    assert cols["bounce_rate"] == [0.46]
    assert cols["extra"] == [{"nb_visits": "n/a"}]


def test_a_percentage_is_the_double_nearest_to_its_fraction() -> None:
    """`"22.58%"` is stored as 0.2258 (the double a warehouse reads for 0.2258), not as
    22.58 / 100 = 0.22579999999999997."""
    for text, value in [("22.58%", 0.2258), ("15.38%", 0.1538), ("46%", 0.46), ("-3.5%", -0.035)]:
        assert as_number(text) == value
    assert _report([{"label": "a", "conversion_rate": "11.11%"}])["conversion_rate"] == [0.1111]


def test_csv_keeps_null_apart_from_the_empty_text(tmp_path: Path) -> None:
    """In CSV an empty text is `""` and NULL an empty field, so that a loader can tell them
    apart (Matomo's `referrerKeyword: ""` is not its `userId: null`)."""
    visit = dict(VISIT, referrerKeyword="", userId=None, referrerName='a,"b"\nc')
    target = str(tmp_path / "x.csv")
    params = {"kind": "visits", "sites": [1]}
    with open_target(target) as sink:
        sink.start_job(JobInfo("visits", params, fingerprint(params)), restart=False)
        visits, actions = build_visit_batches([visit])
        rec = WindowRecord("visits", 1, date(2026, 11, 29), DONE, 1, len(actions), bounds=None)
        sink.write_window("visits", [rec], [visits, actions])
        sink.finish()
    path = str(tmp_path / "x.visits.csv")
    row = duckdb.sql(
        f"SELECT referrer_keyword, user_id, referrer_name, visit_count FROM read_csv('{path}', "
        "all_varchar = true, allow_quoted_nulls = false)"
    ).fetchall()
    assert row == [("", None, 'a,"b"\nc', str(VISIT["visitCount"]))]
