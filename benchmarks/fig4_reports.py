"""Figure 4: HTTP round trips of a reports export vs one call per report per day.

10 reports x 365 days, `--period day`, one site, sandbox in its own process counting the
requests it serves. Ours: `matomo export reports` (CLI, DuckDB target). Baseline: one
`period=day&date=D` call per report per day (`flat=1`, `filter_limit=-1`), sequential, as most
report exporters do. Rows are compared after both go through the same row builder.
Run alone: .venv/bin/python benchmarks/fig4_reports.py
"""

from __future__ import annotations

import tempfile
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import httpx
import orjson
from _harness import TOKEN, Figure, Server, bench_server, day, matomo_cli, run_process, standalone

from matomo_client.export.rows import build_report_rows

REPORTS = (
    "Actions.getPageUrls",
    "Actions.getPageTitles",
    "Actions.getDownloads",
    "Actions.getOutlinks",
    "Referrers.getReferrerType",
    "Referrers.getAll",
    "Referrers.getWebsites",
    "UserCountry.getCountry",
    "DevicesDetection.getBrowsers",
    "Events.getCategory",
)
DAYS = 365
VISITS_PER_DAY = 20
TARGET = 10.0
Row = tuple[Any, ...]
COLUMNS = ("date", "report", "label", "nb_visits", "nb_hits", "nb_actions")


def _baseline(server: Server) -> tuple[set[Row], int]:
    rows: set[Row] = set()
    n = 0
    with httpx.Client(base_url=server.url, timeout=60) as client:
        for i in range(DAYS, 0, -1):
            d = day(i)
            for report in REPORTS:
                form = {
                    "module": "API",
                    "method": report,
                    "format": "JSON",
                    "idSite": "1",
                    "period": "day",
                    "date": d.isoformat(),
                    "flat": "1",
                    "filter_limit": "-1",
                    "token_auth": TOKEN,
                }
                r = client.post("index.php", data=form)
                r.raise_for_status()
                value = orjson.loads(r.content)
                data = value if isinstance(value, list) else []
                batch = build_report_rows(1, "day", d, report, "", data)
                n += len(batch)
                rows |= _tuples(batch.columns)
    return rows, n


def _tuples(cols: dict[str, list[Any]]) -> set[Row]:
    return set(zip(*(cols[c] for c in COLUMNS), strict=True))


def _ours(path: Path) -> tuple[set[Row], int]:
    with duckdb.connect(str(path), read_only=True) as db:
        got = db.execute(f"select {', '.join(COLUMNS)} from reports").fetchall()
    rows = {(date.fromisoformat(str(r[0])[:10]), *r[1:]) for r in got}
    return rows, len(got)


def run() -> Figure:
    """Measure and return figure 4."""
    with (
        tempfile.TemporaryDirectory() as tmp,
        bench_server(days=DAYS + 1, visits_per_day=VISITS_PER_DAY) as server,
    ):
        out = Path(tmp) / "reports.duckdb"
        args = ["export", "reports", "--url", server.url, "--site", "1", "--period", "day"]
        args += ["--from", day(DAYS).isoformat(), "--to", day(1).isoformat()]
        for report in REPORTS:
            args += ["--report", report]
        args += ["--out", str(out), "--quiet"]
        server.reset()
        ours_run = run_process(matomo_cli(*args)).check("matomo export reports")
        ours_stats = server.stats()
        ours_rows, ours_n = _ours(out)
        server.reset()
        import time

        start = time.perf_counter()
        base_rows, base_n = _baseline(server)
        base_s = time.perf_counter() - start
        base_stats = server.stats()
    same = ours_rows == base_rows
    ratio = base_stats["requests"] / ours_stats["requests"]
    rows = [
        ["one call per report per day", base_stats["requests"], base_n, round(base_s, 1), "1x"],
        [
            "matomo export reports",
            ours_stats["requests"],
            ours_n,
            round(ours_run.seconds, 1),
            f"{ratio:.0f}x fewer",
        ],
    ]
    methods = ", ".join(f"{k} {v}" for k, v in sorted(ours_stats["methods"].items()))
    return Figure(
        4,
        "Round trips for reports (10 reports x 365 days)",
        f">= {TARGET:.0f}x fewer HTTP requests (counted at the sandbox), same rows",
        f"{ratio:.0f}x fewer ({ours_stats['requests']} vs {base_stats['requests']}); "
        f"same rows: {'yes' if same else 'NO'}",
        ratio >= TARGET and same,
        ["run", "HTTP requests", "rows", "wall s", "requests"],
        rows,
        notes=[
            f"Our requests by method: {methods}. Reports go {31} days per multi-period request, "
            "all reports of a chunk in one API.getBulkRequest.",
            f"Rows compared on ({', '.join(COLUMNS)}): {len(ours_rows ^ base_rows)} differ.",
        ],
        data={
            "ours": ours_stats["requests"],
            "baseline": base_stats["requests"],
            "ratio": ratio,
            "same_rows": same,
            "rows": ours_n,
        },
    )


if __name__ == "__main__":
    standalone(run)
