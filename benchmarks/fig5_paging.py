"""Figure 5: deep paging through one day of ~20,000 visits, keyset vs offset paging.

The sandbox runs in its own process with 20 ms latency. For each page size, our paging
(`Cursor` + `live.next_page_raw`: ascending, `minTimestamp` keyset) and plain offset paging
(`filter_offset`, ascending) read the whole day. Counted: requests, rows transferred, rows a
database reads to answer (Matomo's `LIMIT offset, n` reads and drops `offset` rows first; a
`minTimestamp` range seek reads only what it returns), rows returned twice, and wall time.
Run alone: .venv/bin/python benchmarks/fig5_paging.py
"""

from __future__ import annotations

import time
from typing import Any

import anyio
import httpx
import orjson
from _harness import SANDBOX_TODAY, TOKEN, Figure, bench_server, day, standalone

from matomo_client import AsyncMatomo, Auth, Cursor, Limit, Period
from matomo_client._core.paging import advance
from matomo_client.endpoints import LivePage
from matomo_client.sandbox import Sandbox, SandboxConfig

VISITS = 20_000  # in the one day paged through
LATENCY_MS = 20
PAGE_SIZES = (100, 1000, 5000)


async def _keyset(url: str, page_size: int) -> dict[str, Any]:
    requests = transferred = repeats = resent = 0
    ids: set[int] = set()
    async with AsyncMatomo(url, auth=Auth.token(TOKEN), skip_preflight=True) as m:
        cursor: Cursor | None = Cursor(1, Period.day(day(1)), Limit(page_size))
        while cursor is not None:
            page = await m.execute(LivePage(cursor.params()))
            requests += 1
            transferred += len(page)
            fresh, cursor = advance(cursor, page)
            resent += len(page) - len(fresh)  # the boundary second, asked again and dropped
            for v in fresh:
                vid = int(v["idVisit"])
                repeats += vid in ids
                ids.add(vid)
    return {
        "requests": requests,
        "transferred": transferred,
        "db_rows": transferred,
        "visits": len(ids),
        "repeats": repeats,
        "resent": resent,
    }


def _offset(url: str, page_size: int) -> dict[str, Any]:
    requests = transferred = db_rows = repeats = 0
    ids: set[int] = set()
    with httpx.Client(base_url=url, timeout=120) as client:
        offset = 0
        while True:
            form = {
                "module": "API",
                "method": "Live.getLastVisitsDetails",
                "format": "JSON",
                "idSite": "1",
                "period": "day",
                "date": day(1).isoformat(),
                "filter_limit": str(page_size),
                "filter_offset": str(offset),
                "filter_sort_order": "asc",
                "token_auth": TOKEN,
            }
            r = client.post("index.php", data=form)
            r.raise_for_status()
            page = orjson.loads(r.content)
            requests += 1
            transferred += len(page)
            db_rows += offset + len(page)
            for v in page:
                vid = int(v["idVisit"])
                repeats += vid in ids
                ids.add(vid)
            offset += len(page)
            if not page:  # offset paging cannot tell a short page from the end either
                break
    return {
        "requests": requests,
        "transferred": transferred,
        "db_rows": db_rows,
        "visits": len(ids),
        "repeats": repeats,
        "resent": 0,
    }


def visits_per_day() -> int:
    """The sandbox's visits_per_day that puts about VISITS visits in the paged day.

    The sandbox varies each day's count (weekends 0.85, then 0.8-1.2), deterministically.
    """
    probe = Sandbox(SandboxConfig(days=2, visits_per_day=VISITS, today=SANDBOX_TODAY))
    return round(VISITS * VISITS / probe.world.visit_count(1, day(1)))


def run() -> Figure:
    """Measure and return figure 5."""
    rows: list[list[object]] = []
    data: dict[str, Any] = {}
    never_reread = True
    with bench_server(days=2, visits_per_day=visits_per_day(), latency_ms=LATENCY_MS) as server:
        for size in PAGE_SIZES:
            for name in ("keyset (ours)", "filter_offset"):
                start = time.perf_counter()
                if name == "filter_offset":
                    got = _offset(server.url, size)
                else:
                    got = anyio.run(_keyset, server.url, size)
                got["seconds"] = time.perf_counter() - start
                data[f"{name}, {size}"] = got
                if name.startswith("keyset"):
                    # Each visit yielded once; the only rows sent again are the boundary
                    # second's, at most a few per page (never a re-read of earlier pages).
                    never_reread &= got["repeats"] == 0
                    never_reread &= got["resent"] <= 5 * got["requests"]
                rows.append(
                    [
                        size,
                        name,
                        got["visits"],
                        got["requests"],
                        got["transferred"],
                        got["db_rows"],
                        got["resent"],
                        got["repeats"],
                        round(got["seconds"], 2),
                    ]
                )
    total = rows[0][2]
    return Figure(
        5,
        f"Deep paging, one day of {total:,} visits",
        "requests and time vs page size; our paging never re-reads rows (vs offset paging)",
        "keyset paging yielded each visit once and re-read no earlier page: "
        + ("yes" if never_reread else "NO"),
        never_reread,
        [
            "page size",
            "paging",
            "visits",
            "requests",
            "rows sent",
            "rows read by the DB",
            "boundary rows sent again",
            "visits yielded twice",
            "wall s",
        ],
        rows,
        notes=[
            f"Sandbox in its own process, {LATENCY_MS} ms latency per request, every page "
            "decoded. Both pagers end on an empty page.",
            "'boundary rows sent again': `minTimestamp` is strict, so each next page asks from "
            "the last second again and drops the visits of that second it already has (usually "
            "one per page); offset paging re-reads every earlier row inside the database.",
            "'rows read by the DB' is a model of Matomo's SQL: `LIMIT offset, n` reads offset+n "
            "rows, a `visit_last_action_time > minTimestamp` index seek reads n; the sandbox "
            "itself slices a list, so the quadratic cost shows in that column, not in wall time.",
        ],
        data=data,
    )


if __name__ == "__main__":
    standalone(run)
