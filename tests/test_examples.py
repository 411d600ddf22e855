"""The scripts in examples/ run as a user would run them, against the in-process sandbox."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def run(script: str, *args: str, cwd: Path) -> str:
    """Run one example with MATOMO_URL unset (so it uses the sandbox); return its stdout."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MATOMO_")}
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / script), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_quickstart(tmp_path: Path) -> None:
    """The quick start prints the version, the month's summary and some pages."""
    out = run("quickstart.py", cwd=tmp_path)
    assert "Matomo 5." in out
    assert "visits" in out


def test_stream_visits_to_jsonl(tmp_path: Path) -> None:
    """Streaming writes one JSON line per visit, each visit once."""
    out = run("stream_visits_jsonl.py", "v.jsonl", cwd=tmp_path)
    lines = (tmp_path / "v.jsonl").read_text().splitlines()
    assert f"wrote {len(lines)} visits" in out
    assert len(lines) > 0
    import json

    ids = [json.loads(line)["id_visit"] for line in lines]
    assert len(ids) == len(set(ids))


def test_resumable_cursor_resumes_to_the_same_result(tmp_path: Path) -> None:
    """Stopping after two pages and running again exports exactly what one uninterrupted run does."""
    first = run("resumable_cursor.py", "--stop-after", "2", "--out", "a.jsonl", cwd=tmp_path)
    assert "stopped after 2 pages" in first
    assert (tmp_path / "cursor.json").exists()
    run("resumable_cursor.py", "--out", "a.jsonl", cwd=tmp_path)
    assert not (tmp_path / "cursor.json").exists()
    run("resumable_cursor.py", "--out", "b.jsonl", cwd=tmp_path)
    import json

    resumed = [json.loads(x)["idVisit"] for x in (tmp_path / "a.jsonl").read_text().splitlines()]
    straight = [json.loads(x)["idVisit"] for x in (tmp_path / "b.jsonl").read_text().splitlines()]
    assert sorted(resumed) == sorted(straight)
    assert len(resumed) == len(set(resumed)) > 20


def test_bulk_request(tmp_path: Path) -> None:
    """The bulk example answers every item and reports the unknown method on its own."""
    out = run("bulk_request.py", cwd=tmp_path)
    assert "VisitsSummary.nope: failed (NOT_FOUND)" in out
    assert "VisitsSummary.get: {" in out


def test_the_readme_names_every_example() -> None:
    """The README's list of examples/ is the scripts that are there (not the shared helper)."""
    readme = (EXAMPLES.parent / "README.md").read_text(encoding="utf-8")
    scripts = {p.name for p in EXAMPLES.glob("*.py") if not p.name.startswith("_")}
    import re

    named = set(re.findall(r"`(?:examples/)?([a-z_]+\.py)`", readme))
    assert named == scripts, (sorted(scripts - named), sorted(named - scripts))
