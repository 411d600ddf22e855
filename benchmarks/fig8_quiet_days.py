"""Figure 8 (not in the issue's list; `run_all.py --only 8`): many quiet days.

A year of sites 1 and 2 with about 16 visits a day each, the sandbox in its own process
answering after 50 ms, default settings (concurrency 4, page size 1000), timed in this process
on the aiohttp transport as the `matomo` command uses it: closed days fetched in runs (the
export's default) against one request a day (`windows.MAX_RUN_DAYS = 1`, how every day was
fetched before). Same visits either way. Best of 2 interleaved runs each, each into a new target.
Run alone: .venv/bin/python benchmarks/fig8_quiet_days.py
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import anyio
from _harness import TOKEN, Figure, bench_server, day, standalone

from matomo_client import AsyncMatomo, Auth
from matomo_client.export import export_visits, windows
from matomo_client.transports import AiohttpTransport

DAYS = 365
VISITS_PER_DAY = 20  # the sandbox's mean before its weekly and random swings: ~16 a day here
LATENCY_MS = 50


async def _export(url: str, target: str) -> tuple[int, int]:
    transport = AiohttpTransport(url)
    async with AsyncMatomo(url, auth=Auth.token(TOKEN), transport=transport) as m:
        s = await export_visits(m, sites=[1, 2], start=day(DAYS), end=day(1), target=target)
    await transport.aclose()
    return s.visits, s.requests


def run() -> Figure:
    """Measure and return figure 8."""
    default_days = windows.MAX_RUN_DAYS
    modes = {"one request a day (runs off)": 1, "runs of closed days (default)": default_days}
    best: dict[str, tuple[float, int, int]] = {}
    try:
        with (
            tempfile.TemporaryDirectory() as tmp,
            bench_server(
                days=DAYS + 1, visits_per_day=VISITS_PER_DAY, latency_ms=LATENCY_MS, cache=True
            ) as server,
        ):
            with server.without_latency(LATENCY_MS):  # fills the cache, untimed
                for days in modes.values():
                    windows.MAX_RUN_DAYS = days
                    anyio.run(_export, server.url, str(Path(tmp) / f"fill{days}.duckdb"))
            for i in range(2):
                for name, days in modes.items() if i == 0 else reversed(modes.items()):
                    windows.MAX_RUN_DAYS = days
                    t = time.perf_counter()
                    target = str(Path(tmp) / f"run{i}-{days}.duckdb")
                    visits, requests = anyio.run(_export, server.url, target)
                    seconds = time.perf_counter() - t
                    if name not in best or seconds < best[name][0]:
                        best[name] = (seconds, requests, visits)
    finally:
        windows.MAX_RUN_DAYS = default_days
    (base_s, base_req, base_visits), (ours_s, ours_req, ours_visits) = best.values()
    rows = [
        [name, f"{visits:,}", requests, round(seconds, 2), f"{base_s / seconds:.2f}x"]
        for name, (seconds, requests, visits) in best.items()
    ]
    return Figure(
        8,
        "Many quiet days (a year, two sites, ~16 visits a day)",
        "shown: requests and time with closed days fetched in runs vs one request a day",
        f"{base_req} -> {ours_req} requests, {base_s / ours_s:.1f}x faster"
        + ("" if base_visits == ours_visits else " (visit counts differ!)"),
        None,
        ["export", "visits", "requests", "wall s", "speed-up"],
        rows,
        notes=[
            f"{DAYS} days x sites 1 and 2, {LATENCY_MS} ms a request, concurrency 4, page size "
            "1000, warm sandbox; best of 2 interleaved runs each.",
            f"Runs span up to {default_days} closed days of one site, as many as leave twice as "
            "many runs as request slots; each day is still written and recorded on its own.",
        ],
        data={"runs_off": best[next(iter(modes))], "runs_on": best[list(modes)[1]]},
    )


if __name__ == "__main__":
    standalone(run)
