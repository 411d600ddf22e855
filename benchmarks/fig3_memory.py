"""Figure 3: peak RSS of the export for 50k vs 500k visits (streaming to the sink).

The sandbox serves from two processes of its own (no latency: rendering visits in Python bounds
its answers, so a second process shortens the figure); `matomo export visits` (CLI, default
DuckDB target, default settings) runs as a child process; its peak RSS and its worker
processes' peaks (VmHWM, sampled) are added up. The two exports have the same days (one
site, 2,500 visits/day nominal) and differ only in how many days they cover (20 vs 200), so
a streaming exporter should peak at the same size for both. Run alone:
.venv/bin/python benchmarks/fig3_memory.py (`run(10, 100)` is a quicker, scaled check:
25k vs 250k visits).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from _harness import Figure, bench_server, day, matomo_cli, run_process, standalone

VISITS_PER_DAY = 2500
SMALL_DAYS, BIG_DAYS = 20, 200
TARGET = 1.2


def run(small_days: int = SMALL_DAYS, big_days: int = BIG_DAYS) -> Figure:
    """Measure and return figure 3 (other day counts give a scaled check, not the figure)."""
    rows: list[list[object]] = []
    peaks: dict[int, float] = {}
    with (
        tempfile.TemporaryDirectory() as tmp,
        bench_server(days=big_days + 1, visits_per_day=VISITS_PER_DAY, processes=2) as server,
    ):
        for days in (small_days, big_days):
            out = Path(tmp) / f"m{days}.duckdb"
            args = ["export", "visits", "--url", server.url, "--site", "1"]
            args += ["--from", day(days).isoformat(), "--to", day(1).isoformat()]
            args += ["--out", str(out), "--quiet"]
            server.reset()
            r = run_process(matomo_cli(*args)).check("matomo export visits")
            visits = _count(out)
            peaks[days] = r.max_rss_mb + r.children_rss_mb
            rows.append(
                [
                    f"{days} days",
                    visits,
                    round(r.max_rss_mb),
                    round(r.children_rss_mb),
                    round(peaks[days]),
                    round(r.seconds, 1),
                    out.stat().st_size // 2**20,
                ]
            )
    ratio = peaks[big_days] / peaks[small_days]
    return Figure(
        3,
        "Peak memory, 50k vs 500k visits",
        f"peak RSS(500k) <= {TARGET}x peak RSS(50k)",
        f"{ratio:.2f}x ({peaks[small_days]:.0f} MB vs {peaks[big_days]:.0f} MB)",
        ratio <= TARGET,
        [
            "export",
            "visits",
            "exporter peak RSS MB",
            "workers' peak RSS MB",
            "total MB",
            "wall s",
            "DuckDB file MB",
        ],
        rows,
        notes=[
            f"One site, {VISITS_PER_DAY:,} visits/day nominal (weekends 0.85), default settings "
            "(DuckDB, --concurrency 4, page size 1000). Total: the exporting process's peak RSS "
            "plus each of its worker processes' peak (they decode pages and build rows), "
            "sampled every 20 ms.",
        ],
        data={"peak_mb": peaks, "ratio": ratio},
    )


def _count(path: Path) -> int:
    import duckdb

    with duckdb.connect(str(path), read_only=True) as db:
        row = db.execute("select count(*) from visits").fetchone()
    return int(row[0]) if row else 0


if __name__ == "__main__":
    standalone(run)
