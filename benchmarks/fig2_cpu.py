"""Figure 2: the client's own CPU cost, against the orjson floor, with a replay transport.

~100k visits (one sandbox site, 2,400 visits/day nominal for 45 days) are rendered once and
served by `replay.ReplayLive`, which answers instantly. Timed, in this process:

* `export_visits` (page size 1000, concurrency 4, no reconciliation request) into JSONL,
  DuckDB and Parquet targets;
* the floor: `orjson.loads` each page our export received, `orjson.dumps` each visit to a file;
* the library paths without the exporter: `live.stream_raw` (raw dicts) and `live.stream`
  (pydantic `Visit` models), each visit written as a JSON line;
* with `--profile` (not in run_all: it doubles the time), the exporter's stages one at a time
  over the same pages (all in this process), and a pyinstrument profile of the JSONL export's
  own process, not of its workers (written to `benchmarks/results/fig2_profile.txt`).

Run alone: .venv/bin/python benchmarks/fig2_cpu.py [--profile]
"""

from __future__ import annotations

import gc
import resource
import tempfile
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import anyio
import orjson
from _harness import RESULTS, Figure, standalone
from replay import TOKEN, ReplayLive

from matomo_client import AsyncMatomo, Auth, Cursor, Limit, Period
from matomo_client._core.paging import advance
from matomo_client.export import export_visits, open_target
from matomo_client.export.rows import build_visit_batches
from matomo_client.export.state import DONE, WindowRecord
from matomo_client.sandbox import SandboxConfig

TODAY = date(2024, 6, 30)
DAYS = 45
VISITS_PER_DAY = 2400
PAGE_SIZE = 1000
TARGET = 0.5
SINKS = {"JSONL": "x.jsonl", "DuckDB": "x.duckdb", "Parquet": "x.parquet"}
RENDERED_DAYS = 9  # the other days are moved copies of these (see replay.ReplayLive.build)
FLOOR = "floor: orjson.loads each page, orjson.dumps each visit"


def _days() -> list[date]:
    return [TODAY - timedelta(days=i) for i in range(DAYS, 0, -1)]


def _client(replay: ReplayLive) -> AsyncMatomo:
    return AsyncMatomo("http://replay.invalid/", auth=Auth.token(TOKEN), transport=replay)


async def _export(replay: ReplayLive, target: str) -> int:
    async with _client(replay) as m:
        s = await export_visits(
            m,
            sites=[1],
            start=_days()[0],
            end=_days()[-1],
            target=target,
            page_size=PAGE_SIZE,
            reconcile=False,
        )
    return s.visits


async def _stream(replay: ReplayLive, out: Path, models: bool) -> int:
    n = 0
    async with _client(replay) as m:
        with open(out, "wb") as f:
            for d in _days():
                if models:
                    async for visit in m.live.stream(1, Period.day(d), PAGE_SIZE):
                        f.write(visit.model_dump_json(by_alias=True).encode() + b"\n")
                        n += 1
                else:
                    async for raw in m.live.stream_raw(1, Period.day(d), PAGE_SIZE):
                        f.write(orjson.dumps(raw) + b"\n")
                        n += 1
    return n


def _floor(pages: list[bytes], out: Path) -> int:
    n = 0
    with open(out, "wb") as f:
        for body in pages:
            for visit in orjson.loads(body):
                f.write(orjson.dumps(visit))
                f.write(b"\n")
                n += 1
    return n


def _children_cpu() -> float:
    """CPU seconds of this process's finished (waited-for) child processes."""
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def _timed(fn: Callable[[], Any]) -> tuple[float, float, Any]:
    """Wall seconds, CPU seconds (every thread, and the export's worker processes, which have
    exited by the time `fn` returns) and the value of `fn()`."""
    gc.collect()
    start, cpu, children = time.perf_counter(), time.process_time(), _children_cpu()
    value = fn()
    spent = time.process_time() - cpu + _children_cpu() - children
    return time.perf_counter() - start, spent, value


def _stages(replay: ReplayLive, tmp: Path) -> list[tuple[str, float]]:
    """Each exporter stage alone (process CPU seconds), window by window over the same pages."""
    names = ["decode (orjson.loads)", "keyset paging (checks)", "build rows (schema)"]
    names += [f"write ({name} sink)" for name in SINKS]
    spent = dict.fromkeys(names, 0.0)
    sinks = []
    for suffix in SINKS.values():
        sink = open_target(str(tmp / f"stage.{suffix}"))
        sink.open()
        sink.load_state("visits")
        sinks.append(sink)
    for d in _days():
        day = replay.days[(1, d.isoformat())]
        cursor: Cursor | None = Cursor(1, Period.day(d), Limit(PAGE_SIZE))
        rows: list[dict[str, Any]] = []
        i = 0
        while cursor is not None and i < len(day.bodies):
            body = b"[" + b",".join(day.bodies[i : i + cursor.page_size]) + b"]"
            t0 = time.process_time()
            page = orjson.loads(body)
            t1 = time.process_time()
            fresh, cursor = advance(cursor, page)
            rows.extend(fresh)  # the engine keeps the decoded dicts (no copy)
            t2 = time.process_time()
            spent[names[0]] += t1 - t0
            spent[names[1]] += t2 - t1
            i += len(page)
        t0 = time.process_time()
        visits, actions = build_visit_batches(rows)
        spent[names[2]] += time.process_time() - t0
        rec = WindowRecord("visits", 1, d, DONE, visits=len(visits), actions=len(actions))
        for name, sink in zip(names[3:], sinks, strict=True):
            t0 = time.process_time()
            sink.write_window("visits", [rec], [visits, actions])
            spent[name] += time.process_time() - t0
    for name, sink in zip(names[3:], sinks, strict=True):
        t0 = time.process_time()
        sink.finish()
        spent[name] += time.process_time() - t0
        sink.close()
    return list(spent.items())


