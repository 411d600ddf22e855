"""Building the export's rows from the raw dicts Matomo sends: `visits` and `actions` from a
Live page, `reports` from a report's rows (the tables are declared in `schema.py`).

No per-visit model validation: columns are read by position, a record shape at a time, and
coerced a column at a time (`coerce.py`).
"""

from __future__ import annotations

import gc
import operator
from collections.abc import Callable, Sequence
from datetime import date, timezone, tzinfo
from itertools import repeat
from typing import Any

from .coerce import as_number, convert_columns
from .localtime import utc_action_times
from .schema import (
    ACTION_RECORD,
    ACTIONS,
    REPORT_METRICS,
    REPORTS,
    VISIT_RECORD,
    VISITS,
    Batch,
    RecordKind,
    is_presentation,
)

__all__ = ["batches_from_columns", "build_report_rows", "build_visit_batches", "build_visit_rows"]

_Getter = Callable[[Sequence[Any]], tuple[Any, ...]]
# Where the times `localtime.utc_action_times` reads and rewrites are in the raw columns.
_ACTION_TIME = [src for src, _, _ in ACTION_RECORD.fields].index("timestamp")
_FIRST_ACTION = [src for src, _, _ in VISIT_RECORD.fields].index("firstActionTimestamp")
_LAST_ACTION = [src for src, _, _ in VISIT_RECORD.fields].index("lastActionTimestamp")


def _getter(positions: Sequence[int]) -> _Getter:
    """`operator.itemgetter` that always returns a tuple (even for zero or one position)."""
    if len(positions) > 1:
        return operator.itemgetter(*positions)
    if len(positions) == 1:
        i = positions[0]
        return lambda t: (t[i],)
    return lambda t: ()


def _layout(
    keys: tuple[str, ...], kind: RecordKind
) -> tuple[list[int], list[int], tuple[str, ...]]:
    """For one record shape: each field's position in it (len(keys) when absent), and the
    positions and names of its keys that go to `extra`."""
    # `extra` holds its keys sorted, whatever their order in the record: the same dict
    # whichever way the page was decoded (see `page_structs`).
    unknown_at = [i for i, k in enumerate(keys) if kind.to_extra(k)]
    unknown_at.sort(key=keys.__getitem__)
    where = {k: i for i, k in enumerate(keys)}
    absent = len(keys)
    return (
        [where.get(src, absent) for src, _, _ in kind.fields],
        unknown_at,
        tuple(keys[i] for i in unknown_at),
    )


def _raw_columns(
    records: Sequence[dict[str, Any]], kind: RecordKind
) -> tuple[list[Sequence[Any]], list[dict[str, Any] | None]]:
    """The uncoerced columns in field order (absent keys None), and each record's `extra`.

    Values are read by position (`tuple(r.values())`) rather than by key, one shape (the same
    keys in the same order) at a time: a page of visits nearly always has one shape, its
    actions about ten. Each shape's records are transposed by C-level calls, and the shapes'
    columns are put back in record order by one `itemgetter` per column.
    """
    n = len(records)
    if not n:
        return [()] * len(kind.fields), []
    shapes = list(map(tuple, records))
    first = shapes[0]
    if shapes.count(first) == n:
        return _one_shape(records, first, kind)
    groups: dict[tuple[str, ...], list[int]] = {}
    for i, shape in enumerate(shapes):
        group = groups.get(shape)
        if group is None:
            groups[shape] = [i]
        else:
            group.append(i)
    columns: list[list[Any]] = [[] for _ in kind.fields]
    extras: list[dict[str, Any] | None] = []
    order: list[int] = []
    for shape, at in groups.items():
        raw, shape_extras = _one_shape([records[i] for i in at], shape, kind)
        for column, values in zip(columns, raw, strict=True):
            column.extend(values)
        extras.extend(shape_extras)
        order.extend(at)
    back = _getter(sorted(range(n), key=order.__getitem__))  # record i's place in `columns`
    return [back(column) for column in columns], list(back(extras))


