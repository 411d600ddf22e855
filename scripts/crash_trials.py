"""Crash trials: `kill -9` an export at random instants, re-run it, check every visit is there once.

    python scripts/crash_trials.py                # 20 trials each: duckdb, sqlite, jsonl, parquet
    python scripts/crash_trials.py --trials 3 --targets x.duckdb,x.jsonl.gz

Each trial starts a child process that exports an in-memory Matomo (tests/export/export_fakeworld,
slowed down a little per request) into a fresh target, kills it with SIGKILL after a random
delay, runs the same export again to completion, and compares the target with the world:
same (id_site, id_visit) set, no duplicate, every action once. Exit status 1 on any failure.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "export"))
sys.path.insert(0, str(ROOT / "src"))

TODAY = date(2024, 3, 31)
NOW = datetime(2024, 3, 31, 12, 0, tzinfo=timezone.utc)
DAYS, PER_DAY, LATENCY = 12, 25, 0.002


def _world():  # type: ignore[no-untyped-def]
    from export_fakeworld import FakeMatomo

    days = int(os.environ.get("CRASH_TRIAL_DAYS", DAYS))
    return FakeMatomo(TODAY, days=days, per_day=PER_DAY, seed=7)


def child(target: str) -> None:
    """Run one export to completion (or until killed)."""
    import anyio

    from matomo_client.export import export_visits

    world = _world()
    handle = world.handle

    def slow(request):  # type: ignore[no-untyped-def]
        time.sleep(LATENCY)
        return handle(request)

    world.handle = slow  # type: ignore[method-assign]

    async def main() -> None:
        async with world.client() as m:
            await export_visits(
                m,
                sites="all",
                start=TODAY - timedelta(days=int(os.environ.get("CRASH_TRIAL_DAYS", DAYS)) - 1),
                end="today",
                target=target,
                page_size=7,
                concurrency=4,
                now=NOW,
            )

    anyio.run(main)


def check(target: str) -> str | None:
    """None when the target holds every visit and action exactly once, else what is wrong."""
    from export_readers import read_rows

    world = _world()
    visits = Counter((int(v["id_site"]), int(v["id_visit"])) for v in read_rows(target, "visits"))
    dups = [k for k, n in visits.items() if n > 1]
    missing = world.all_ids() - set(visits)
    extra = set(visits) - world.all_ids()
    actions = Counter(
        (int(a["id_site"]), int(a["id_visit"]), int(a["position"]))
        for a in read_rows(target, "actions")
    )
    n_actions = sum(len(v["actionDetails"]) for v in world.visits)
    if dups or missing or extra:
        return f"visits: {len(dups)} duplicated, {len(missing)} missing, {len(extra)} unexpected"
    if len(actions) != n_actions or any(n > 1 for n in actions.values()):
        return f"actions: {sum(actions.values())} rows for {n_actions} actions"
    return None


def _run_child(target: str, kill_after: float | None) -> int:
    """Run the export; with `kill_after`, SIGKILL it then. Return its exit code (-9 if killed)."""
    cmd = [sys.executable, __file__, "--child", target]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    if kill_after is None:
        _, err = proc.communicate(timeout=300)
        if proc.returncode != 0:
            sys.stderr.write(err.decode(errors="replace"))
        return proc.returncode
    try:
        proc.wait(timeout=kill_after)
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    return proc.returncode


def trials(targets: list[str], n: int, seed: int, max_delay: float | None = None) -> int:
    """Run `n` trials per target; print one line each; return the number of failures."""
    rnd = random.Random(seed)
    failures = killed = 0
    with tempfile.TemporaryDirectory(prefix="matomo-crash-") as tmp:
        for name in targets:
            full = max_delay
            if full is None:  # time one full run of this target: the kills spread over it
                probe = os.path.join(tmp, f"probe-{name}", name)
                os.makedirs(os.path.dirname(probe))
                start = time.monotonic()
                if _run_child(probe, None) != 0:
                    raise SystemExit(f"a full export into {name} failed; no trials run")
                full = time.monotonic() - start
            full = max(full, 0.5)
            for i in range(n):
                target = os.path.join(tmp, f"{name}-{i}", name)
                os.makedirs(os.path.dirname(target), exist_ok=True)
                delay = rnd.uniform(0.3, full)  # the child needs ~0.3 s to import and start
                first = _run_child(target, delay)
                # A child that finished before the kill tested no crash: say so, don't hide it.
                how = f"killed at {delay:.2f}s" if first == -signal.SIGKILL else "not killed"
                if first not in (0, -signal.SIGKILL):
                    how = f"first run exited with {first}"
                code = _run_child(target, None)
                problem = check(target) if code == 0 else f"re-run exited with {code}"
                failures += problem is not None
                killed += first == -signal.SIGKILL
                print(f"{name:16} trial {i + 1:2}: {how} -> {problem or 'ok'}", flush=True)
    print(f"{killed} of {n * len(targets)} trials were killed mid-export")
    return failures


def main() -> int:
    """Command line entry point."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--child", metavar="TARGET", help=argparse.SUPPRESS)
    ap.add_argument("--trials", type=int, default=20)
    ap.add_argument("--targets", default="x.duckdb,x.sqlite,x.jsonl,x.parquet")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--days", type=int, default=DAYS, help="days of data per site")
    ap.add_argument("--max-delay", type=float, help="latest kill, seconds (default: one run)")
    args = ap.parse_args()
    if args.child:
        child(args.child)
        return 0
    os.environ["CRASH_TRIAL_DAYS"] = str(args.days)  # children inherit it
    failed = trials(args.targets.split(","), args.trials, args.seed, args.max_delay)
    print("all trials exactly once" if not failed else f"{failed} trial(s) FAILED")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
