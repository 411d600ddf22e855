"""Fault soak: long exports from a misbehaving sandbox, checked for exactly-once after each round.

    python scripts/soak_faults.py                         # 5 rounds, 90 days x 2 sites, DuckDB
    python scripts/soak_faults.py --rounds 20 --days 365 --visits-per-day 20 --target x.jsonl.gz
    python scripts/soak_faults.py --error-5xx 0.3 --hang 0.05 --timeout 0.3

Each round serves a fresh sandbox over HTTP on 127.0.0.1 (uvicorn in a thread, so hung answers
become real client timeouts) with the fault rates of issue 6 by default (10% 5xx, 2% 429 with
Retry-After, 1% truncated JSON, 1% HTML pages, 1% hung answers), exports every day into a fresh
target with real retry waits, and compares the target with the sandbox's world: every visit once,
nothing missing, nothing extra. One line per round; exit status 1 if any round fails.
"""

from __future__ import annotations

import argparse
import socket
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "export"))  # export_readers: each target's own reader
sys.path.insert(0, str(ROOT / "src"))


def _serve(app: Any) -> tuple[str, Any, threading.Thread]:
    import uvicorn

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(
        app, log_level="critical", lifespan="off", interface="asgi3", timeout_graceful_shutdown=1
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    return f"http://127.0.0.1:{sock.getsockname()[1]}/", server, thread


def one_round(args: argparse.Namespace, seed: int, workdir: str) -> tuple[bool, str]:
    """Export once through the faults; (ok, the round's line)."""
    import anyio
    from export_readers import read_rows

    from matomo_client import AsyncMatomo, Auth, RetryPolicy
    from matomo_client.export import export_visits
    from matomo_client.sandbox import Faults, Sandbox, SandboxConfig

    today = date(2024, 6, 30)
    now = datetime(2024, 6, 30, 12, tzinfo=timezone.utc)
    first, last = today - timedelta(days=args.days), today - timedelta(days=1)
    faults = Faults(
        error_5xx_rate=args.error_5xx,
        rate_429=args.rate_429,
        retry_after_s=args.retry_after,
        truncated_rate=args.truncated,
        html_error_rate=args.html,
        hang_rate=args.hang,
        hang_s=args.hang_s,
    )
    cfg = SandboxConfig(
        seed=seed,
        days=args.days + 1,
        visits_per_day=args.visits_per_day,
        today=today,
        faults=faults,
    )
    sb = Sandbox(cfg)
    target = str(Path(workdir) / f"round-{seed}" / args.target)
    Path(target).parent.mkdir(parents=True)
    url, server, thread = _serve(sb.app)
    started = time.monotonic()
    try:

        async def run() -> Any:
            policy = RetryPolicy(attempts=args.attempts, max_wait=args.max_wait)
            async with AsyncMatomo(
                url, auth=Auth.token(cfg.token), timeout=args.timeout, retry=policy
            ) as m:
                return await export_visits(
                    m, sites=[1, 2], start=first, end=last, target=target, now=now,
                    page_size=args.page_size, concurrency=args.concurrency,
                )  # fmt: skip

        try:
            summary = anyio.run(run)
        except Exception as e:  # a round that dies is reported, not raised
            return False, f"round seed={seed}: FAILED with {type(e).__name__}: {e}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
    took = time.monotonic() - started
    days = [first + timedelta(days=i) for i in range(args.days)]
    want = {(s, v.id_visit) for s in (1, 2) for d in days for v in sb.world.day_visits(s, d)}
    got = Counter((int(r["id_site"]), int(r["id_visit"])) for r in read_rows(target, "visits"))
    doubled = sum(1 for n in got.values() if n > 1)
    missing = len(want - set(got))
    extra = len(set(got) - want)
    faults_seen = Counter(r.fault for r in sb.requests if r.fault)
    ok = not (doubled or missing or extra or summary.mismatches)
    line = (
        f"round seed={seed}: {len(want)} visits, {summary.requests} requests, "
        f"{summary.retries} retries, faults {dict(sorted(faults_seen.items()))}, "
        f"{doubled} doubled, {missing} missing, {extra} extra, "
        f"{len(summary.mismatches)} mismatches, {took:.1f}s -> {'ok' if ok else 'FAILED'}"
    )
    return ok, line


def main() -> int:
    """Command line entry point."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--days", type=int, default=90)
    ap.add_argument("--visits-per-day", type=int, default=10)
    ap.add_argument("--target", default="soak.duckdb", help="file name (extension = sink)")
    ap.add_argument("--error-5xx", type=float, default=0.10)
    ap.add_argument("--rate-429", type=float, default=0.02)
    ap.add_argument("--retry-after", type=int, default=1)
    ap.add_argument("--truncated", type=float, default=0.01)
    ap.add_argument("--html", type=float, default=0.01)
    ap.add_argument("--hang", type=float, default=0.01)
    ap.add_argument("--hang-s", type=float, default=3.0)
    ap.add_argument("--timeout", type=float, default=1.0, help="client timeout per request")
    ap.add_argument("--attempts", type=int, default=10)
    ap.add_argument("--max-wait", type=float, default=2.0)
    ap.add_argument("--page-size", type=int, default=100)
    ap.add_argument("--concurrency", type=int, default=4)
    ap.add_argument("--seed", type=int, default=1, help="seed of the first round")
    args = ap.parse_args()
    failed = 0
    with tempfile.TemporaryDirectory(prefix="matomo-soak-") as workdir:
        for i in range(args.rounds):
            ok, line = one_round(args, args.seed + i, workdir)
            failed += not ok
            print(line, flush=True)
    print("all rounds exactly once" if not failed else f"{failed} round(s) FAILED")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
