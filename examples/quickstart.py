"""Quick start: version, this month's summary and top pages of site 1."""

from __future__ import annotations

import anyio
from _connect import connect

from matomo_client import Date, Period


async def main() -> None:
    async with connect() as m:
        print("Matomo", await m.api.version())
        month = Period.month(Date.TODAY)
        summary = await m.visits_summary.get(1, month)
        print(f"{summary.nb_visits} visits, {summary.nb_actions} actions")
        print(f"bounce rate {summary.bounce_rate:.0%}")
        pages = await m.actions.page_urls(1, month)
        for row in sorted(pages, key=lambda r: r.nb_hits or 0, reverse=True)[:5]:
            print(f"{row.nb_hits:>6}  {row.label}")


if __name__ == "__main__":
    anyio.run(main)
