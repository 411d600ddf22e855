"""Figure 1: latency-bound export vs sequential filter_offset paging.

The sandbox runs in its own process with 50 ms latency per request, 60 days x 2 sites x
200 visits/day (nominal: site 2 gets 0.7 of it, weekends 0.85). `matomo export visits` (CLI,
default target DuckDB; default settings, then `--concurrency 8`) against
`baseline_offset.py` (whole range, one request at a time), same page size, same visits.

Every command first runs once untimed and without latency, which puts its pages in the bench
server's cache (the sandbox renders visits in Python, ~0.17 ms each: on a shared core that, not
the network, would bound a first run). Then every command runs timed and warm (`--cache`:
answers come from memory after the same 50 ms, so the server is what the figure is about: one
that answers in 50 ms), twice, the commands interleaved, each time into a new target; each row
is the faster of its two runs (this machine's speed drifts, so one slow run would move a ratio).
One verdict per page size, each next to the latency-only lower bound of both sides
(requests / concurrency x 50 ms): what the network allows at best.
Run alone: .venv/bin/python benchmarks/fig1_latency.py
"""

from __future__ import annotations

import json
import sys
import tempfile
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import anyio
import duckdb
import orjson
from _harness import (
    HERE,
    TOKEN,
    Figure,
    Run,
    Server,
    bench_server,
    cpu_count,
    day,
    matomo_cli,
    run_process,
    standalone,
)

DAYS = 60
VISITS_PER_DAY = 200
LATENCY_MS = 50
PAGE_SIZE = 1000  # the CLI's default --page-size
ROUNDS = 2  # timed runs of each command, interleaved; a row shows the fastest
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


async def fill_ours(url: str, out: Path, page_size: int, concurrency: int) -> None:
    """The requests `run_ours` makes, in this process into JSONL (the cheapest sink): untimed."""
    from matomo_client import AsyncMatomo, Auth
    from matomo_client.export import export_visits

    async with AsyncMatomo(url, auth=Auth.token(TOKEN), max_concurrency=concurrency) as m:
        await export_visits(
            m,
            sites=[1, 2],
            start=first_day(),
            end=last_day(),
            target=str(out),
            page_size=page_size,
            concurrency=concurrency,
        )


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
VARIANTS = {v.name: v for v in (BASELINE, OURS_DEFAULT, OURS_8, BASELINE_100, OURS_8_100)}
DEFAULT_CONCURRENCY = 4  # the CLI's --concurrency default


def latency_bound(requests: int, v: Variant) -> float:
    """The least wall time the network allows: requests / requests in flight x latency."""
    in_flight = 1 if not v.ours else (v.concurrency or DEFAULT_CONCURRENCY)
    return requests / in_flight * LATENCY_MS / 1000


