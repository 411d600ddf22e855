"""What every figure shares: the sandbox server process, timed subprocesses, result tables.

A figure module exposes `run() -> Figure`; `python benchmarks/figN_*.py` runs it alone and
prints its table, `benchmarks/run_all.py` runs all of them and writes `benchmarks/results/`.

Every child process (the `matomo` command, the baseline, the bench server) starts with its
bytecode cached, as an installed package does after its first run: `child_env` turns bytecode
writing back on (some machines, this one included, set PYTHONDONTWRITEBYTECODE=1, which makes
every start compile ~600 modules again, about 0.5-1 s) and keeps the cache under
`benchmarks/results/pycache` (git-ignored), and `warm_bytecode` fills it once per run before
anything is timed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results"
TOKEN = "sandbox-token"
PYCACHE = RESULTS / "pycache"
# The sandbox's "today": a week back, so every exported day is closed (settled) on any clock.
SANDBOX_TODAY = datetime.now(timezone.utc).date() - timedelta(days=7)


def day(offset: int) -> date:
    """The sandbox day `offset` days before its today (1 = its yesterday)."""
    return SANDBOX_TODAY - timedelta(days=offset)


def child_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of a timed child process: this one's, with bytecode caching on."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(PYCACHE)
    return {**env, **(extra or {})}


# What the children import, so that their bytecode is cached before the first timed start.
_WARM_IMPORTS = """
import aiohttp, duckdb, httpx, httpcore, orjson, pyarrow, pyarrow.parquet, rich.progress, rich.table
import uvicorn, zstandard, anyio._backends._asyncio
import matomo_client as m, matomo_client.export as e, matomo_client.cli.app
for name in m.__all__ + e.__all__:
    getattr(m if name in m.__all__ else e, name)
import matomo_client.export.sinks.duckdb, matomo_client.sandbox
import matomo_client.transports.aiohttp_transport
"""
_warmed = False


def warm_bytecode() -> None:
    """Import what the children import once, in a child, so their bytecode is cached."""
    global _warmed
    if _warmed:
        return
    # (The scripts run as __main__ are compiled at each start, as always; what they import is
    # cached.)
    subprocess.run([sys.executable, "-c", _WARM_IMPORTS], env=child_env(), cwd=ROOT, check=True)
    _warmed = True


def process_cpu_seconds(pid: int) -> float | None:
    """CPU time (user + system) of a running process so far, from /proc (None elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, AttributeError):
        return None


def children_cpu_seconds() -> float:
    """CPU time of this process's finished (waited-for) children and their own children."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def cpu_count() -> int:
    """The CPUs this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


@dataclass
class Server:
    """A running bench sandbox (`_server.py`) in its own process."""

    url: str
    proc: subprocess.Popen[str]

    def _get(self, path: str, method: str = "GET") -> Any:
        req = urllib.request.Request(
            self.url + path, method=method, data=b"" if method == "POST" else None
        )
        with urllib.request.urlopen(req, timeout=30) as r:
            return json.loads(r.read())

    def cpu_seconds(self) -> float | None:
        """CPU time (user + system) the server's processes have used so far (None: not Linux)."""
        seconds = [process_cpu_seconds(p) for p in (self.proc.pid, *_children(self.proc.pid))]
        return None if None in seconds else sum(s for s in seconds if s is not None)

    def stats(self) -> dict[str, Any]:
        """The server-side counters (see `_server.BenchApp.stats`)."""
        return dict(self._get("_bench/stats"))

    def reset(self) -> None:
        """Zero the server-side counters."""
        self._get("_bench/reset", "POST")

    def set_latency(self, ms: float) -> None:
        """Change the latency of every answer (cached or not) from now on."""
        self._get(f"_bench/latency?ms={ms}", "POST")

    @contextmanager
    def without_latency(self, latency_ms: float) -> Iterator[None]:
        """Answer at once while inside (filling the cache, untimed), then `latency_ms` again."""
        self.set_latency(0)
        try:
            yield
        finally:
            self.set_latency(latency_ms)


@contextmanager
def bench_server(
    *,
    days: int,
    visits_per_day: int,
    latency_ms: float = 0.0,
    cache: bool = False,
    log: bool = False,
    rate_429: float = 0.0,
    retry_after: int = 1,
    processes: int = 1,
) -> Iterator[Server]:
    """Start `_server.py` in a separate process (`processes` > 1: serving from that many, see
    `_server.py`); stop it (by its own pid) on exit."""
    cmd = [
        sys.executable,
        str(HERE / "_server.py"),
        "--days", str(days),
        "--visits-per-day", str(visits_per_day),
        "--today", SANDBOX_TODAY.isoformat(),
        "--latency-ms", str(latency_ms),
        "--rate-429", str(rate_429),
        "--retry-after", str(retry_after),
        "--processes", str(processes),
    ]  # fmt: skip
    cmd += ["--cache"] * cache + ["--log"] * log
    warm_bytecode()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, cwd=ROOT, env=child_env())
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        if not url.startswith("http"):
            raise RuntimeError(f"bench server did not start (printed {url!r})")
        server = Server(url, proc)
        for _ in range(200):
            try:
                server.stats()
                break
            except OSError:
                time.sleep(0.05)
        server.reset()
        yield server
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@dataclass
class Run:
    """A finished subprocess: wall seconds, peak RSS of that process, exit code, output.

    `children_rss_mb` is the sum of each child process's own peak (the export's workers);
    `cpu_s` is the CPU time of the process and of the children it waited for (its workers).
    """

    seconds: float
    max_rss_mb: float
    returncode: int
    stdout: str
    stderr: str
    children_rss_mb: float = 0.0
    cpu_s: float = 0.0

    def check(self, what: str) -> Run:
        """Raise with the output if the process failed."""
        if self.returncode != 0:
            raise RuntimeError(f"{what} failed ({self.returncode}):\n{self.stdout}\n{self.stderr}")
        return self


