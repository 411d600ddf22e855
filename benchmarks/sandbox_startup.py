"""How long a big sandbox takes to start, to build a day, and to answer its first requests.

Run: .venv/bin/python benchmarks/sandbox_startup.py [--days 365] [--visits-per-day 5000]
     [--repeat 5] [--year]
Prints wall times; never run as a test (timing belongs here, not in assertions). Per-day
figures are the minimum over `--repeat` runs (the box may be busy); requests go through
the ASGI app in-process, so they include routing and JSON encoding but no sockets.
"""

from __future__ import annotations

import argparse
import resource
import time
from datetime import date, timedelta

import anyio
import httpx

from matomo_client.sandbox import Sandbox, SandboxConfig
from matomo_client.sandbox.aggregates import compute_day

TODAY = date(2026, 11, 29)


def _day_figures(days: int, visits_per_day: int, repeat: int) -> None:
    """Generate and sum one day of site 1 from scratch, `repeat` times: min per step."""
    generate: list[float] = []
    aggregate: list[float] = []
    n = 0
    for _ in range(repeat):
        sb = Sandbox(SandboxConfig(days=days, visits_per_day=visits_per_day, today=TODAY))
        day = TODAY - timedelta(days=10)
        t0 = time.perf_counter()
        visits = sb.world.day_visits(1, day)
        t1 = time.perf_counter()
        compute_day(sb.world, visits, 1)
        t2 = time.perf_counter()
        generate.append(t1 - t0)
        aggregate.append(t2 - t1)
        n = len(visits)
    g, a = min(generate) * 1000, min(aggregate) * 1000
    print(f"generate one day ({n:,} visits): {g:.1f} ms")
    print(f"aggregate one day: {a:.1f} ms")
    print(f"generate + aggregate: {g + a:.1f} ms ({(g + a) * 1000 / max(n, 1):.1f} us/visit)")


async def main(days: int, visits_per_day: int, repeat: int, year: bool) -> None:
    """Time construction, a cheap call, one day, Live pages, and month (and year) summaries."""
    _day_figures(days, visits_per_day, repeat)
    t0 = time.perf_counter()
    sb = Sandbox(SandboxConfig(days=days, visits_per_day=visits_per_day, today=TODAY))
    t1 = time.perf_counter()
    print(f"start-up ({days} days x {visits_per_day} visits/day): {(t1 - t0) * 1000:.1f} ms")
    transport = httpx.ASGITransport(app=sb.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox/") as client:

        async def timed(label: str, **params: object) -> float:
            data = {"module": "API", "format": "JSON", "token_auth": sb.config.token}
            data.update({k: str(v) for k, v in params.items()})
            start = time.perf_counter()
            response = await client.post("index.php", data=data)
            ms = (time.perf_counter() - start) * 1000
            print(f"{label}: {ms:.1f} ms, {len(response.content):,} bytes, {response.status_code}")
            return ms

        live = {"method": "Live.getLastVisitsDetails", "idSite": 1, "period": "day"}
        await timed("first request (API.getMatomoVersion)", method="API.getMatomoVersion")
        await timed("Live page of 100 visits (uncached day)", **live, date="2026-11-19",
                    filter_limit=100)  # fmt: skip
        pages = [
            await timed(f"Live page of 100 visits (cached day, offset {offset})", **live,
                        date="2026-11-19", filter_limit=100, filter_offset=offset)
            for offset in (100, 2000)
        ]  # fmt: skip
        del pages
        await timed(
            "VisitsSummary.get day (generates one day)",
            method="VisitsSummary.get", idSite=1, period="day", date="yesterday",
        )  # fmt: skip
        cold = await timed(
            "VisitsSummary.get month (cold, 31 days)",
            method="VisitsSummary.get", idSite=1, period="month", date="2026-10-01",
        )  # fmt: skip
        print(f"  = {cold / 31:.1f} ms per generated day")
        await timed(
            "VisitsSummary.get month (cached days)",
            method="VisitsSummary.get", idSite=1, period="month", date="2026-10-01",
        )  # fmt: skip
        await timed(
            "Actions.getPageUrls month (cached days)",
            method="Actions.getPageUrls", idSite=1, period="month", date="2026-10-01",
        )  # fmt: skip
        if year:
            cold = await timed(
                "VisitsSummary.get year (cold)",
                method="VisitsSummary.get", idSite=1, period="year", date="2026-01-01",
            )  # fmt: skip
            print(f"  = {cold / 333:.1f} ms per generated day")
            await timed(
                "VisitsSummary.get year (cached days)",
                method="VisitsSummary.get", idSite=1, period="year", date="2026-01-01",
            )  # fmt: skip
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory (max RSS): {rss:.0f} MB")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--visits-per-day", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--year", action="store_true", help="also time a cold year")
    args = parser.parse_args()
    anyio.run(main, args.days, args.visits_per_day, args.repeat, args.year)
