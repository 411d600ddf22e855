"""Generate the blocking client (`src/matomo_client/_sync/`) from the async one (`_async/`).

    python scripts/unasync.py          # rewrite the generated files
    python scripts/unasync.py --check  # exit 1 if they drifted (run by the test suite)

Only token-level rewrites: the async code is the single source of truth.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src" / "matomo_client" / "_async"
DST = ROOT / "src" / "matomo_client" / "_sync"
FILES = ("client.py", "driver.py", "httpx_transport.py", "modules.py")

SUBS: list[tuple[str, str]] = [
    (r"\basync def\b", "def"),
    (r"\basync with\b", "with"),
    (r"\basync for\b", "for"),
    (r"\bawait ", ""),
    (r"\b__aenter__\b", "__enter__"),
    (r"\b__aexit__\b", "__exit__"),
    (r"\baclose\b", "close"),
    (r"\baclosing\b", "closing"),
    (r"\bAsyncIterator\b", "Iterator"),
    (r"\bAsyncGenerator\[(.+?), None\]", r"Generator[\1, None, None]"),
    (r"\bAsyncGenerator\b", "Generator"),
    (r"\bAsyncExitStack\b", "ExitStack"),
    (r"\benter_async_context\b", "enter_context"),
    (r"\bAbstractAsyncContextManager\b", "AbstractContextManager"),
    (r"\bAsyncMatomo\b", "Matomo"),
    (r"\bAsyncTransport\b", "SyncTransport"),
    (r"\bAsyncHttpxTransport\b", "HttpxTransport"),
    (r"\bhttpx\.AsyncClient\b", "httpx.Client"),
    (r"\bmatomo_client\._async\b", "matomo_client._sync"),
    (r"\bAsync(\w+Module)\b", r"\1"),
    (r"\bStopAsyncIteration\b", "StopIteration"),
    (r"\bcontextlib\.asynccontextmanager\b", "contextlib.contextmanager"),
    (r"\baiter_bytes\b", "iter_bytes"),
    (r"\basync client\b", "sync client"),
    (r"\bAsync client\b", "Blocking client"),
]
HEADER = "# Generated from src/matomo_client/_async/{name} by scripts/unasync.py. Do not edit.\n"


def convert(text: str) -> str:
    """Apply the token rewrites to one file's text."""
    for pattern, repl in SUBS:
        text = re.sub(pattern, repl, text)
    return text


def render(name: str) -> str:
    """The formatted sync twin of one async file."""
    out = HEADER.format(name=name) + convert((SRC / name).read_text())
    ruff = str(Path(sys.executable).parent / "ruff")
    stdin = ["--stdin-filename", str(DST / name), "-"]
    for args in (["check", "--fix", "--select", "I,RUF022", "--exit-zero"], ["format"]):
        out = subprocess.run(
            [ruff, *args, "--quiet", *stdin],
            input=out,
            capture_output=True,
            text=True,
            check=True,
            cwd=ROOT,
        ).stdout
    return out


def main(argv: list[str]) -> int:
    """Write (or with --check, compare) every generated file."""
    check = "--check" in argv
    drifted = []
    for name in FILES:
        wanted = render(name)
        target = DST / name
        if check:
            if not target.exists() or target.read_text() != wanted:
                drifted.append(str(target.relative_to(ROOT)))
        else:
            target.write_text(wanted)
    if drifted:
        print("out of date (run python scripts/unasync.py):", ", ".join(drifted))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
