"""Every Python code block of the README runs, as written, against a served sandbox."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)


def test_readme_has_python_blocks() -> None:
    """The README shows code (so the parametrised test below is not vacuous)."""
    assert len(BLOCKS) >= 6


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_readme_block_runs(index: int, served_sandbox: str, tmp_path: Path) -> None:
    """README block number `index` runs to completion against the sandbox with no error."""
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
