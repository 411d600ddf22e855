"""Every Python code block of the README runs, as written, against a served sandbox, and what
the README says about the files an export writes is what the command writes."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"
TEXT = README.read_text(encoding="utf-8")
BLOCKS = re.findall(r"```python\n(.*?)```", TEXT, flags=re.S)

# What some blocks must print (a block can run to the end while showing the wrong thing: the
# error example's `except MatomoError` branch, say). Keyed by a line only that block holds.
PRINTS: dict[str, list[str]] = {
    'Auth.token("not-a-valid-token")': [r"^API\.getMatomoVersion AUTH Unable to authenticate"],
    "for bad in (": [r"^refused: DateRange\.last\(0\)", r"^refused: range end", r"^refused: Limit"],
    "sb = Sandbox(SandboxConfig(seed=1": [r"^\d+ visits$"],
    "transport = MockTransport(answer)": [r"^5\.11\.2$"],
    "print(site.id_site, site.name": [r"^1 Shop UTC \d+$", r"^2 Blog Europe/Berlin \d+$"],
    "with serve_in_thread(sb) as url": [r"^\['Shop', 'Blog', 'Empty'\]$"],
    "summary = await export_visits(": [r"^ok: True \d+ visits \d+ actions \[\]$", r"│ week +│"],
}


def _block_of(marker: str) -> int:
    """The index of the one block holding `marker`."""
    found = [i for i, block in enumerate(BLOCKS) if marker in block]
    assert len(found) == 1, f"{marker!r} is in blocks {found}, not in exactly one"
    return found[0]


def test_readme_has_python_blocks() -> None:
    """The README shows code (so the parametrised test below is not vacuous)."""
    assert len(BLOCKS) >= 6
    for marker in PRINTS:
        _block_of(marker)


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_readme_block_runs(index: int, served_sandbox: str, tmp_path: Path) -> None:
    """README block number `index` runs to completion against the sandbox with no error, and
    prints what the README leads a reader to expect."""
    env = {**os.environ, "MATOMO_URL": served_sandbox, "MATOMO_TOKEN": "sandbox-token"}
    done = subprocess.run(
        [sys.executable, "-c", BLOCKS[index]],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, f"block {index} failed:\n{BLOCKS[index]}\n{done.stderr[-3000:]}"
    for marker, patterns in PRINTS.items():
        if marker in BLOCKS[index]:
            for pattern in patterns:
                assert re.search(pattern, done.stdout, re.M), (pattern, done.stdout[-2000:])


def _export(kind: str, day: str, out: str, cwd: Path) -> None:
    """`matomo export KIND --sandbox` of one closed day of site 1 into `out`."""
    args = ["--site", "1", "--from", day, "--to", day, "--out", out, "-q"]
    if kind == "reports":
        args += ["--report", "VisitsSummary.get"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("MATOMO_")}
    done = subprocess.run(
        [sys.executable, "-m", "matomo_client.cli", "export", kind, "--sandbox", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]


def test_the_out_table_names_the_files_an_export_writes(tmp_path: Path) -> None:
    """The README's `--out` table and its file-target notes: the names are the ones written."""
    day = (datetime.now(timezone.utc).date() - timedelta(days=2)).isoformat()  # site 1: UTC
    for out in ("x.jsonl", "x.parquet", "out/"):
        _export("visits", day, out, tmp_path)
        _export("reports", day, out, tmp_path)
    names = {str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*")}
    readme_says = [
        "x.visits.jsonl", "x.actions.jsonl",
        "x.jsonl._matomo_export.jsonl", "x.jsonl.parts",
        "x.visits.parquet", "x.actions.parquet", "x.reports.parquet",
        "out/visits/site=1/date=2024-01-01/part.parquet",
        "out/reports/site=1/day-2024-01-01.parquet",
    ]  # fmt: skip
    for name in readme_says:
        assert name in TEXT, f"{name} is no longer in the README: update this test"
        written = name.replace("2024-01-01", day)
        assert written in names, f"the README names {name}; the export wrote {sorted(names)}"


SQL_BLOCKS = re.findall(r"```sql\n(.*?)```", TEXT, flags=re.S)


def test_readme_sql_rebuilds_visitssummary_from_the_raw_tables(tmp_path: Path) -> None:
    """The README's SQL runs on an export of sites 1 (UTC) and 2 (Europe/Berlin), and its
    visit day gives, site by site and day by day, the visits the export recorded per window
    (which reconciliation checked against Matomo's own `VisitsSummary`)."""
    import duckdb

    assert len(SQL_BLOCKS) == 1
    days = [(datetime.now(timezone.utc).date() - timedelta(days=n)).isoformat() for n in (3, 2)]
    env = {k: v for k, v in os.environ.items() if not k.startswith("MATOMO_")}
    done = subprocess.run(
        [sys.executable, "-m", "matomo_client.cli", "export", "visits", "--sandbox", "--site",
         "1,2", "--from", days[0], "--to", days[1], "--out", "x.duckdb", "-q"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    db = duckdb.connect(str(tmp_path / "x.duckdb"))
    statements = [s for s in SQL_BLOCKS[0].split(";") if s.strip()]
    results = [db.execute(s).fetchall() for s in statements]
    summary, pageviews = results[2], results[3]
    recorded = db.execute(
        "SELECT id_site, day, visits FROM _matomo_export WHERE kind = 'visits' AND visits > 0 "
        "ORDER BY ALL"
    ).fetchall()
    assert sorted((s, d, n) for s, d, n, *_ in summary) == recorded
    assert {s for s, *_ in summary} == {1, 2}
    assert (
        sum(n for *_, n, _ in pageviews)
        == db.execute("SELECT count(*) FROM actions WHERE type = 'action'").fetchone()[0]
    )
