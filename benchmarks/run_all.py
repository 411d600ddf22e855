"""Run every benchmark figure in one go, print the markdown table, write benchmarks/results/.

Run: make bench   (or .venv/bin/python benchmarks/run_all.py [--only 1,4])
Writes benchmarks/results/latest.json and latest.md (git-ignored); the README's Performance
section and benchmarks/RESULTS.md hold a copy of the last table. Never part of `make test`.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import Figure, write_results

MODULES = {
    1: "fig1_latency",
    2: "fig2_cpu",
    3: "fig3_memory",
    4: "fig4_reports",
    5: "fig5_paging",
    6: "fig6_politeness",
    7: "fig7_limit",
}
# Not in the default run (`make bench` stays well under 10 minutes): `--only 8`.
EXTRA = {8: "fig8_quiet_days"}


def main() -> int:
    """Run the figures asked for (all by default); exit 1 if one could not run."""
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--only", default="", help="comma-separated figure numbers")
    a = p.parse_args()
    wanted = [int(x) for x in a.only.split(",") if x.strip()] or list(MODULES)
    figures: list[Figure] = []
    failed = False
    start = time.perf_counter()
    for n in wanted:
        t0 = time.perf_counter()
        module = MODULES.get(n) or EXTRA[n]
        print(f"figure {n} ({module}) ...", file=sys.stderr, flush=True)
        try:
            fig: Figure = importlib.import_module(module).run()
        except Exception:
            failed = True
            traceback.print_exc()
            continue
        fig.seconds = time.perf_counter() - t0
        print(f"figure {n}: {fig.measured} ({fig.seconds:.0f} s)", file=sys.stderr, flush=True)
        figures.append(fig)
    print(write_results(figures, time.perf_counter() - start))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
