"""Reliability tests: helpers next to the tests, and the export tests' target readers on `sys.path`.

`anyio_backend` (asyncio and trio) and the zero-wait retry switch come from `tests/conftest.py`.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
# export_readers.read_rows reads every target kind back with the target's own reader.
sys.path.insert(0, str(HERE.parent / "export"))
