"""Live pages decoded by msgspec into structs, and from them straight into columns.

Building rows from what `orjson.loads` gives costs a dict per visit and per action, a pass that
groups records by their keys, and a transposition; and the presentation keys the builders drop
are decoded only to be thrown away. Decoded into a `msgspec.Struct` whose fields are, in order,
the declared keys, the undeclared keys kept in `extra` and the dropped keys (left undecoded,
as `msgspec.Raw`), each record is a tuple in column order, and a page's columns are one `zip`.
That halves the CPU of turning a page of 1,000 visits into Arrow tables.

A struct must know every key in advance. It refuses a key it does not know
(`forbid_unknown_fields`) rather than drop it, and `PageStructs.decode` then gives None: the
page goes the orjson way, which teaches `PageStructs.learn` its keys for the next pages. So
each process decodes its first page with orjson. Both ways give the same rows (tests hold
them to it); they differ only on integers beyond 64 bits, which orjson reads as floats.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import tzinfo
from operator import attrgetter
from typing import Any

import msgspec
from msgspec.structs import astuple

from .rows import batches_from_columns
from .schema import ACTION_RECORD, VISIT_RECORD, Batch, RecordKind

__all__ = ["DecodedPage", "PageStructs"]

# Beyond this many keys of one kind a site's data is not a fixed shape (keys made of values):
# the structs stop growing and pages go the orjson way.
MAX_KEYS = 1000
_DETAILS = "actionDetails"
_UNSET: Any = msgspec.UNSET


class _Keys:
    """The undeclared keys seen so far in one kind of record: kept (`extra`) or dropped."""

    def __init__(self, record: RecordKind, skip: frozenset[str] = frozenset()) -> None:
        self.record = record
        self.skip = record.known | skip
        self.extra: set[str] = set()
        self.dropped: set[str] = set()

    def learn(self, keys: Iterable[str]) -> bool:
        """Add the keys not seen before; True if there were any."""
        new = set(keys) - self.skip - self.extra - self.dropped
        for key in new:
            (self.extra if self.record.to_extra(key) else self.dropped).add(key)
        return bool(new)

    def __len__(self) -> int:
        return len(self.extra) + len(self.dropped)

    def fields(self) -> tuple[list[tuple[str, Any, Any]], list[tuple[str, Any, Any]]]:
        """The struct fields of the declared and kept keys, and those of the dropped keys."""
        head = [
            (f"d{i}", Any, msgspec.field(default=None, name=key))
            for i, (key, _, _) in enumerate(self.record.fields)
        ]
        head += [
            (f"x{i}", Any, msgspec.field(default=_UNSET, name=key))
            for i, key in enumerate(sorted(self.extra))
        ]
        tail = [
            (f"r{i}", msgspec.Raw, msgspec.field(default=_UNSET, name=key))
            for i, key in enumerate(sorted(self.dropped))
        ]
        return head, tail


def _struct(name: str, fields: list[tuple[str, Any, Any]]) -> Any:
    # gc=False: decoded JSON holds no reference cycles, and untracked structs are cheaper.
    return msgspec.defstruct(name, fields, kw_only=True, forbid_unknown_fields=True, gc=False)


@dataclass(frozen=True)
class _Layout:
    """The structs for the keys known at one moment, and where each column sits in them."""

    decoder: msgspec.json.Decoder[Any]
    visit_extra: tuple[str, ...]
    action_extra: tuple[str, ...]
    timestamp: Any  # attrgetter of the raw lastActionTimestamp
    id_visit: Any  # attrgetter of the raw idVisit

    @classmethod
    def build(cls, visits: _Keys, actions: _Keys) -> _Layout:
        head, tail = actions.fields()
        action = _struct("LiveAction", head + tail)
        head, tail = visits.fields()
        details = (_DETAILS, list[action] | None, msgspec.field(default=None, name=_DETAILS))  # type: ignore[valid-type]
        visit = _struct("LiveVisit", [*head, details, *tail])
        names = [key for key, _, _ in VISIT_RECORD.fields]
        return cls(
            msgspec.json.Decoder(list[visit]),  # type: ignore[valid-type]
            tuple(sorted(visits.extra)),
            tuple(sorted(actions.extra)),
            attrgetter(f"d{names.index('lastActionTimestamp')}"),
            attrgetter(f"d{names.index('idVisit')}"),
        )


@dataclass(frozen=True)
class DecodedPage:
    """A Live page decoded into structs, with the layout they were decoded with."""

    layout: _Layout
    visits: list[Any]

    def keys(self) -> tuple[list[Any], list[Any]]:
        """Each visit's raw `lastActionTimestamp` and `idVisit`, as Matomo sent them."""
        return (
            list(map(self.layout.timestamp, self.visits)),
            list(map(self.layout.id_visit, self.visits)),
        )

    def batches(
        self, keep: Sequence[int], arrow: bool, tz: tzinfo | None = None
    ) -> tuple[list[int], Batch, Batch]:
        """The actions count of each kept visit (`keep`: positions), and their rows (`tz`: the
        site's timezone, see `rows.batches_from_columns`)."""
        visits = self.visits
        if len(keep) != len(visits):
            visits = [visits[i] for i in keep]
        nv = len(VISIT_RECORD.fields)
        v_cols = _columns(visits, nv + len(self.layout.visit_extra) + 1)
        details = v_cols[-1]
        counts = [len(d) if d else 0 for d in details]
        actions = [a for d in details if d for a in d]
        na = len(ACTION_RECORD.fields)
        a_cols = _columns(actions, na + len(self.layout.action_extra))
        v_extra = _extras(v_cols[nv:-1], self.layout.visit_extra, len(visits))
        a_extra = _extras(a_cols[na:], self.layout.action_extra, len(actions))
        visit_rows, action_rows = batches_from_columns(
            v_cols[:nv], v_extra, a_cols[:na], a_extra, counts, arrow, tz
        )
        return counts, visit_rows, action_rows


