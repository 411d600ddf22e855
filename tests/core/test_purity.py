"""The core is pure: it imports with every HTTP, event-loop and socket library blocked."""

from __future__ import annotations

import pkgutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import matomo_client

PACKAGE = Path(matomo_client.__file__).parent
CORE = sorted(
    f"matomo_client._core.{m.name}" for m in pkgutil.iter_modules([str(PACKAGE / "_core")])
)
# Not `selectors`: on Python 3.10 `uuid` (which orjson imports) loads `subprocess` and with it
# `selectors`, and orjson's import then crashes the interpreter instead of raising.
BLOCKED = ("httpx", "httpcore", "anyio", "asyncio", "trio", "socket", "ssl")

# Runs in a fresh interpreter: a meta-path finder refuses the blocked modules, and the
# `matomo_client` package is stubbed so that its __init__ (which loads the clients) is skipped.
SCRIPT = textwrap.dedent(
    """
    import importlib, sys, types

    BLOCKED = {blocked!r}

    class Blocker:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in BLOCKED:
                raise ImportError(f"the pure core imported {{name}}")
            return None

    already = [m for m in BLOCKED if m in sys.modules]
    assert not already, f"imported before the test started: {{already}}"
    sys.meta_path.insert(0, Blocker())
    package = types.ModuleType("matomo_client")
    package.__path__ = [{package!r}]
    sys.modules["matomo_client"] = package
    for name in sys.argv[1:]:
        importlib.import_module(name)
    loaded = sorted(m for m in sys.modules if m.split(".")[0] in BLOCKED)
    assert not loaded, loaded
    print("ok", len(sys.argv) - 1)
    """
).format(blocked=BLOCKED, package=str(PACKAGE))


def _import(*modules: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", SCRIPT, *modules], capture_output=True, text=True, check=False
    )


def test_core_modules_are_found() -> None:
    """The purity check covers every module of the core (at least the known ones)."""
    assert {"periods", "params", "auth", "url", "http", "flow", "paging", "decode", "retry"} <= {
        name.rsplit(".", 1)[1] for name in CORE
    }


def test_core_and_errors_import_with_io_blocked() -> None:
    """Every `_core` module and `matomo_client.errors` import with the I/O libraries blocked."""
    done = _import("matomo_client._core", *CORE, "matomo_client.errors")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"ok {len(CORE) + 2}"


@pytest.mark.parametrize(
    "module", ["matomo_client._async.driver", "matomo_client.transports.httpx_transport"]
)
def test_the_blocker_works(module: str) -> None:
    """The same check fails for modules that do use I/O libraries (so it can fail at all)."""
    done = _import(module)
    assert done.returncode != 0
    assert "ImportError" in done.stderr
