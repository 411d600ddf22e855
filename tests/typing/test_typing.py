"""mypy --strict accepts tests/typing/check_types.py (and refuses its marked misuses)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent
ROOT = HERE.parent.parent


def _mypy(config: Path, checked: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    """mypy with `config` on one file, from the repository root."""
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", str(config), *extra, str(checked)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )


def test_public_api_types_check() -> None:
    """The typing file checks clean under the project's strict mypy configuration."""
    done = _mypy(ROOT / "pyproject.toml", HERE / "check_types.py")
    assert done.returncode == 0, done.stdout + done.stderr


def test_models_by_attribute_name_check_without_the_pydantic_plugin(tmp_path: Path) -> None:
    """An editor (no pydantic plugin) accepts `Site(id_site=1)`: aliases are not the init names."""
    config = tmp_path / "mypy.ini"
    config.write_text("[mypy]\nstrict = True\n")
    done = _mypy(config, HERE / "check_models_by_name.py", "--cache-dir", str(tmp_path / "cache"))
    assert done.returncode == 0, done.stdout + done.stderr


def test_integration_types_check() -> None:
    """Endpoint values, subclassed clients and misspelt names type as an integration needs."""
    done = _mypy(ROOT / "pyproject.toml", HERE / "check_ergonomics_round10.py")
    assert done.returncode == 0, done.stdout + done.stderr
