"""Values read from Matomo's JSON, written back as JSON, whichever decoder read them.

orjson reads a JSON integer outside the 64-bit range as a float; msgspec (`page_structs.py`)
keeps it an exact `int`, which orjson then refuses to write. Such a value is written, and shown
in a text column, as the float orjson would have read: both decoders give the same rows.
"""

from __future__ import annotations

from typing import Any

import orjson

__all__ = ["ORJSON_INTS", "as_orjson_reads", "dumps"]

ORJSON_INTS = (-(2**63), 2**64 - 1)  # the integers orjson reads (and writes) as integers


def as_orjson_reads(value: Any) -> Any:
    """`value` with every integer outside `ORJSON_INTS` as the float orjson reads it as."""
    if type(value) is int:
        if ORJSON_INTS[0] <= value <= ORJSON_INTS[1]:
            return value
        try:
            return float(value)
        except OverflowError:  # beyond a double too: keep its digits rather than lose them
            return str(value)
    if type(value) is dict:
        return {k: as_orjson_reads(v) for k, v in value.items()}
    if type(value) is list:
        return [as_orjson_reads(v) for v in value]
    return value


def dumps(value: Any, option: int | None = None) -> bytes:
    """`orjson.dumps`, also for values holding integers beyond 64 bits (see the module doc)."""
    try:
        return orjson.dumps(value, option=option)
    except orjson.JSONEncodeError:
        return orjson.dumps(as_orjson_reads(value), option=option)
