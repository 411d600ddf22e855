"""Stream every visit of yesterday (site 1) into a JSONL file, one line per visit."""

from __future__ import annotations

import sys
from datetime import date, timedelta

import anyio
import orjson
from _connect import connect

from matomo_client import Period


async def main(path: str) -> None:
    day = Period.day(date.today() - timedelta(days=1))
    count = 0
    async with connect() as m:
        with open(path, "wb") as out:
            async for visit in m.live.stream(1, day, page_size=100):
                out.write(orjson.dumps(visit.to_record(), default=str) + b"\n")
                count += 1
    print(f"wrote {count} visits to {path}")


if __name__ == "__main__":
    anyio.run(main, sys.argv[1] if len(sys.argv) > 1 else "visits.jsonl")
