"""A resumable export of raw visits: the cursor is saved after every page.

Run it, interrupt it (Ctrl-C), run it again: it carries on from the saved cursor.
`--stop-after N` stops after N pages, to show the resume without a Ctrl-C.

A line can come twice in the output: a visit that grew while the day was paged comes again
with its newer state, and a Ctrl-C between writing a page and saving the cursor writes that
page again on the next run. Keep the last line of each idVisit (as `matomo export` does).
"""

from __future__ import annotations

import argparse
from datetime import date, timedelta
from pathlib import Path

import anyio
import orjson
from _connect import connect

from matomo_client import Cursor, Limit, Period


async def main(state: Path, out: Path, stop_after: int | None) -> None:
    day = Period.day(date.today() - timedelta(days=1))
    cursor: Cursor | None = (
        Cursor.from_json(state.read_text()) if state.exists() else Cursor(1, day, Limit(10))
    )
    pages = 0
    async with connect() as m:
        with out.open("ab") as sink:
            while cursor is not None:
                raw, cursor = await m.live.next_page_raw(cursor)
                sink.write(b"".join(orjson.dumps(v) + b"\n" for v in raw))
                sink.flush()
                if cursor is None:
                    state.unlink(missing_ok=True)
                    break
                state.write_text(cursor.to_json())
                pages += 1
                if stop_after is not None and pages >= stop_after:
                    print(f"stopped after {pages} pages; run again to resume")
                    return
    print(f"done: {sum(1 for _ in out.open('rb'))} visits in {out}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--state", type=Path, default=Path("cursor.json"))
    parser.add_argument("--out", type=Path, default=Path("visits.jsonl"))
    parser.add_argument("--stop-after", type=int, default=None)
    args = parser.parse_args()
    anyio.run(main, args.state, args.out, args.stop_after)
