"""Round 10's leftovers in the export summary: the files a file target writes, PostgreSQL
targets shown whole (without their passwords), a target under a regular file."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from matomo_client.cli.display import ExportDisplay, console, render_summary, summary_json
from matomo_client.export import ExportSummary
from matomo_client.export.sinks.postgres import PostgresSink

from .conftest import invoke


def _text(summary: ExportSummary) -> str:
    out = io.StringIO()
    render_summary(summary, ExportDisplay(summary.kind, show=False), console(out))
    return out.getvalue()


@pytest.mark.parametrize(
    ("target", "kind", "line"),
    [
        ("x.jsonl.gz", "visits", "Files: x.visits.jsonl.gz, x.actions.jsonl.gz"),
        ("x.csv", "reports:week", "Files: x.reports.csv"),
        ("out/", "visits", "Folders: out/visits/, out/actions/"),
    ],
)
def test_the_summary_names_a_file_target_s_files(target: str, kind: str, line: str) -> None:
    """`--out x.jsonl.gz` writes `x.visits.jsonl.gz` and `x.actions.jsonl.gz`, and no
    `x.jsonl.gz`: the summary said only "visits export to x.jsonl.gz"."""
    summary = ExportSummary(kind, target, sites=[1])
    assert line in _text(summary).splitlines()
    files = line.partition(": ")[2].split(", ")
    assert summary_json(summary, ExportDisplay(kind, show=False))["files"] == files


@pytest.mark.parametrize("target", ["x.duckdb", "x.sqlite", "postgresql://u@db/x"])
def test_a_database_target_lists_no_files(target: str) -> None:
    """A database holds its tables: no Files line, and `files` is empty."""
    summary = ExportSummary("visits", target, sites=[1])
    assert "Files:" not in _text(summary)
    assert summary_json(summary, ExportDisplay("visits", show=False))["files"] == []


def test_json_files_are_the_files_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The `--json` summary's `files` exist after the export, each a table's whole file."""
    monkeypatch.chdir(tmp_path)
    result = invoke(["export", "visits", "--sandbox", "--site", "1", "--from", "last2", "--to",
                     "yesterday", "--workers", "0", "--out", "x.jsonl.gz", "--json"])  # fmt: skip
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["target"] == "x.jsonl.gz"
    assert summary["files"] == ["x.visits.jsonl.gz", "x.actions.jsonl.gz"]
    assert all((tmp_path / f).is_file() for f in summary["files"])
    assert not (tmp_path / "x.jsonl.gz").exists()


SCHEMA_URL = (
    "postgresql://postgres:s3cret@/wh?host=/tmp/pg&options=-csearch_path%3D{schema}"
    "&password=other-pw&sslpassword=key-pw"
)


@pytest.mark.parametrize("schema", ["s1", "s2"])
def test_a_postgres_target_keeps_its_query_but_no_password(schema: str) -> None:
    """A socket URL showed as `postgresql:/wh` (no `//`, the query cut): exports into two schemas
    of one database showed the same `target`. The query stays; no password shows."""
    sink = PostgresSink(SCHEMA_URL.format(schema=schema))
    summary = ExportSummary("visits", sink.target, sites=[1])
    shown = summary_json(summary, ExportDisplay("visits", show=False))["target"]
    assert shown == (
        "postgresql://postgres:***@/wh?host=/tmp/pg&options=-csearch_path%3D"
        f"{schema}&password=***&sslpassword=***"
    )
    text = _text(summary)
    assert f"search_path%3D{schema}&" in "".join(text.split())  # the title may fold it
    for secret in ("s3cret", "other-pw", "key-pw"):
        assert secret not in shown
        assert secret not in text
    # Given the raw URL (a library user's own summary), the passwords are masked too.
    raw = ExportSummary("visits", SCHEMA_URL.format(schema=schema), sites=[1])
    raw_json = json.dumps(summary_json(raw, ExportDisplay("visits", show=False)))
    assert not any(s in raw_json for s in ("s3cret", "other-pw", "key-pw"))


def test_a_target_under_a_regular_file_is_one_clear_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`--out plain.parquet/x.duckdb` said `[Errno 17] File exists: 'plain.parquet'`."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "plain.parquet").write_text("x")
    result = invoke(["export", "visits", "--sandbox", "--site", "1", "--from", "yesterday",
                     "--to", "yesterday", "--out", "plain.parquet/x.duckdb"])  # fmt: skip
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        "Error: cannot open plain.parquet/x.duckdb: plain.parquet is a file, not a folder"
    )
