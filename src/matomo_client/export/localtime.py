"""Action times as UTC instants.

Matomo writes an action's `timestamp` (`actionDetails[].timestamp`) shifted by the site's UTC
offset: it formats the UTC instant as the site's wall-clock time and reads that back as if it
were UTC (`Date::factory($time, $timezone)->getTimestamp()` in its Actions plugin; recorded: a
Europe/Berlin action at 18:36:03 UTC comes as 19:36:03). The visits' own times are UTC. The
export stores instants, so each action time goes back by the offset its site had then.

One offset covers nearly every page, so the common case is one subtraction per action. Around a
daylight-saving change each time is resolved on its own; a wall-clock time that happened twice
(the hour repeated in autumn) is the first reading not before the visit's previous action;
a visit whose actions fall in both passes of that hour can still have its later ones read an
hour early (both readings keep them in order, and nothing else in the page tells them apart).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta, timezone, tzinfo
from typing import Any

from .coerce import _to_ts

__all__ = ["utc_action_times"]

_EPOCH = datetime(1970, 1, 1)
# Offsets are sampled this far apart around a page's times: changes come months apart.
_STEP = 3 * 3600
_MARGIN = 15 * 3600  # more than any UTC offset
_REACH = -(-_MARGIN // _STEP)  # steps within any offset of a time
# The times shifted: those a datetime holds with a day to spare (years 1 to 9999). Others stay
# as they are (`coerce` keeps one out of range in `extra`); asking their offset raised, or took
# 40 s a page.
_LOWEST, _HIGHEST = -62_135_596_800 + 86_400, 253_402_300_799 - 86_400


def utc_action_times(
    local: Sequence[Any],
    tz: tzinfo,
    counts: Sequence[int],
    firsts: Sequence[Any],
    lasts: Sequence[Any],
) -> Sequence[Any]:
    """The actions' Matomo times `local` as UTC unix seconds, for a site in `tz`; `counts` is
    each visit's number of actions (the actions follow their visits in order), `firsts` and
    `lasts` each visit's first and last action time (UTC). Values the export does not store as
    a time stay as they are."""
    ints = [v for v in local if type(v) is int]
    if len(ints) != len(local) and any(type(v) not in (int, type(None)) for v in local):
        parsed = [v if type(v) is int else _as_time(v) for v in local]  # "1795894563", 1.79e9
        if sum(type(v) is int for v in parsed) != len(ints):
            local = parsed
            ints = [v for v in local if type(v) is int]
    ints = [v for v in ints if _LOWEST <= v <= _HIGHEST]
    if not ints:
        return local
    # Sampled around each 3-hour slot that holds a time, not over the page's whole span: one
    # time far from the others (0, say) made it hundreds of thousands of samples.
    slots = {v // _STEP for v in ints}
    slots = {slot + k for slot in slots for k in range(-_REACH, _REACH + 2)}
    offsets = {_offset(slot * _STEP, tz) for slot in slots}
    if len(offsets) == 1:
        shift = offsets.pop()
        if not shift:
            return local
        return [v - shift if type(v) is int and _LOWEST <= v <= _HIGHEST else v for v in local]
    out: list[Any] = []
    at = 0
    for n, first, last in zip(counts, firsts, lasts, strict=True):
        # A visit's actions come in time order: each is the first reading not before the last.
        first, last = _as_time(first), _as_time(last)
        after = first if type(first) is int else None
        for v in local[at : at + n]:
            if type(v) is int and _LOWEST <= v <= _HIGHEST:
                v = _resolve(v, tz, after, last if type(last) is int else None)
                after = v
            out.append(v)
        at += n
    return out


def _as_time(value: Any) -> Any:
    """`value` as the integer the export stores for it (`coerce`: "1795894563", 1795894563.0,
    " 1795894563 "), else as it is: shifted or not, it is stored as the same kind of value."""
    if value is None or isinstance(value, bool):
        return value
    try:
        return _to_ts(value)
    except (TypeError, ValueError, OverflowError):
        return value


def _offset(instant: int, tz: tzinfo) -> int:
    """The UTC offset of `tz` at the UTC instant `instant`, in seconds."""
    offset = datetime.fromtimestamp(instant, timezone.utc).astimezone(tz).utcoffset()
    return int(offset.total_seconds()) if offset is not None else 0


def _resolve(local: int, tz: tzinfo, after: int | None, last: int | None) -> int:
    """The UTC instant whose wall-clock time in `tz` is `local` (read as UTC); of two (the hour
    repeated in autumn), the earlier one within `after`..`last`, else the earlier one."""
    wall = _EPOCH + timedelta(seconds=local)
    found = set()
    for fold in (0, 1):
        instant = int(wall.replace(tzinfo=tz, fold=fold).timestamp())
        if instant + _offset(instant, tz) == local:
            found.add(instant)
    if not found:  # a time the clocks skipped: not one Matomo writes
        return local - _offset(local, tz)
    inside = [u for u in found if (after is None or u >= after) and (last is None or u <= last)]
    return min(inside or found)