def _columns(records: list[Any], width: int) -> list[Sequence[Any]]:
    """The first `width` fields of the structs `records`, as columns."""
    if not records:
        return [()] * width
    columns: list[Sequence[Any]] = list(zip(*map(astuple, records), strict=True))
    return columns[:width]


def _extras(
    columns: Sequence[Sequence[Any]], names: Sequence[str], n: int
) -> list[dict[str, Any] | None]:
    """Each record's `extra`: the kept keys it had, sorted (the orjson way does the same)."""
    out: list[dict[str, Any] | None] = [None] * n
    for name, column in zip(names, columns, strict=True):
        for i, value in enumerate(column):
            if value is not _UNSET:
                extra = out[i]
                if extra is None:
                    out[i] = {name: value}
                else:
                    extra[name] = value
    return out


class PageStructs:
    """Decodes Live pages into structs, once it has learnt their keys from an orjson page."""

    def __init__(self) -> None:
        self._visits = _Keys(VISIT_RECORD, frozenset({_DETAILS}))
        self._actions = _Keys(ACTION_RECORD)
        self._layout: _Layout | None = None
        self._growing = True  # False once a kind of record has more than MAX_KEYS keys

    def decode(self, body: bytes | memoryview) -> DecodedPage | None:
        """The page's visits as structs; None when they are not a list of visit objects with
        known keys (decode it the orjson way, then `learn` from it)."""
        layout = self._layout
        if layout is None:
            return None
        try:
            return DecodedPage(layout, layout.decoder.decode(body))
        # Also invalid UTF-8 (a UnicodeDecodeError) and nesting deeper than msgspec goes
        # (orjson refuses it too: the page is then read the ordinary way).
        except (msgspec.DecodeError, ValueError, RecursionError):
            return None

    def learn(self, page: Sequence[dict[str, Any]]) -> None:
        """Take the keys of a page decoded the orjson way (a list of visit objects)."""
        if not self._growing:
            return
        new = self._visits.learn(k for v in page for k in v)
        action_keys = [
            k
            for v in page
            if type(d := v.get(_DETAILS)) is list
            for a in d
            if type(a) is dict
            for k in a
        ]
        new = self._actions.learn(action_keys) or new
        if len(self._visits) > MAX_KEYS or len(self._actions) > MAX_KEYS:
            self._layout = None  # not a fixed shape: every page goes the orjson way
            self._growing = False
            return
        if new or self._layout is None:
            self._layout = _Layout.build(self._visits, self._actions)
