"""The generated CLI reference matches the README, and the `make demo` steps print true counts."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from matomo_client.cli.reference import render

from .conftest import REPO, clean_env, run_cli

START = "<!-- cli-reference:start -->"
END = "<!-- cli-reference:end -->"


def test_reference_covers_every_command() -> None:
    """The reference holds the help of every command, each with its example."""
    text = render()
    for path in ("matomo", "matomo check", "matomo sites", "matomo call", "matomo export",
                 "matomo export visits", "matomo export reports", "matomo sandbox"):  # fmt: skip
        assert f"### `{path}`" in text
        assert f"Usage: {path}" in text
    assert text.count("Example:") == 8
    for section in text.split("### ")[1:]:
        if not section.startswith("`matomo sandbox`"):  # the sandbox's --token is its own
            assert "--token " not in section  # the refused option stays out of the docs


def test_reference_is_stable() -> None:
    """Rendering twice gives the same text (no terminal width or environment leaks in)."""
    assert render() == render()


def test_readme_cli_reference_is_current() -> None:
    """The README's CLI reference section is exactly `python -m matomo_client.cli.reference`."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    if START not in readme or END not in readme:
        pytest.skip("README has no CLI reference section yet")
    section = readme.split(START, 1)[1].split(END, 1)[0]
    assert section.strip() == render().strip(), (
        "README CLI reference is out of date: paste `python -m matomo_client.cli.reference`"
    )


def test_reference_module_prints_render() -> None:
    """`python -m matomo_client.cli.reference` prints exactly `render()`."""
    done = subprocess.run(
        [sys.executable, "-m", "matomo_client.cli.reference"],
        capture_output=True,
        text=True,
        env=clean_env(),
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == render()


def test_make_demo_steps(tmp_path: Path) -> None:
    """The demo export then examples/show_export.py print the counts the DuckDB file holds."""
    export = run_cli(
        ["export", "visits", "--sandbox", "--site", "all", "--from", "last7", "--to",
         "yesterday", "--out", "demo.duckdb"],
        cwd=tmp_path,
    )  # fmt: skip
    assert export.returncode == 0, export.stderr
    assert "Reconciled" in export.stdout
    shown = subprocess.run(
        [sys.executable, str(REPO / "examples" / "show_export.py"), "demo.duckdb"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=clean_env(),
        timeout=60,
    )
    assert shown.returncode == 0, shown.stderr
    with duckdb.connect(str(tmp_path / "demo.duckdb"), read_only=True) as db:
        visits = db.execute("SELECT count(*) FROM visits").fetchall()[0][0]
        actions = db.execute("SELECT count(*) FROM actions").fetchall()[0][0]
        top = db.execute(
            "SELECT url, count(*) FROM actions WHERE type = 'action' GROUP BY url "
            "ORDER BY 2 DESC, url LIMIT 10"
        ).fetchall()
    assert visits > 0
    assert re.search(rf"^visits: {visits}$", shown.stdout, re.M)
    assert re.search(rf"^actions: {actions}$", shown.stdout, re.M)
    printed = re.findall(r"^\s+(\d+)\s+\d+\s+(\S+)$", shown.stdout, re.M)
    assert [(url, int(n)) for n, url in printed] == [(url, n) for url, n in top]
    assert f"{visits:,}" in export.stdout
