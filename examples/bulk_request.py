"""Several reports in one round trip (API.getBulkRequest); a failing item fails alone."""

from __future__ import annotations

import anyio
from _connect import connect

from matomo_client import Date, Params, Period


async def main() -> None:
    week = Params().id_site(1).period(Period.week(Date.TODAY))
    items = [
        ("VisitsSummary.get", week),
        ("Referrers.getReferrerType", week.set("filter_limit", -1)),
        ("UserCountry.getCountry", week.set("filter_limit", 3)),
        ("VisitsSummary.nope", week),  # an unknown method: reported on its own item
    ]
    async with connect() as m:
        for (method, _), answer in zip(items, await m.api.bulk(items), strict=True):
            if answer.ok:
                print(f"{method}: {str(answer.value)[:70]}...")
            else:
                print(f"{method}: failed ({answer.error.kind.name}): {answer.error.message[:60]}")
        print("requests sent:", m.stats.requests)


if __name__ == "__main__":
    anyio.run(main)