def _peak_rss_mb(pid: int) -> float | None:
    """The process's own high-water RSS (VmHWM), or None once it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def run_process(args: Sequence[str], env: dict[str, str] | None = None) -> Run:
    """Run a command, measuring its wall time and its own peak RSS.

    The peak is VmHWM read every 20 ms while the process runs (it only grows, so the last
    reading is the peak up to then). wait4's ru_maxrss is not used: Linux carries it across
    fork and exec, so a child would report this (large) benchmark process's peak.
    """
    warm_bytecode()
    full_env = child_env({"MATOMO_TOKEN": TOKEN, **(env or {})})
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        cpu_before = children_cpu_seconds()
        start = time.perf_counter()
        proc = subprocess.Popen(list(args), stdout=out, stderr=err, env=full_env, cwd=ROOT)
        peak = 0.0
        children: dict[int, float] = {}
        while proc.poll() is None:
            now = _peak_rss_mb(proc.pid)
            if now is not None:
                peak = max(peak, now)
            for child in _children(proc.pid):
                child_peak = _peak_rss_mb(child)
                if child_peak is not None:
                    children[child] = max(children.get(child, 0.0), child_peak)
            time.sleep(0.02)
        seconds = time.perf_counter() - start
        cpu = children_cpu_seconds() - cpu_before
        out.seek(0)
        err.seek(0)
        workers_rss = sum(children.values())
        return Run(seconds, peak, proc.returncode, out.read(), err.read(), workers_rss, cpu)


def _children(pid: int) -> list[int]:
    """The child processes of `pid` (Linux: /proc/<pid>/task/*/children)."""
    pids: list[int] = []
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            pids += [int(c) for c in (task / "children").read_text().split()]
    except (OSError, ValueError):
        pass
    return pids


def matomo_cli(*args: str) -> list[str]:
    """The `matomo` command line, run by this interpreter."""
    return [sys.executable, "-m", "matomo_client.cli", *args]


@dataclass
class Figure:
    """One figure's outcome: a detail table, the headline against its target, notes."""

    number: int
    title: str
    target: str
    measured: str
    met: bool | None
    header: list[str]
    rows: list[list[Any]]
    notes: list[str] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0

    def markdown(self) -> str:
        """The figure as a markdown section."""
        lines = [f"### {self.number}. {self.title}", ""]
        lines.append(f"Target: {self.target}. Measured: **{self.measured}** ({verdict(self.met)}).")
        lines += ["", table(self.header, self.rows)]
        if self.notes:
            lines += [""] + [f"- {n}" for n in self.notes]
        return "\n".join(lines) + "\n"


def verdict(met: bool | None) -> str:
    """met / NOT met / shown."""
    return "shown" if met is None else ("met" if met else "NOT met")


def fmt(value: Any) -> str:
    """A cell: floats to 3 significant-ish digits, ints with thousands separators."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.2f}" if abs(value) < 100 else f"{value:,.0f}"
    return str(value)


def table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A markdown table."""
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(fmt(c) for c in row) + " |" for row in rows]
    return "\n".join(out)


def machine() -> str:
    """CPU model, core count, memory and Python, for the README."""
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f", {kb / 1024 / 1024:.0f} GiB RAM"
    except (OSError, ValueError, IndexError):
        pass
    py = ".".join(map(str, sys.version_info[:3]))
    return f"{cpu}, {os.cpu_count()} cores{mem}, Python {py}, {sys.platform}"


def report(figures: Sequence[Figure], total_seconds: float) -> str:
    """The whole run as markdown: summary table, then each figure."""
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        f"Benchmarks run {stamp} on {machine()}; all figures in {total_seconds:.0f} s.",
        "",
        table(
            ["#", "figure", "target", "measured", "verdict"],
            [[f.number, f.title, f.target, f.measured, verdict(f.met)] for f in figures],
        ),
        "",
    ]
    lines += [f.markdown() for f in figures]
    return "\n".join(lines)


def write_results(figures: Sequence[Figure], total_seconds: float, name: str = "latest") -> str:
    """Write `results/<name>.json` and `.md`; return the markdown."""
    RESULTS.mkdir(exist_ok=True)
    md = report(figures, total_seconds)
    payload = {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": machine(),
        "total_seconds": round(total_seconds, 1),
        "figures": [asdict(f) for f in figures],
    }
    (RESULTS / f"{name}.json").write_text(json.dumps(payload, indent=2, default=str) + "\n")
    (RESULTS / f"{name}.md").write_text(md)
    return md


def standalone(run: Any) -> None:
    """`python benchmarks/figN_x.py`: run one figure, print it, write results/figN.*."""
    start = time.perf_counter()
    fig: Figure = run()
    fig.seconds = time.perf_counter() - start
    md = write_results([fig], fig.seconds, name=f"fig{fig.number}")
    print(md)
