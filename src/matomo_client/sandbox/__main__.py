"""`python -m matomo_client.sandbox`: run the sandbox as its own process.

Flags mirror `matomo sandbox` (SPEC section 3) plus the fault switches.
Example: python -m matomo_client.sandbox --port 0 --days 30 --latency-ms 20
"""

from __future__ import annotations

import argparse
from datetime import date

from .config import Faults, parse_viewers
from .server import serve


def main(argv: list[str] | None = None) -> None:
    """Parse flags and serve until interrupted."""
    p = argparse.ArgumentParser(prog="python -m matomo_client.sandbox", description=__doc__)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8765, help="0 picks a free port")
    p.add_argument("--token", default="sandbox-token")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--days", type=int, default=90)
    p.add_argument("--visits-per-day", type=int, default=50)
    p.add_argument("--extra-sites", type=int, default=0, help="add sites 4 to N+3")
    p.add_argument("--today", type=date.fromisoformat, default=None, help="YYYY-MM-DD")
    p.add_argument("--latency-ms", type=float, default=0.0)
    p.add_argument("--latency-jitter-ms", type=float, default=0.0)
    p.add_argument("--fault-rate", type=float, default=0.0, help="probability of 500/502/503")
    p.add_argument("--rate-429", type=float, default=0.0)
    p.add_argument("--retry-after", type=int, default=1)
    p.add_argument("--truncated-rate", type=float, default=0.0)
    p.add_argument("--html-error-rate", type=float, default=0.0)
    p.add_argument("--hang-rate", type=float, default=0.0)
    p.add_argument("--hang-s", type=float, default=30.0)
    p.add_argument(
        "--max-failed-logins",
        type=int,
        default=None,
        help="block every token after this many refused ones, as Matomo's brute-force check",
    )
    p.add_argument("--live-traffic", action="store_true")
    p.add_argument("--accept-token-in-get", action="store_true")
    p.add_argument("--live-disabled-site", type=int, action="append", default=[])
    p.add_argument(
        "--viewer",
        action="append",
        default=[],
        metavar="TOKEN:ID[,ID...]",
        help="another token, with view access to these sites only (repeatable)",
    )
    a = p.parse_args(argv)
    try:
        viewers = parse_viewers(a.viewer)
    except ValueError as e:
        p.error(f"--viewer: {e}")
    if a.token in viewers:
        p.error("--viewer: a viewer's token must differ from --token")
    if not 0 <= a.port <= 65535:
        p.error(f"--port: {a.port} is not in 0..65535")
    try:
        faults = Faults(
            error_5xx_rate=a.fault_rate,
            rate_429=a.rate_429,
            retry_after_s=a.retry_after,
            truncated_rate=a.truncated_rate,
            html_error_rate=a.html_error_rate,
            hang_rate=a.hang_rate,
            hang_s=a.hang_s,
            max_failed_logins=a.max_failed_logins,
        )
    except ValueError as e:
        p.error(str(e))
    # a bad value is one line from argparse, not a traceback (the messages never hold a token)
    try:
        serve(
            a.host,
            a.port,
            seed=a.seed,
            days=a.days,
            visits_per_day=a.visits_per_day,
            extra_sites=a.extra_sites,
            token=a.token,
            today=a.today,
            latency_ms=a.latency_ms,
            latency_jitter_ms=a.latency_jitter_ms,
            faults=faults,
            live_traffic=a.live_traffic,
            accept_token_in_get=a.accept_token_in_get,
            live_disabled_sites=frozenset(a.live_disabled_site),
            viewers=viewers,
        )
    except ValueError as e:
        p.error(str(e))
    except OSError as e:
        p.error(f"cannot listen on {a.host}:{a.port}: {e.strerror or e}")
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
