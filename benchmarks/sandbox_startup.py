"""How long a big sandbox takes to start and to answer its first requests.

Run: .venv/bin/python benchmarks/sandbox_startup.py [--days 365] [--visits-per-day 5000]
Prints wall times; never run as a test (timing belongs here, not in assertions).
"""

from __future__ import annotations

import argparse
import time
from datetime import date

import anyio
import httpx

from matomo_client.sandbox import Sandbox, SandboxConfig


async def main(days: int, visits_per_day: int) -> None:
    """Time construction, a cheap call, one busy day of Live, and a month of VisitsSummary."""
    t0 = time.perf_counter()
    sb = Sandbox(SandboxConfig(days=days, visits_per_day=visits_per_day, today=date(2026, 11, 29)))
    t1 = time.perf_counter()
    print(f"start-up ({days} days x {visits_per_day} visits/day): {(t1 - t0) * 1000:.1f} ms")
    transport = httpx.ASGITransport(app=sb.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox/") as client:

        async def timed(label: str, **params: object) -> None:
            data = {"module": "API", "format": "JSON", "token_auth": sb.config.token}
            data.update({k: str(v) for k, v in params.items()})
            start = time.perf_counter()
            response = await client.post("index.php", data=data)
            ms = (time.perf_counter() - start) * 1000
            print(f"{label}: {ms:.1f} ms, {len(response.content):,} bytes, {response.status_code}")

        await timed("first request (API.getMatomoVersion)", method="API.getMatomoVersion")
        await timed(
            "VisitsSummary.get day (generates one day)",
            method="VisitsSummary.get",
            idSite=1,
            period="day",
            date="yesterday",
        )
        await timed(
            "Live page of 100 visits",
            method="Live.getLastVisitsDetails",
            idSite=1,
            period="day",
            date="yesterday",
            filter_limit=100,
        )
        await timed(
            "VisitsSummary.get month (cold)",
            method="VisitsSummary.get",
            idSite=1,
            period="month",
            date="2026-10-01",
        )
        await timed(
            "VisitsSummary.get month (cached days)",
            method="VisitsSummary.get",
            idSite=1,
            period="month",
            date="2026-10-01",
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--visits-per-day", type=int, default=5000)
    args = parser.parse_args()
    anyio.run(main, args.days, args.visits_per_day)