def _profile(replay: ReplayLive, tmp: Path) -> list[str]:
    """Profile the JSONL export; return the top functions by own time."""
    from pyinstrument import Profiler

    profiler = Profiler(interval=0.0005)
    profiler.start()
    anyio.run(_export, replay, str(tmp / "profiled.jsonl"))
    session = profiler.stop()
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "fig2_profile.txt").write_text(
        profiler.output_text(unicode=False, color=False, show_all=False)
    )
    own: dict[str, float] = {}

    def walk(frame: Any) -> None:
        key = f"{frame.function} ({frame.file_path_short}:{frame.line_no})"
        own[key] = own.get(key, 0.0) + frame.total_self_time
        for child in frame.children:
            walk(child)

    root = session.root_frame()
    if root is not None:
        walk(root)
    total = session.duration or 1.0
    top = sorted(own.items(), key=lambda kv: -kv[1])[:8]
    return [f"{name}: {100 * t / total:.0f}%" for name, t in top]


def run(profile: bool = False) -> Figure:
    """Measure and return figure 2 (`profile`: also time each stage and profile the export)."""
    config = SandboxConfig(days=DAYS + 1, visits_per_day=VISITS_PER_DAY, today=TODAY)
    replay = ReplayLive.build(config, [1], _days(), rendered=RENDERED_DAYS)
    total = replay.visits
    kb = sum(len(b) for d in replay.days.values() for b in d.bodies) / total / 1024
    rows: list[list[object]] = []
    data: dict[str, Any] = {"visits": total}
    results: dict[str, tuple[float, float, int]] = {}
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        replay.keep_served = True
        anyio.run(_export, replay, str(tmp / "record.jsonl"))
        replay.keep_served = False
        pages = list(replay.served)
        results[FLOOR] = _timed(lambda: _floor(pages, tmp / "floor.jsonl"))
        for name, suffix in SINKS.items():
            target = str(tmp / f"run.{suffix}")
            results[f"export_visits -> {name}"] = _timed(
                lambda target=target: anyio.run(_export, replay, target)
            )
        raw_out, model_out = tmp / "raw.jsonl", tmp / "models.jsonl"
        results["live.stream_raw -> orjson JSONL"] = _timed(
            lambda: anyio.run(_stream, replay, raw_out, False)
        )
        results["live.stream (pydantic Visit) -> JSONL"] = _timed(
            lambda: anyio.run(_stream, replay, model_out, True)
        )
        floor_t = results[FLOOR][0]
        for name, (t, cpu, n) in results.items():
            us = 1e6 * cpu / n
            rows.append([name, n, round(t, 2), round(n / t), f"{floor_t / t:.2f}x", f"{us:.0f}"])
            data[name] = {
                "seconds": t,
                "cpu_seconds": cpu,
                "cpu_us_per_visit": us,
                "visits": n,
                "visits_per_s": n / t,
                "vs_floor": floor_t / t,
            }
        notes = [
            f"{total:,} visits with their actions ({kb:.1f} KB of JSON each), page size "
            f"{PAGE_SIZE}; the exporter also builds the `actions` table (one row per action), "
            "keeps the state journal and (JSONL/Parquet) concatenates the per-window parts into "
            "the final files, which the floor does not. CPU is process time (all threads) plus "
            "the export's worker processes, which decode pages and build rows on the other "
            "cores: throughput can then beat the floor's while CPU per visit stays above it. "
            "The machine's other load shows in the wall time, not in the CPU column.",
        ]
        if profile:
            stages = _stages(replay, tmp)
            data["stages"] = dict(stages)
            notes.append(
                "Exporter stages alone (CPU), window by window over the same pages: "
                + "; ".join(f"{name} {t:.2f} s" for name, t in stages)
                + "."
            )
            hot = _profile(replay, tmp)
            data["profile_top"] = hot
            notes.append(
                "Top own time in the JSONL export (pyinstrument, results/fig2_profile.txt): "
                + "; ".join(hot)
                + "."
            )
    ratio = floor_t / results["export_visits -> JSONL"][0]
    return Figure(
        2,
        "Client CPU cost (replay transport, no server)",
        f">= {TARGET}x the orjson floor's throughput into JSONL",
        f"{ratio:.2f}x of the floor into JSONL",
        ratio >= TARGET,
        ["pipeline", "visits", "s", "visits/s", "throughput vs floor", "CPU µs/visit"],
        rows,
        notes=notes,
        data=data,
    )


if __name__ == "__main__":
    import sys

    standalone(lambda: run(profile="--profile" in sys.argv))
