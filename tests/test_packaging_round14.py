"""The package as a user installs it: declared dependency floors, `make` on a newcomer's Python,
`python -m matomo_client`. (Round 14 packaging review.)"""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import click
import pytest
from packaging.requirements import Requirement
from packaging.version import Version

import matomo_client

ROOT = Path(__file__).resolve().parent.parent


def _requirements(key: str) -> dict[str, Requirement]:
    """The requirements of pyproject's `key = [...]` list (dependencies, or an extra), by name."""
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")  # not tomllib: 3.10
    block = text.split(f"\n{key} = [", 1)[1].split("\n]", 1)[0]
    found = [Requirement(r) for r in re.findall(r'^\s*"([^"]+)",', block, re.MULTILINE)]
    return {r.name: r for r in found}


def _floor(requirement: Requirement) -> Version:
    """The lowest version a `>=` requirement allows."""
    (spec,) = [s for s in requirement.specifier if s.operator == ">="]
    return Version(spec.version)


def test_the_click_floor_has_what_the_cli_catches() -> None:
    """`click>=8.1` let pip keep click 8.1.x, which has no `NoArgsIsHelpError`: every failing
    command (`--from` after `--to`, an unknown site...) ended in an AttributeError traceback."""
    assert hasattr(click.exceptions, "NoArgsIsHelpError")  # caught in cli/app.py; new in 8.2
    assert _floor(_requirements("dependencies")["click"]) >= Version("8.2")


def test_make_test_installs_on_python_3_13() -> None:
    """pgserver has wheels for CPython 3.10-3.12 only: on 3.13 `make test` stopped at `uv sync`
    ("pgserver can't be installed"). There it is left out and the PostgreSQL tests skip."""
    pgserver = _requirements("dev")["pgserver"]
    assert pgserver.marker is not None
    for version, wanted in (("3.10", True), ("3.12", True), ("3.13", False), ("3.14", False)):
        env = {"python_version": version, "python_full_version": f"{version}.0", "extra": "dev"}
        assert pgserver.marker.evaluate(env) is wanted
    lock = (ROOT / "uv.lock").read_text(encoding="utf-8")
    assert '{ name = "pgserver", marker = "python_full_version < \'3.13\'" }' in lock


def test_the_version_is_the_one_pyproject_declares() -> None:
    """`matomo --version` and `matomo_client.__version__` say what pip installed."""
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    declared = re.search(r'^version = "([^"]+)"$', text, re.MULTILINE)
    assert declared is not None
    assert matomo_client.__version__ == declared.group(1)


def test_python_dash_m_matomo_client_runs_the_command() -> None:
    """Where the `matomo` script is not on PATH (a Windows user install), `python -m
    matomo_client` is the command; it said "'matomo_client' is a package and cannot be run"."""
    done = subprocess.run(
        [sys.executable, "-m", "matomo_client", "--version"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"matomo, version {matomo_client.__version__}\n"


@pytest.mark.skipif(shutil.which("make") is None, reason="no make on this machine")
def test_make_names_a_python_older_than_3_10(tmp_path: Path) -> None:
    """`make demo` with python3 older than 3.10 said `No matching distribution found for
    uv==0.13.8` (3.6, 3.7) or failed in uv: now it names the Python and how to pick another."""
    old = tmp_path / "python3"  # answers like Python 3.9: too old for the version check
    old.write_text(
        '#!/bin/sh\ncase "$2" in *platform*) echo "Python 3.9.18";; *) exit 1;; esac\n',
        encoding="utf-8",
    )
    old.chmod(old.stat().st_mode | stat.S_IXUSR)
    venv = tmp_path / "venv"
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAKE")}
    done = subprocess.run(
        ["make", "-s", "-C", str(ROOT), f"{venv}/bin/uv", f"VENV={venv}", f"PYTHON={old}"],
        capture_output=True, text=True, timeout=60, check=False, env=env,
    )  # fmt: skip
    assert done.returncode != 0
    assert f"matomo-client needs Python 3.10 or newer; {old} is Python 3.9.18." in done.stderr
    assert "PYTHON=python3.12" in done.stderr
    assert not venv.exists()


@pytest.mark.skipif(shutil.which("make") is None, reason="no make on this machine")
def test_make_sync_check_checks() -> None:
    """`sync-check` was declared phony with no recipe: `make sync-check` said "Nothing to be
    done" whether or not `_sync/` had drifted from `_async/`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAKE")}
    done = subprocess.run(
        ["make", "-n", "-C", str(ROOT), "sync-check"],
        capture_output=True, text=True, timeout=60, check=False, env=env,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "scripts/unasync.py --check" in done.stdout
