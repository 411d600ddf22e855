"""Values read from Matomo's JSON, written back as JSON, whichever decoder read them.

orjson reads a JSON integer outside the 64-bit range as a float; msgspec (`page_structs.py`)
keeps it an exact `int`, which orjson then refuses to write. Such a value is written, and shown
in a text column, as the float orjson would have read: both decoders give the same rows.

orjson reads up to 1024 levels of nesting but writes at most 254. A value orjson refuses is
written here instead, scalar by scalar through orjson, without recursion. (Splicing pre-written
deep parts in with `orjson.Fragment` aborted the process, "double free", under orjson 3.13.0.)
"""

from __future__ import annotations

from typing import Any

import orjson

__all__ = ["ORJSON_INTS", "as_orjson_reads", "dumps"]

ORJSON_INTS = (-(2**63), 2**64 - 1)  # the integers orjson reads (and writes) as integers


def as_orjson_reads(value: Any) -> Any:
    """`value`, or the float orjson reads it as when it is an integer outside `ORJSON_INTS`."""
    if type(value) is not int or ORJSON_INTS[0] <= value <= ORJSON_INTS[1]:
        return value
    try:
        return float(value)
    except OverflowError:  # beyond a double too: keep its digits rather than lose them
        return str(value)


def dumps(value: Any, option: int | None = None) -> bytes:
    """`orjson.dumps`, also for integers beyond 64 bits and nesting deeper than orjson writes."""
    try:
        return orjson.dumps(value, option=option)
    except orjson.JSONEncodeError:
        return _dumps_slowly(value, option or 0)


def _dumps_slowly(value: Any, option: int) -> bytes:
    """What `orjson.dumps(value, option=option)` writes, for any depth and any integer: each
    scalar goes through orjson, containers are walked with a stack instead of recursion."""
    newline = option & orjson.OPT_APPEND_NEWLINE
    option &= ~orjson.OPT_APPEND_NEWLINE
    sort_keys = option & orjson.OPT_SORT_KEYS
    out: list[bytes] = []
    # What is left to write, last first: a value, or the bytes of a bracket, comma or key.
    todo: list[Any] = [value]
    while todo:
        item = todo.pop()
        t = type(item)
        if t is bytes:
            out.append(item)
        elif t is dict:
            out.append(b"{")
            todo.append(b"}")
            items = sorted(item.items()) if sort_keys else item.items()
            pending: list[Any] = []
            for k, v in items:
                pending += [b",", orjson.dumps(k) + b":", v]
            todo.extend(reversed(pending[1:]))  # no comma before the first key
        elif t is list:
            out.append(b"[")
            todo.append(b"]")
            pending = []
            for v in item:
                pending += [b",", v]
            todo.extend(reversed(pending[1:]))
        else:
            out.append(orjson.dumps(as_orjson_reads(item), option=option))
    if newline:
        out.append(b"\n")
    return b"".join(out)
