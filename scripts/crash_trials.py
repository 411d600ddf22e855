"""Crash trials: `kill -9` an export at random points, re-run it, check every visit is there once.

    python scripts/crash_trials.py                   # 20 trials into every target kind
    python scripts/crash_trials.py --trials 3 --targets x.duckdb,x.jsonl.gz
    python scripts/crash_trials.py --targets postgresql --pg-uri postgresql://...

Targets (`--targets`, comma-separated, or `all`): x.duckdb, x.sqlite, postgresql, x.parquet,
out/ (hive-partitioned Parquet directory), x.jsonl, x.jsonl.gz, x.jsonl.zst, x.csv, x.csv.gz,
x.csv.zst. `postgresql` starts a server from the `pgserver` wheel (or uses `--pg-uri`, a server
where the script may create databases) and exports into a fresh database per trial; when no
server can be started, the PostgreSQL trials are skipped with the reason printed.

Each trial starts a child process that exports an in-memory Matomo (tests/export/export_fakeworld,
slowed down a little per request) into a fresh target. The child reports its progress (phase,
windows written); the parent draws a random point of the export, "after k of the n windows"
(k from 0 to n: k = n kills while the export reconciles and builds its final files), waits for
the child to report it, waits a random fraction of one window's time more, and sends SIGKILL.
It then runs the same export again to completion and compares the target with the world: same
(id_site, id_visit) set, no duplicate, every action once. A trial line says where the kill
landed (mid-export, before the export started, or not killed because the child finished
first); the summary counts the trials killed mid-export. Exit status 1 on any failure.
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
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "export"))
sys.path.insert(0, str(ROOT / "src"))

TODAY = date(2024, 3, 31)
NOW = datetime(2024, 3, 31, 12, 0, tzinfo=timezone.utc)
DAYS, PER_DAY, LATENCY = 12, 25, 0.002
SUMMARY_LATENCY = 0.05

TARGETS = (
    "x.duckdb",
    "x.sqlite",
    "postgresql",
    "x.parquet",
    "out/",
    "x.jsonl",
    "x.jsonl.gz",
    "x.jsonl.zst",
    "x.csv",
    "x.csv.gz",
    "x.csv.zst",
)
# Phases the child reports once its target is open, until the export is complete.
MID_EXPORT = ("exporting", "saving", "reconciling", "finishing")


def _world():  # type: ignore[no-untyped-def]
    from export_fakeworld import FakeMatomo

    days = int(os.environ.get("CRASH_TRIAL_DAYS", DAYS))
    return FakeMatomo(TODAY, days=days, per_day=PER_DAY, seed=7)


def child(target: str) -> None:
    """Run one export to completion (or until killed); print `progress PHASE DONE TOTAL` lines."""
    import anyio

    from matomo_client.export import encode, engine, export_visits
    from matomo_client.export import run as export_run

    # Every page through the worker processes (these pages are far below the size that sends
    # them there by default), so that kills land while workers hold pages too.
    encode.MIN_WORKER_BODY = 0
    # SQL targets commit windows together, FLUSH_VISITS (2,000) visits at a time: this world
    # is far smaller, so everything would be committed at the very end. Commits of about three
    # windows each let kills land between commits, as they do in a large export.
    export_run.FLUSH_VISITS = 3 * PER_DAY
    # Closed days go in runs of three (one stream of pages for three windows, each written on
    # its own as the stream passes it), as a longer export does: kills land inside runs too.
    engine.run_days = lambda windows, lanes: 3
    world = _world()
    handle = world.handle

    def slow(request):  # type: ignore[no-untyped-def]
        # Matomo's counts (the reconciliation) take a while to come, as on a real server: the
        # end of the export is then long enough for the kills meant to land there.
        summary = "method=VisitsSummary.get" in request.path
        time.sleep(SUMMARY_LATENCY if summary else LATENCY)
        return handle(request)

    world.handle = slow  # type: ignore[method-assign]

    def progress(p: Any) -> None:
        # One write per line, straight to the file: a SIGKILL loses no reported progress.
        os.write(1, f"progress {p.phase} {p.windows_done} {p.windows_total}\n".encode())

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
                progress=progress,
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


@dataclass
class Outcome:
    """How a child run ended: exit code (-9 when killed) and the last progress it reported."""

    code: int
    seconds: float
    phase: str = "starting"  # before the first progress line: importing, listing, opening
    done: int = 0
    total: int = 0

    @property
    def killed(self) -> bool:
        """The child died of SIGKILL."""
        return self.code == -signal.SIGKILL

    @property
    def mid_export(self) -> bool:
        """Killed after opening its target and before the export was complete."""
        return self.killed and self.phase in MID_EXPORT

    def describe(self) -> str:
        """Where the kill landed, for the trial line."""
        if not self.killed:
            if self.code == 0:
                return "not killed (the export finished first)"
            return f"first run exited with {self.code}"
        at = f"killed at {self.seconds:.2f}s"
        if self.phase == "exporting":
            return f"{at} mid-export ({self.done} of {self.total} windows written)"
        if self.phase in MID_EXPORT:
            return f"{at} mid-export ({self.phase}, all {self.total} windows written)"
        if self.phase == "done":
            return f"{at} after the export completed"
        return f"{at} before the export started"


def _last_progress(out: Path, outcome: Outcome) -> None:
    """Update `outcome` from the last complete progress line in the child's output."""
    lines = out.read_bytes().split(b"\n")[:-1]  # a line still being written is ignored
    for line in reversed(lines):
        parts = line.decode(errors="replace").split()
        if len(parts) == 4 and parts[0] == "progress":
            outcome.phase, outcome.done, outcome.total = parts[1], int(parts[2]), int(parts[3])
            return


