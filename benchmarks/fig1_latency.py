"""Figure 1: latency-bound export vs sequential filter_offset paging.

The sandbox runs in its own process with 50 ms latency per request, 60 days x 2 sites x
200 visits/day (nominal: site 2 gets 0.7 of it, weekends 0.85). `matomo export visits` (CLI,
default target DuckDB; default settings, then `--concurrency 8`) against
`baseline_offset.py` (whole range, one request at a time), same page size, same visits.

Each command runs once cold (the sandbox renders every visit in Python, which on one core
dominates) and then warm (`--cache`: repeats are answered from memory after the same 50 ms,
so the server is what the figure is about: one that answers in 50 ms). The headline is warm.
Run alone: .venv/bin/python benchmarks/fig1_latency.py
"""

from __future__ import annotations

import json
import sys
import tempfile
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import orjson
from _harness import (
    HERE,
    Figure,
    Run,
    Server,
    bench_server,
    day,
    matomo_cli,
    run_process,
    standalone,
)

DAYS = 60
VISITS_PER_DAY = 200
LATENCY_MS = 50
PAGE_SIZE = 1000  # the CLI's default --page-size
SITES = {1: "UTC", 2: "Europe/Berlin"}
TARGET = 5.0


def first_day() -> str:
    """The first exported day (the range ends at the sandbox's yesterday)."""
    return day(DAYS).isoformat()


def last_day() -> str:
    """The last exported day."""
    return day(1).isoformat()


def owned(id_site: int, ts: int) -> bool:
    """Whether a visit's last action falls inside the exported days in the site's timezone."""
    tz = ZoneInfo(SITES[id_site])
    start = datetime.fromisoformat(first_day()).replace(tzinfo=tz)
    end = datetime.fromisoformat(last_day()).replace(tzinfo=tz) + timedelta(days=1)
    return int(start.timestamp()) <= ts < int(end.timestamp())


def run_ours(server: Server, out: Path, *extra: str, page_size: int = PAGE_SIZE) -> Run:
    """`matomo export visits` into a fresh DuckDB file."""
    args = ["export", "visits", "--url", server.url, "--site", "1,2", "--from", first_day()]
    args += ["--to", last_day(), "--out", str(out), "--quiet", *extra]
    if page_size != PAGE_SIZE:
        args += ["--page-size", str(page_size)]
    return run_process(matomo_cli(*args)).check("matomo export visits")


def run_baseline(server: Server, out: Path, page_size: int = PAGE_SIZE) -> Run:
    """The sequential filter_offset exporter into JSONL."""
    args = ["--url", server.url, "--site", "1,2", "--from", first_day(), "--to", last_day()]
    args += ["--page-size", str(page_size), "--out", str(out)]
    return run_process([sys.executable, str(HERE / "baseline_offset.py"), *args]).check("baseline")


def ours_visits(path: Path) -> set[tuple[int, int]]:
    """(id_site, id_visit) of every exported visit."""
    with duckdb.connect(str(path), read_only=True) as db:
        return {
            (int(s), int(v))
            for s, v in db.execute("select id_site, id_visit from visits").fetchall()
        }


def baseline_visits(path: Path) -> tuple[set[tuple[int, int]], int]:
    """(id_site, id_visit) of the baseline's visits inside the days, and the rows outside."""
    keep: set[tuple[int, int]] = set()
    outside = 0
    with open(path, "rb") as f:
        for line in f:
            v = orjson.loads(line)
            key = (int(v["idSite"]), int(v["idVisit"]))
            if owned(key[0], int(v["lastActionTimestamp"])):
                keep.add(key)
            else:
                outside += 1
    return keep, outside


@dataclass(frozen=True)
class Variant:
    """One command of the figure: baseline or ours, with its page size and concurrency."""

    name: str
    ours: bool
    page_size: int = PAGE_SIZE
    concurrency: int | None = None  # None: the CLI's default

    def go(self, server: Server, path: Path) -> Run:
        """Run it once into a fresh target."""
        for old in path.parent.glob(path.name + "*"):
            old.unlink()
        if not self.ours:
            return run_baseline(server, path, self.page_size)
        extra = () if self.concurrency is None else ("--concurrency", str(self.concurrency))
        return run_ours(server, path, *extra, page_size=self.page_size)


