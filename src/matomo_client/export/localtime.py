"""Action times as UTC instants.

Matomo writes an action's `timestamp` (`actionDetails[].timestamp`) shifted by the site's UTC
offset: it formats the UTC instant as the site's wall-clock time and reads that back as if it
were UTC (`Date::factory($time, $timezone)->getTimestamp()` in its Actions plugin; recorded: a
Europe/Berlin action at 18:36:03 UTC comes as 19:36:03). The visits' own times are UTC. The
export stores instants, so each action time goes back by the offset its site had then.

One offset covers nearly every page, so the common case is one subtraction per action. Around a
daylight-saving change each time is resolved on its own; a wall-clock time that happened twice
(the hour repeated in autumn) is the first reading not before the visit's previous action.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta, timezone, tzinfo
from typing import Any

__all__ = ["utc_action_times"]

_EPOCH = datetime(1970, 1, 1)
# Offsets are sampled this far apart over a page's times: changes come months apart.
_STEP = 3 * 3600
_MARGIN = 15 * 3600  # more than any UTC offset


def utc_action_times(
    local: Sequence[Any],
    tz: tzinfo,
    counts: Sequence[int],
    firsts: Sequence[Any],
    lasts: Sequence[Any],
) -> Sequence[Any]:
    """The actions' Matomo times `local` as UTC unix seconds, for a site in `tz`; `counts` is
    each visit's number of actions (the actions follow their visits in order), `firsts` and
    `lasts` each visit's first and last action time (UTC). Values other than integers and
    strings of digits stay as they are."""
    ints = [v for v in local if type(v) is int]
    if len(ints) != len(local) and any(
        type(v) is str and v.isascii() and v.isdigit() for v in local
    ):
        local = [
            int(v) if type(v) is str and v.isascii() and v.isdigit() else v for v in local
        ]  # "1795894563"
        ints = [v for v in local if type(v) is int]
    if not ints:
        return local
    lo, hi = min(ints), max(ints)
    offsets = {_offset(t, tz) for t in range(lo - _MARGIN, hi + _MARGIN + _STEP, _STEP)}
    if len(offsets) == 1:
        shift = offsets.pop()
        if not shift:
            return local
        return [v - shift if type(v) is int else v for v in local]
    out: list[Any] = []
    at = 0
    for n, first, last in zip(counts, firsts, lasts, strict=True):
        # A visit's actions come in time order: each is the first reading not before the last.
        after = first if type(first) is int else None
        for v in local[at : at + n]:
            if type(v) is int:
                v = _resolve(v, tz, after, last if type(last) is int else None)
                after = v
            out.append(v)
        at += n
    return out


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