def _run_child(
    target: str,
    out: Path,
    kill_at: float | None = None,
    rnd: random.Random | None = None,
    max_delay: float | None = None,
) -> Outcome:
    """Run the export into `target`, its output in `out`.

    With `kill_at` (a fraction 0..1 of the windows), SIGKILL the child once it has reported
    that many windows written, plus a random part of one window's time, and at the latest
    `max_delay` seconds after it started exporting.
    """
    cmd = [sys.executable, __file__, "--child", target]
    err_path = out.with_suffix(".err")
    start = time.monotonic()
    with open(out, "wb") as stdout, open(err_path, "wb") as stderr:
        proc = subprocess.Popen(cmd, stdout=stdout, stderr=stderr)
    outcome = Outcome(0, 0.0)
    exporting_since: float | None = None
    deadline = start + 300  # a child that hangs is killed (and reported) all the same
    chosen = False
    # When the count of windows written last changed, and the time between its last two
    # changes: windows end in bursts (many run side by side), so the average since the start
    # would put the kill after the burst, often after the export.
    changed_at: float | None = None
    last_step = 0.05
    seen = 0
    while kill_at is not None and proc.poll() is None:
        now = time.monotonic()
        if not chosen:
            _last_progress(out, outcome)
            if outcome.phase in MID_EXPORT:
                if exporting_since is None:
                    exporting_since = changed_at = now
                    if max_delay is not None:
                        deadline = now + max_delay
                if outcome.done != seen and changed_at is not None:
                    last_step, changed_at, seen = now - changed_at, now, outcome.done
                if outcome.phase != "exporting" or outcome.done >= kill_at * outcome.total:
                    # The kill lands somewhere within about one more window's time.
                    deadline = min(deadline, now + (rnd or random).uniform(0, last_step))
                    chosen = True
        if now >= deadline:
            os.kill(proc.pid, signal.SIGKILL)
            outcome.seconds = now - start
            break
        time.sleep(0.002)
    try:
        proc.wait(timeout=300)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    outcome.code = proc.returncode
    _last_progress(out, outcome)  # what the child reported before it ended
    if not outcome.killed:
        outcome.seconds = time.monotonic() - start
        if outcome.code != 0:
            sys.stderr.write(err_path.read_text(errors="replace"))
    return outcome


