"""Sandbox tests: put `sandbox_support.py` (helpers) on `sys.path`.

The suite runs in importlib mode, where test folders are not packages; the anyio backend
fixture (asyncio and trio) comes from `tests/conftest.py`.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
