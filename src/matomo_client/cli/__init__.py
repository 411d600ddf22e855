"""The `matomo` command line: a thin skin over `matomo_client` and `matomo_client.export`.

```
matomo check | sites | call METHOD k=v ... | export visits|reports ... | sandbox
```
Modules: `app` (the group, `main`, failure handling), `connection` (--url, the token,
--sandbox), `options` (shared option decorators, dates), `inspect` (check, sites, call),
`export` (export visits/reports), `display` (progress bars, summary table), `sandbox`,
`failures` (one-line errors and exit codes), `reference` (the markdown CLI reference).
"""

from __future__ import annotations

from .app import cli, main

__all__ = ["cli", "main"]