class Postgres:
    """PostgreSQL for the `postgresql` target: a fresh database per trial."""

    def __init__(self, uri: str | None, tmp: str) -> None:
        self.server: Any = None
        self.base = uri
        self.error: str | None = None
        if uri is not None:
            return
        try:
            import pgserver

            self.server = pgserver.get_server(os.path.join(tmp, "pg"), cleanup_mode="stop")
            self.base = self.server.get_uri()
        except Exception as e:  # any failure means "no server": the reason is shown
            self.error = f"could not start PostgreSQL from the pgserver wheel: {e}"

    def fresh(self) -> str:
        """The URI of a new, empty database."""
        import psycopg

        assert self.base is not None
        name = "crash_" + uuid.uuid4().hex[:12]
        with psycopg.connect(self.base, autocommit=True) as con:
            con.execute(f"CREATE DATABASE {name}")
        head, sep, query = self.base.partition("?")
        return head.rsplit("/", 1)[0] + f"/{name}" + sep + query

    def close(self) -> None:
        """Stop the server this script started."""
        if self.server is not None:
            self.server.cleanup()


def trials(
    targets: list[str], n: int, seed: int, max_delay: float | None = None, pg_uri: str | None = None
) -> int:
    """Run `n` trials per target; print one line each; return the number of failures."""
    rnd = random.Random(seed)
    failures = killed = ran = 0
    with tempfile.TemporaryDirectory(prefix="matomo-crash-") as tmp:
        pg: Postgres | None = None
        try:
            for name in targets:
                if name == "postgresql":
                    pg = pg or Postgres(pg_uri, tmp)
                    if pg.error:
                        print(f"{name:16} skipped: {pg.error}", flush=True)
                        continue
                slug = name.strip("/").replace("/", "_")
                for i in range(n):
                    folder = os.path.join(tmp, f"{slug}-{i}")
                    os.makedirs(folder)
                    target = (
                        pg.fresh() if pg and name == "postgresql" else os.path.join(folder, name)
                    )
                    out = Path(folder, "child.out")
                    first = _run_child(target, out, rnd.random(), rnd, max_delay)
                    code = _run_child(target, out).code
                    problem = check(target) if code == 0 else f"re-run exited with {code}"
                    failures += problem is not None
                    killed += first.mid_export
                    ran += 1
                    print(
                        f"{name:16} trial {i + 1:2}: {first.describe()} -> {problem or 'ok'}",
                        flush=True,
                    )
        finally:
            if pg is not None:
                pg.close()
    print(f"{killed} of {ran} trials were killed mid-export")
    return failures


def main() -> int:
    """Command line entry point."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--child", metavar="TARGET", help=argparse.SUPPRESS)
    ap.add_argument("--trials", type=int, default=20)
    ap.add_argument(
        "--targets", default="all", help=f"comma-separated, or all: {', '.join(TARGETS)}"
    )
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--days", type=int, default=DAYS, help="days of data per site")
    ap.add_argument("--pg-uri", help="a PostgreSQL server to create trial databases on")
    ap.add_argument("--max-delay", type=float, help="latest kill, seconds after exporting began")
    args = ap.parse_args()
    if args.child:
        child(args.child)
        return 0
    names = list(TARGETS) if args.targets == "all" else args.targets.split(",")
    unknown = [t for t in names if t not in TARGETS]
    if unknown:
        ap.error(f"unknown target {', '.join(unknown)}: choose from {', '.join(TARGETS)} or all")
    os.environ["CRASH_TRIAL_DAYS"] = str(args.days)  # children inherit it
    failed = trials(names, args.trials, args.seed, args.max_delay, args.pg_uri)
    print("all trials exactly once" if not failed else f"{failed} trial(s) FAILED")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
