"""The `matomo` command line: a thin skin over `matomo_client` and `matomo_client.export`.

```
matomo check | sites | call METHOD k=v ... | export visits|reports ... | sandbox
```
Modules: `app` (the group, `main`, failure handling), `connection` (--url, the token,
--sandbox), `options` (shared option decorators, dates), `inspect` (check, sites, call),
`export` (export visits/reports), `display` (progress bars, summary table), `sandbox`,
`failures` (one-line errors and exit codes), `reference` (the markdown CLI reference).
Heavy dependencies (the HTTP libraries and the client's models, rich, anyio, DuckDB) are
imported inside the commands that use them, so `matomo --help` or a mistyped option answers at
once (tests/cli/test_lazy_imports.py keeps it so).
"""

from __future__ import annotations

from .app import cli, main

__all__ = ["cli", "main"]
