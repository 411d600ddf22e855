"""The export's log on `matomo_client.export`: INFO for its start, each window written, the
reconciliation and its end; WARNING for the summary's warnings. Nothing is formatted unless the
logger is enabled for it (an export writes thousands of windows), and no record holds the token.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from datetime import date
from typing import Any

from ..errors import scrub
from .progress import ExportSummary
from .state import DONE, WindowRecord

__all__ = ["SHOWN_SITES", "RunLog", "id_list", "log", "shown_target"]

SHOWN_SITES = 20  # site ids an error or a record lists
_SHOWN_TEXT = 100  # characters of a segment or report list the start record shows
_SHOWN_MISMATCHES = 3  # mismatching windows the reconciliation record names

log = logging.getLogger("matomo_client.export")
# Warnings are in the summary already: without a handler of the caller's, logging's last resort
# must not print them on stderr as well.
log.addHandler(logging.NullHandler())


def id_list(ids: Sequence[int]) -> str:
    """`ids` as text, the first `SHOWN_SITES` of them and how many more."""
    shown = ", ".join(str(i) for i in ids[:SHOWN_SITES])
    if len(ids) > SHOWN_SITES:
        shown += f" and {len(ids) - SHOWN_SITES:,} more"
    return shown


def sites_text(ids: Sequence[int]) -> str:
    """`site 3`, or `sites 1, 2` (`id_list`) for several."""
    return f"site {ids[0]}" if len(ids) == 1 else f"sites {id_list(ids)}"


def _cut(text: str) -> str:
    return text if len(text) <= _SHOWN_TEXT else text[: _SHOWN_TEXT - 3] + "..."


def shown_target(target: str) -> str:
    """A target as the log shows it: a PostgreSQL URL without its password (as the CLI)."""
    if target.lower().startswith(("postgresql:", "postgres:")):
        from .sinks.postgres import redact_url

        return redact_url(target)
    return target


class RunLog:
    """The log records of an export run (`run._Run`), from its state."""

    kind: str
    client: Any
    summary: ExportSummary
    site_ids: list[int]
    refetching: set[tuple[int, date]]
    _started: float
    _logged_start: bool

    def count_requests(self) -> None:
        """Update the summary's request counters (the run's)."""
        raise NotImplementedError

    def _secrets(self) -> tuple[str, ...]:
        return tuple(getattr(getattr(self.client, "_auth", None), "secrets", ()))

    def log_start(self, params: dict[str, Any], days: Sequence[date]) -> None:
        """INFO: what the export does (kind, sites, range, target) and how much is left to do."""
        self._logged_start = True
        if not log.isEnabledFor(logging.INFO):
            return
        kind, _, period = self.kind.partition(":")
        s = self.summary
        sites = id_list(self.site_ids) or "none"
        if params.get("sites") == "all":
            sites += " (all)"
        text = (
            f"{kind} export{f' by {period}' if period else ''} to {shown_target(s.target)}: "
            f"site{'s' if len(self.site_ids) != 1 else ''} {sites}; "
            f"from {params.get('from')} to {params.get('to')}"
        )
        if days:
            text += f" ({min(days)} to {max(days)})"
        if params.get("segment"):
            text += f"; segment {_cut(str(params['segment']))}"
        if "reports" in params:
            text += f"; reports {_cut(', '.join(params['reports'] or ['every report']))}"
        todo = s.windows_total - s.windows_skipped
        text += (
            f"; {s.windows_total:,} windows, {s.windows_skipped:,} done by an earlier run, "
            f"{todo:,} to fetch"
        )
        log.info("%s", scrub(text, self._secrets()))

    def _counted(self) -> str:
        s = self.summary
        return f"({s.windows_exported + s.windows_skipped:,} of {s.windows_total:,} windows)"

    def log_reports(self, where: str, records: Sequence[WindowRecord], rows: int) -> None:
        """INFO: one chunk of report windows written (one transaction)."""
        if not log.isEnabledFor(logging.INFO):
            return
        done = sum(r.status == DONE for r in records)
        state = f"{done} done, {len(records) - done} open" if done < len(records) else "done"
        log.info(
            "%s: %d windows %s, %s report rows %s",
            where,
            len(records),
            state,
            f"{rows:,}",
            self._counted(),
        )

    def log_reconciled(self, reconcile: bool) -> None:
        """INFO (WARNING on mismatches): how the windows compare with Matomo's own counts."""
        s = self.summary
        if not reconcile:
            log.info("not reconciled: reconciliation is off")
            return
        if s.mismatches:
            shown = "; ".join(m.describe() for m in s.mismatches[:_SHOWN_MISMATCHES])
            more = len(s.mismatches) - _SHOWN_MISMATCHES
            if more > 0:
                shown += f"; and {more:,} more"
            log.warning(
                "reconciled: VisitsSummary.nb_visits differs for %s window%s: %s",
                f"{len(s.mismatches):,}",
                "s" if len(s.mismatches) != 1 else "",
                shown,
            )
        if s.not_reconciled:
            log.info(
                "not reconciled: site%s %s (see the warnings)",
                "s" if len(s.not_reconciled) != 1 else "",
                id_list(s.not_reconciled),
            )
        elif not s.mismatches:
            log.info("reconciled: every window matches VisitsSummary.nb_visits")

    def log_end(self, failure: BaseException | None = None) -> None:
        """INFO: the run's outcome and figures; WARNING: each of the summary's warnings."""
        s = self.summary
        if not self._logged_start:  # refused before it started (the target's manifest...)
            return
        if log.isEnabledFor(logging.INFO):
            self.count_requests()
            kind, _, period = self.kind.partition(":")
            how = "done"
            if failure is not None:
                why = type(failure).__name__
                interrupted = isinstance(failure, KeyboardInterrupt) or why == "CancelledError"
                how = f"stopped ({'interrupted' if interrupted else why})"
            written = (
                f"{s.visits:,} visits, {s.actions:,} actions"
                if kind == "visits"
                else f"{s.report_rows:,} report rows"
            )
            log.info(
                "%s export%s to %s %s in %.1f s: %s windows exported, %s already done, %s still "
                "open (of %s); %s; %s requests, %s retries",
                kind,
                f" by {period}" if period else "",
                shown_target(s.target),
                how,
                time.monotonic() - self._started,
                f"{s.windows_exported:,}",
                f"{s.windows_skipped:,}",
                f"{s.windows_open:,}",
                f"{s.windows_total:,}",
                written,
                f"{s.requests:,}",
                f"{s.retries:,}",
            )
        if s.warnings and log.isEnabledFor(logging.WARNING):
            secrets = self._secrets()
            for warning in s.warnings:
                log.warning("%s", scrub(warning, secrets))

    def log_kept(self, id_site: int, day: date) -> None:
        """INFO: a done window fetched again gave no more visits; its rows stay."""
        if log.isEnabledFor(logging.INFO):
            log.info(
                "site %d, %s: fetched again, no more visits than exported: rows kept %s",
                id_site,
                day,
                self._counted(),
            )

    def log_written(self, rec: WindowRecord) -> None:
        """INFO: a visits window written (committed)."""
        if log.isEnabledFor(logging.INFO):  # thousands of windows: nothing formatted when off
            again = ", fetched again" if (rec.id_site, rec.day) in self.refetching else ""
            log.info(
                "site %d, %s: %s visits, %s actions, %s%s %s",
                rec.id_site,
                rec.day,
                f"{rec.visits or 0:,}",
                f"{rec.actions or 0:,}",
                rec.status,
                again,
                self._counted(),
            )
