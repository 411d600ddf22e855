"""The state journal of a file target (`x.jsonl.gz._matomo_export.jsonl`, see `files.py`).

One JSON line per entry: a job header (`type: job`), a window's record (`type: window`; the
last line for a window wins), or a `replace` naming the temp files and parts of windows written
again, journalled before they are renamed into place. A line cut short by a crash is dropped
when the journal is read. These functions read and write the lines and answer questions about
them; `FileSink` keeps the lines it read and appended, and deals with the part files.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

import orjson

from ..state import ExportState, JobInfo, WindowRecord
from .base import period_of, tables_for

__all__ = [
    "PartKey",
    "append_journal",
    "command",
    "journal_state",
    "lost_message",
    "lost_windows",
    "read_journal",
    "recorded_windows",
    "rewrite_journal",
    "unfinished_replace",
]

# Where a window's journal record counts the rows of each table: a count of 0 means the window
# needs no part for that table (an empty part is written only to give a directory target's
# table a schema, see `FileSink._write_empty_tables`); None (not counted) means it may.
_COUNT_FIELD = {"visits": "visits", "actions": "actions", "reports": "rows"}

# A part present on disk: (table, kind, id_site, day).
PartKey = tuple[str, str, int, date]

Entry = dict[str, Any]


def read_journal(path: Path) -> list[Entry]:
    """The journal's entries (none if it does not exist); a last line cut short by a crash is
    trimmed from the file, so that lines appended later stay parseable."""
    if not path.exists():
        return []
    data = path.read_bytes()
    cut = data.rfind(b"\n") + 1
    if cut != len(data):  # a line cut short by a crash: drop it so appends stay parseable
        with open(path, "r+b") as f:
            f.truncate(cut)
    return [orjson.loads(line) for line in data[:cut].splitlines() if line.strip()]


def append_journal(path: Path, entries: Sequence[Entry]) -> None:
    """Append `entries` to the journal, one line each, in one write."""
    payload = b"".join(orjson.dumps(e) + b"\n" for e in entries)
    with open(path, "ab") as f:
        f.write(payload)
        f.flush()


def rewrite_journal(path: Path, entries: list[Entry]) -> None:
    """Replace the journal with `entries` (temp file + `os.replace`: atomic)."""
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        f.write(b"".join(orjson.dumps(e) + b"\n" for e in entries))
    os.replace(tmp, path)


def _window_key(e: Entry) -> tuple[Any, ...]:
    """A journal line's window: (kind, id_site, day)."""
    return (e.get("kind"), e.get("id_site"), e.get("day"))


def unfinished_replace(records: Sequence[Entry]) -> tuple[Entry, list[Entry]] | None:
    """A `replace` a crash cut short (the journal's last line but for some of its windows), with
    its windows not journalled after it; None if there is none."""
    i = len(records) - 1
    while i >= 0 and records[i].get("type") == "window":
        i -= 1
    if i < 0 or records[i].get("type") != "replace":
        return None
    entry = records[i]
    after = {_window_key(e) for e in records[i + 1 :]}
    if not after <= {_window_key(w) for w in entry["windows"]}:
        return None  # other windows were written after it: it was finished
    missing = [w for w in entry["windows"] if _window_key(w) not in after]
    if not missing:
        return None
    return entry, missing


def recorded_windows(records: Sequence[Entry]) -> set[tuple[str, int, date]]:
    """The windows the journal records: (kind, id_site, day)."""
    return {
        (e["kind"], int(e["id_site"]), date.fromisoformat(e["day"]))
        for e in records
        if e.get("type") == "window"
    }


def lost_windows(records: Sequence[Entry], present: set[PartKey]) -> list[tuple[Entry, list[str]]]:
    """Each window's last record that counts rows in a table whose part is not in `present`,
    with those tables."""
    last = {
        (e["kind"], int(e["id_site"]), date.fromisoformat(e["day"])): e
        for e in records
        if e.get("type") == "window"
    }
    lost = []
    for key, e in last.items():
        missing = [
            t.name
            for t in tables_for(key[0])
            if e.get(_COUNT_FIELD[t.name]) != 0 and (t.name, *key) not in present
        ]
        if missing:
            lost.append((e, missing))
    return lost


def journal_state(records: Sequence[Entry], kind: str) -> ExportState:
    """The journal's view of `kind`: last header, last record per window."""
    state = ExportState(kind)
    for e in records:
        if e.get("kind") != kind:
            continue
        if e.get("type") == "job":
            state.job = JobInfo(kind, e["params"], e["fingerprint"])
        elif e.get("type") == "window":
            rec = WindowRecord.from_json(e)
            state.windows[(rec.id_site, rec.day)] = rec
    return state


def lost_message(
    target: str,
    parts_root: Path,
    lost: list[tuple[Entry, list[str]]],
    kind: str | None = None,
) -> str:
    """Why the final files of `target` are not rebuilt: windows recorded with rows lost their
    parts (`kind`: the running export's)."""
    other = [(e, tables) for e, tables in lost if kind is not None and e["kind"] != kind]
    if other:  # --restart would not help: it resets only this run's export
        return (
            f"not rebuilding the files of {target}: {len(other)} window(s) of its other export "
            f"lost their parts in {parts_root} ({_lost_list(other)}): run that export's command "
            f"again ({command(other[0][0]['kind'])} with its own options), which fetches them, "
            "or restore them"
        )
    return (
        f"not rebuilding the files of {target}: {len(lost)} window(s) recorded as exported "
        f"lost their parts in {parts_root} ({_lost_list(lost)}) and this run did not fetch them "
        "again (they are not among its windows); restore them, or start over with --restart "
        "(restart=True), which keeps only the run's windows"
    )


def _lost_list(lost: list[tuple[Entry, list[str]]]) -> str:
    shown = "; ".join(
        f"{'/'.join(tables)} of site {e['id_site']}, {e['day']}" for e, tables in lost[:3]
    )
    return shown + (f" and {len(lost) - 3} more" if len(lost) > 3 else "")


def command(kind: str) -> str:
    """The command line that runs an export of `kind` (`visits`, `reports:week`)."""
    if kind == "visits":
        return "`matomo export visits`"
    return f"`matomo export reports --period {period_of(kind)}`"