def _one_shape(
    records: Sequence[dict[str, Any]], shape: tuple[str, ...], kind: RecordKind
) -> tuple[list[Sequence[Any]], list[dict[str, Any] | None]]:
    """`_raw_columns` of records that all have the keys `shape`, in that order."""
    n = len(records)
    positions, unknown_at, unknown = _layout(shape, kind)
    by_pos: list[Sequence[Any]] = list(zip(*map(tuple, map(dict.values, records)), strict=True))
    by_pos.append((None,) * n)
    raw = [by_pos[i] for i in positions]
    if not unknown:
        return raw, [None] * n
    unknown_values = zip(*[by_pos[i] for i in unknown_at], strict=True)
    return raw, list(map(dict, map(zip, repeat(unknown), unknown_values)))


def build_visit_batches(
    raw_visits: Sequence[dict[str, Any]], arrow: bool = False, tz: tzinfo | None = None
) -> tuple[Batch, Batch]:
    """Build the `visits` and `actions` batches from raw `Live.getLastVisitsDetails` rows."""
    _, visits, actions = build_visit_rows(raw_visits, arrow, tz)
    return visits, actions


def build_visit_rows(
    raw_visits: Sequence[dict[str, Any]], arrow: bool = False, tz: tzinfo | None = None
) -> tuple[list[int], Batch, Batch]:
    """Each visit's number of actions rows, and the `visits` and `actions` batches (`tz`: the
    site's timezone, None for UTC; see `localtime.py`).

    With `arrow`, the batches are bound for `sinks.arrow.to_arrow` only: a column whose values
    already have their declared type is an Arrow array at once, sparing the Python scan that
    coercion makes of every value (about a fifth of building and converting a page).

    Python's cyclic GC is paused meanwhile: building allocates a tuple or dict per value row
    and creates no reference cycles, yet each allocation burst would make the collector walk
    every live object (the whole window's decoded visits) again, more than doubling the cost.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _build_visit_rows(raw_visits, arrow, tz)
    finally:
        if enabled:
            gc.enable()


def _action_list(details: Any) -> list[dict[str, Any]] | None:
    """A visit's `actionDetails` as its list of actions; None when it is not one.

    Matomo sends a list. PHP writes a list with holes in its keys (entries a plugin removed) as
    an object, whose values are then the actions in order. Anything else (a string, a list with
    non-objects) gives no actions rows: the visit keeps the value whole in its `extra`.
    """
    if type(details) is dict:
        details = list(details.values())
    if type(details) is list and all(type(a) is dict for a in details):
        return details
    return None


def _build_visit_rows(
    raw_visits: Sequence[dict[str, Any]], arrow: bool, tz: tzinfo | None
) -> tuple[list[int], Batch, Batch]:
    v_raw, v_extra = _raw_columns(raw_visits, VISIT_RECORD)
    actions: list[dict[str, Any]] = []
    counts: list[int] = []
    for i, rv in enumerate(raw_visits):
        details = rv.get("actionDetails")
        listed = _action_list(details) if details else None
        if listed:
            actions.extend(listed)
            counts.append(len(listed))
            continue
        counts.append(0)
        if details and listed is None:  # kept whole, its keys still sorted
            v_extra[i] = dict(sorted({**(v_extra[i] or {}), "actionDetails": details}.items()))
    a_raw, a_extra = _raw_columns(actions, ACTION_RECORD)
    return counts, *batches_from_columns(v_raw, v_extra, a_raw, a_extra, counts, arrow, tz)


def batches_from_columns(
    v_raw: Sequence[Sequence[Any]],
    v_extra: list[dict[str, Any] | None],
    a_raw: Sequence[Sequence[Any]],
    a_extra: list[dict[str, Any] | None],
    counts: Sequence[int],
    arrow: bool = False,
    tz: tzinfo | None = None,
) -> tuple[Batch, Batch]:
    """The `visits` and `actions` batches of uncoerced columns: the visits' (in
    `VISIT_RECORD` order), their actions' (in `ACTION_RECORD` order, the visits' actions one
    after another) and each visit's number of actions (`counts`). GC as `build_visit_rows`;
    `tz` is the site's timezone (None: UTC), by which Matomo shifts the actions' times.
    """
    if tz is not None and tz is not timezone.utc:
        a_raw = list(a_raw)
        a_raw[_ACTION_TIME] = utc_action_times(
            a_raw[_ACTION_TIME], tz, counts, v_raw[_FIRST_ACTION], v_raw[_LAST_ACTION]
        )
    vcols = convert_columns(v_raw, v_extra, VISIT_RECORD.fields, arrow)
    vcols["extra"] = v_extra
    a_site: list[Any] = []
    a_visit: list[Any] = []
    a_pos: list[int] = []
    for site, visit, n in zip(vcols["id_site"], vcols["id_visit"], counts, strict=True):
        if n:
            a_site.extend([site] * n)
            a_visit.extend([visit] * n)
            a_pos.extend(range(1, n + 1))
    acols: dict[str, Any] = {"id_site": a_site, "id_visit": a_visit, "position": a_pos}
    acols.update(convert_columns(a_raw, a_extra, ACTION_RECORD.fields, arrow))
    acols["extra"] = a_extra
    return Batch(VISITS, vcols), Batch(ACTIONS, acols)


_REPORT_METRIC_SET = frozenset(REPORT_METRICS)
_REPORT_DROPPED = frozenset({"label", "logo", "logoWidth", "logoHeight", "idsubdatatable"})


def build_report_rows(
    id_site: int,
    period: str,
    day: date,
    report: str,
    report_params: str,
    rows: Sequence[dict[str, Any]],
) -> Batch:
    """Build long-form `reports` rows for one report and one period."""
    cols: dict[str, list[Any]] = {c.name: [] for c in REPORTS.columns}
    labels = [None if (x := r.get("label")) is None else str(x) for r in rows]
    taken = set(labels)
    seen_labels: dict[str, int] = {}
    for r, label_s in zip(rows, labels, strict=True):
        # A label can repeat (e.g. "Others" rows, or simple reports with no label): make it
        # unique, with a suffix no other row's label has ("X", "X", "X (2)": "X (3)").
        k = label_s or ""
        n = seen_labels.get(k, 0) + 1
        if n > 1:
            while f"{k} ({n})" in taken:
                n += 1
            label_s = f"{k} ({n})"
            taken.add(label_s)
        seen_labels[k] = n
        cols["id_site"].append(id_site)
        cols["period"].append(period)
        cols["date"].append(day)
        cols["report"].append(report)
        cols["report_params"].append(report_params)
        cols["label"].append(label_s)
        metrics: dict[str, Any] = {}
        extra: dict[str, Any] = {}
        labelled = r.get("label") is not None
        for key, value in r.items():
            if key in _REPORT_DROPPED:
                continue
            if key in _REPORT_METRIC_SET:
                if value is not None and as_number(value) is None:
                    extra[key] = value  # not a number: kept as Matomo sent it
                continue
            num = None if _is_dimension(key, labelled) else as_number(value)
            if num is not None:
                metrics[key] = num
            elif value is not None and not is_presentation(key):
                extra[key] = value
        for m in REPORT_METRICS:
            cols[m].append(as_number(r.get(m)))
        cols["metrics"].append(metrics or None)
        cols["extra"].append(extra or None)
    return Batch(REPORTS, cols)


def _is_dimension(key: str, labelled: bool) -> bool:
    """Whether a report row's key holds text however numeric it looks: ids and codes (a
    visitor id "0000000000001234" is not 1234), and the dimensions of a flattened row, which
    has a label (`Events_EventAction`: "007" is not the number 7). A row without a label
    (`Referrers.get`, `API.get`) has no dimension: its `Referrers_distinctKeywords`,
    `PagePerformance_network_time`, ... are metrics."""
    return key.startswith(("id", "code")) or (labelled and key[:1].isupper())