BASELINE = Variant("baseline (sequential filter_offset)", False)
OURS_DEFAULT = Variant("ours, default settings (--concurrency 4)", True)
OURS_8 = Variant("ours --concurrency 8", True, concurrency=8)
BASELINE_100 = Variant("baseline, page size 100", False, page_size=100)
OURS_8_100 = Variant("ours --concurrency 8, page size 100", True, page_size=100, concurrency=8)


def run() -> Figure:
    """Measure and return figure 1."""
    rows: list[list[object]] = []
    data: dict[str, object] = {}
    with (
        tempfile.TemporaryDirectory() as tmp,
        bench_server(
            days=DAYS + 1, visits_per_day=VISITS_PER_DAY, latency_ms=LATENCY_MS, cache=True
        ) as server,
    ):
        t = Path(tmp)
        paths = {}
        results: dict[tuple[str, str], tuple[Run, dict[str, object]]] = {}

        def measure(v: Variant, phase: str) -> None:
            path = paths.setdefault(v.name, t / f"{len(paths)}.{'duckdb' if v.ours else 'jsonl'}")
            server.reset()
            r = v.go(server, path)
            results[(v.name, phase)] = (r, server.stats())

        # Cold: the server renders each page for the first time (a CPU-bound sandbox); this
        # also fills the cache. OURS_DEFAULT asks for the same pages as OURS_8.
        for v in (BASELINE, OURS_8, BASELINE_100, OURS_8_100):
            measure(v, "cold")
        # Warm: every page is served from memory after 50 ms (latency-bound).
        for v in (BASELINE, OURS_DEFAULT, OURS_8, BASELINE_100, OURS_8_100):
            measure(v, "warm")

        base_set, outside = baseline_visits(paths[BASELINE.name])
        sets_equal = {}
        for v in (BASELINE, OURS_DEFAULT, OURS_8, BASELINE_100, OURS_8_100):
            got = ours_visits(paths[v.name]) if v.ours else baseline_visits(paths[v.name])[0]
            sets_equal[v.name] = (len(got), got == base_set)
        for (name, phase), (r, stats) in results.items():
            if phase == "cold" and name not in (BASELINE.name, OURS_8.name):
                continue
            base = BASELINE_100 if "page size 100" in name else BASELINE
            base_run = results[(base.name, phase)][0]
            methods = stats.get("methods", {})
            live = methods.get("Live.getLastVisitsDetails", 0) if isinstance(methods, dict) else 0
            visits, same = sets_equal[name]
            rows.append(
                [
                    f"{name}, {phase}",
                    visits,
                    same,
                    stats.get("requests", 0),
                    live,
                    round(r.seconds, 2),
                    f"{base_run.seconds / r.seconds:.2f}x",
                ]
            )
            data[f"{name}, {phase}"] = {
                "seconds": r.seconds,
                "requests": stats.get("requests"),
                "live_requests": live,
                "visits": visits,
                "same_visits": same,
                "speedup": base_run.seconds / r.seconds,
            }
        speedup = (
            results[(BASELINE.name, "warm")][0].seconds / results[(OURS_8.name, "warm")][0].seconds
        )
        same8 = sets_equal[OURS_8.name][1] and sets_equal[OURS_DEFAULT.name][1]
        data["speedup_c8"] = speedup
        data["baseline_rows_outside_days"] = outside
    met = speedup >= TARGET and bool(same8)
    return Figure(
        1,
        "Latency-bound export (50 ms/request)",
        f">= {TARGET:.0f}x faster than sequential filter_offset at --concurrency 8, same visits",
        f"{speedup:.2f}x (warm, page {PAGE_SIZE}); same visits: {'yes' if same8 else 'NO'}",
        met,
        ["run", "visits", "same visit set", "requests", "Live requests", "wall s", "speed-up"],
        rows,
        notes=[
            f"{DAYS} days x 2 sites x {VISITS_PER_DAY} visits/day nominal; same page size for "
            "both sides of each comparison; wall time of the whole command (process start-up "
            "included); the speed-up is against the baseline with the same page size and phase.",
            "Cold runs: the sandbox renders every visit in Python (~0.17 ms each) on one core, so "
            "the server, not the latency, bounds them; warm runs are served from memory after "
            f"the same {LATENCY_MS} ms, which is the latency-bound setting the target is about.",
            f"The baseline's range query also returned {outside} visit(s) whose last action is "
            "after the last day's midnight (Matomo's day bounds are inclusive); they are left out "
            "of the comparison.",
        ],
        data=json.loads(json.dumps(data, default=str)),
    )


if __name__ == "__main__":
    standalone(run)
