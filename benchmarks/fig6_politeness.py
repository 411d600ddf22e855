"""Figure 6: politeness — requests in flight stay within --concurrency, 429s slow, not fail.

The sandbox runs in its own process (20 ms latency), 10 days x 2 sites x 200 visits/day.
`matomo export visits --concurrency 4` runs twice: against a healthy sandbox, and against one
answering 15% of requests with HTTP 429 and `Retry-After: 1`. The sandbox's own counter of
requests in flight (and the bench wrapper's) are read after each run.
Run alone: .venv/bin/python benchmarks/fig6_politeness.py
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import duckdb
from _harness import Figure, bench_server, day, matomo_cli, run_process, standalone

DAYS = 10
VISITS_PER_DAY = 200
LATENCY_MS = 20
CONCURRENCY = 4
RATE_429 = 0.15


def _visits(path: Path) -> set[tuple[int, int]]:
    with duckdb.connect(str(path), read_only=True) as db:
        return {
            (int(a), int(b))
            for a, b in db.execute("select id_site, id_visit from visits").fetchall()
        }


def run() -> Figure:
    """Measure and return figure 6."""
    rows: list[list[object]] = []
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, rate in (
            ("healthy sandbox", 0.0),
            (f"{RATE_429:.0%} answered 429, Retry-After 1", RATE_429),
        ):
            with bench_server(
                days=DAYS + 1,
                visits_per_day=VISITS_PER_DAY,
                latency_ms=LATENCY_MS,
                rate_429=rate,
                retry_after=1,
            ) as server:
                out = Path(tmp) / f"{rate}.duckdb"
                args = [
                    "export",
                    "visits",
                    "--url",
                    server.url,
                    "--site",
                    "1,2",
                    "--from",
                    day(DAYS).isoformat(),
                    "--to",
                    day(1).isoformat(),
                    "--concurrency",
                    str(CONCURRENCY),
                    "--out",
                    str(out),
                    "--quiet",
                ]
                r = run_process(matomo_cli(*args))
                s = server.stats()
                visits = _visits(out) if r.returncode == 0 else set()
                results[name] = (r, s, visits)
                rows.append(
                    [
                        name,
                        r.returncode,
                        len(visits),
                        s["requests"],
                        s["statuses"].get("429", 0),
                        s["sandbox_max_in_flight"],
                        s["max_in_flight"],
                        round(r.seconds, 2),
                    ]
                )
    (healthy, hs, hv), (faulty, fs, fv) = results.values()
    within = (
        max(
            hs["sandbox_max_in_flight"],
            fs["sandbox_max_in_flight"],
            hs["max_in_flight"],
            fs["max_in_flight"],
        )
        <= CONCURRENCY
    )
    survived = faulty.returncode == 0 and fv == hv and fs["statuses"].get("429", 0) > 0
    return Figure(
        6,
        "Politeness (--concurrency 4)",
        "requests in flight at the sandbox never exceed 4; 429 + Retry-After slows, never fails",
        f"max in flight {max(hs['sandbox_max_in_flight'], fs['sandbox_max_in_flight'])}; "
        f"with 429s: exit {faulty.returncode}, same visits {'yes' if fv == hv else 'NO'}, "
        f"{faulty.seconds / healthy.seconds:.1f}x the time",
        within and survived,
        [
            "sandbox",
            "exit code",
            "visits",
            "requests",
            "429 answers",
            "max in flight (sandbox)",
            "max in flight (server wrapper)",
            "wall s",
        ],
        rows,
        notes=[
            f"{DAYS} days x 2 sites x {VISITS_PER_DAY} visits/day nominal, {LATENCY_MS} ms latency."
        ],
        data={
            "healthy": hs | {"seconds": healthy.seconds},
            "faulty": fs | {"seconds": faulty.seconds},
        },
    )


if __name__ == "__main__":
    standalone(run)