def run() -> Figure:
    """Measure and return figure 1."""
    rows: list[list[object]] = []
    data: dict[str, Any] = {}
    with (
        tempfile.TemporaryDirectory() as tmp,
        bench_server(
            days=DAYS + 1, visits_per_day=VISITS_PER_DAY, latency_ms=LATENCY_MS, cache=True
        ) as server,
    ):
        t = Path(tmp)
        paths: dict[str, Path] = {}  # the target of each command's kept (fastest) run
        results: dict[tuple[str, str], tuple[Run, dict[str, Any]]] = {}
        made = 0

        def path_for(v: Variant) -> Path:
            nonlocal made
            made += 1  # a new target each run: a second run into the same one would resume
            return t / f"{made}.{'duckdb' if v.ours else 'jsonl'}"

        def measure(v: Variant, phase: str) -> None:
            server.reset()
            before = server.cpu_seconds()
            out = path_for(v)
            r = v.go(server, out)
            after = server.cpu_seconds()
            stats = server.stats()
            stats["server_cpu_s"] = None if before is None or after is None else after - before
            kept = results.get((v.name, phase))
            if kept is None or r.seconds < kept[0].seconds:
                results[(v.name, phase)] = (r, stats)
                paths[v.name] = out

        # Fill the cache, untimed and without the latency (OURS_DEFAULT asks for the same
        # pages as OURS_8; how many timed requests hit the cache is checked in the notes).
        with server.without_latency(LATENCY_MS):
            for v in (BASELINE, BASELINE_100):
                v.go(server, path_for(v))
            for v in (OURS_8, OURS_8_100):
                fill = t / f"fill{v.page_size}.jsonl"
                anyio.run(fill_ours, server.url, fill, v.page_size, v.concurrency or 4)
        # Warm: every page is served from memory after 50 ms (latency-bound).
        for _ in range(ROUNDS):
            for v in (BASELINE, OURS_DEFAULT, OURS_8, BASELINE_100, OURS_8_100):
                measure(v, "warm")

        base_set, outside = baseline_visits(paths[BASELINE.name])
        sets_equal = {}
        for v in (BASELINE, OURS_DEFAULT, OURS_8, BASELINE_100, OURS_8_100):
            got = ours_visits(paths[v.name]) if v.ours else baseline_visits(paths[v.name])[0]
            sets_equal[v.name] = (len(got), got == base_set)
    for (name, phase), (r, stats) in results.items():
        v = VARIANTS[name]
        base = BASELINE_100 if v.page_size == 100 else BASELINE
        base_run = results[(base.name, phase)][0]
        methods = stats.get("methods", {})
        live = methods.get("Live.getLastVisitsDetails", 0) if isinstance(methods, dict) else 0
        visits, same = sets_equal[name]
        bound = latency_bound(int(stats.get("requests", 0)), v)
        server_cpu = stats.get("server_cpu_s")
        rows.append(
            [
                name,
                visits,
                same,
                stats.get("requests", 0),
                live,
                round(bound, 2),
                round(r.cpu_s, 2),
                "-" if server_cpu is None else round(server_cpu, 2),
                round(r.seconds, 2),
                f"{base_run.seconds / r.seconds:.2f}x",
            ]
        )
        data[f"{name}, {phase}"] = {
            "seconds": r.seconds,
            "requests": stats.get("requests"),
            "live_requests": live,
            "latency_bound_s": bound,
            "client_cpu_s": r.cpu_s,
            "server_cpu_s": server_cpu,
            "visits": visits,
            "same_visits": same,
            "speedup": base_run.seconds / r.seconds,
        }
    hits = sum(int(stats.get("cache_hits", 0)) for _, stats in results.values())
    asked = sum(int(stats.get("requests", 0)) for _, stats in results.values())
    data["timed_requests"], data["timed_cache_hits"] = asked, hits
    verdicts: list[str] = []
    notes_bounds: list[str] = []
    cores = cpu_count()
    met = True
    for base, ours in ((BASELINE, OURS_8), (BASELINE_100, OURS_8_100)):
        b = data[f"{base.name}, warm"]
        o = data[f"{ours.name}, warm"]
        speedup = b["seconds"] / o["seconds"]
        possible = b["latency_bound_s"] / o["latency_bound_s"]
        ok = speedup >= TARGET and bool(o["same_visits"])
        met &= ok
        verdicts.append(
            f"page {ours.page_size}: {speedup:.2f}x ({'met' if ok else 'not met'}; "
            f"latency alone allows {possible:.1f}x)"
        )
        notes_bounds.append(
            f"Page size {ours.page_size}: the baseline needs {b['requests']} requests one after "
            f"another, at least {b['requests']} x {LATENCY_MS} ms = {b['latency_bound_s']:.2f} s; "
            f"ours needs {o['requests']} with {ours.concurrency} in flight, at least "
            f"{o['requests']} / {ours.concurrency} x {LATENCY_MS} ms = "
            f"{o['latency_bound_s']:.2f} s. So no client can be more than {possible:.1f}x "
            f"faster than the baseline on the network alone at this page size (measured: "
            f"{speedup:.2f}x; ours took {o['seconds'] / o['latency_bound_s']:.1f}x its bound, "
            f"the baseline {b['seconds'] / b['latency_bound_s']:.1f}x)."
        )
        if o["server_cpu_s"] is not None:
            # What the CPU allows: the export's processes and the server share the same cores.
            cpu_bound = (o["client_cpu_s"] + o["server_cpu_s"]) / cores
            notes_bounds.append(
                f"Page size {ours.page_size}, CPU: our command used {o['client_cpu_s']:.2f} s "
                f"of CPU (its process and its workers) and the server {o['server_cpu_s']:.2f} s "
                f"while it ran; on {cores} cores that is at least {cpu_bound:.2f} s of wall "
                f"time, so with this much CPU ours can be at most "
                f"{b['seconds'] / max(cpu_bound, o['latency_bound_s']):.1f}x faster than the "
                f"baseline here, whatever the concurrency (the baseline used "
                f"{b['client_cpu_s']:.2f} s)."
            )
            data[f"cpu_bound_s_page{ours.page_size}"] = cpu_bound
        data[f"speedup_c8_page{ours.page_size}"] = speedup
        data[f"latency_bound_speedup_page{ours.page_size}"] = possible
    same_all = all(same for _, same in sets_equal.values())
    data["speedup_c8"] = data[f"speedup_c8_page{PAGE_SIZE}"]
    data["baseline_rows_outside_days"] = outside
    met = met and same_all
    return Figure(
        1,
        "Latency-bound export (50 ms/request)",
        f">= {TARGET:.0f}x faster than sequential filter_offset at --concurrency 8, same page "
        "size, same visits",
        "; ".join(verdicts) + f"; same visits: {'yes' if same_all else 'NO'}",
        met,
        [
            "run",
            "visits",
            "same visit set",
            "requests",
            "Live requests",
            "latency-only bound s",
            "client CPU s",
            "server CPU s",
            "wall s",
            "speed-up",
        ],
        rows,
        notes=[
            f"{DAYS} days x 2 sites x {VISITS_PER_DAY} visits/day nominal; same page size for "
            "both sides of each comparison; wall time of the whole command (process start-up "
            "included, bytecode cached as after any first run), the best of "
            f"{ROUNDS} runs of each command, interleaved; the speed-up is against the baseline "
            "with the same page size and phase.",
            "Latency-only bound: requests / requests in flight x "
            f"{LATENCY_MS} ms (1 in flight for the baseline), the time the network alone "
            "takes; the rest of each wall time is the client's CPU (and start-up).",
            *notes_bounds,
            "The baseline (`baseline_offset.py`) decodes every page with orjson and writes each "
            "visit to JSONL with orjson: what a typical exporter does, with the cheapest decode "
            "and write there is. Ours builds the declared visits and actions rows (in worker "
            "processes, one per CPU), writes both tables into DuckDB (windows grouped about "
            "2,000 visits a transaction) and reconciles each day with VisitsSummary.",
            "Every timed run is warm: each answer comes from the bench server's memory after "
            f"{LATENCY_MS} ms ({hits} of {asked} timed requests were cache hits). A first, cold "
            "run is bound by the sandbox rendering visits in Python (~0.17 ms each) on a core it "
            "shares with the client, which says nothing about the client: those runs fill the "
            "cache untimed.",
            f"The baseline's range query also returned {outside} visit(s) whose last action is "
            "after the last day's midnight (Matomo's day bounds are inclusive); they are left out "
            "of the comparison.",
        ],
        data=json.loads(json.dumps(data, default=str)),
    )


if __name__ == "__main__":
    standalone(run)
