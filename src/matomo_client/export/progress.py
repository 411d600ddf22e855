"""What an export reports while it runs (`ExportProgress`) and when it ends (`ExportSummary`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

__all__ = ["ExportProgress", "ExportSummary", "Mismatch", "ProgressCallback"]


@dataclass(frozen=True)
class ExportProgress:
    """A snapshot passed to the progress callback after planning and after every window."""

    kind: str
    phase: str  # "exporting", "saving", "reconciling", "finishing", "done"
    windows_total: int
    windows_done: int  # includes windows already done by an earlier run
    windows_skipped: int  # done by an earlier run, not fetched again
    visits: int
    actions: int
    report_rows: int
    requests: int
    retries: int
    last_window: str | None = None  # "site 1, 2024-01-31"
    # Fetched, waiting for a transaction shared with other windows (SQL targets): not done yet,
    # nor counted in `visits` and `actions`.
    windows_pending: int = 0
    visits_pending: int = 0
    actions_pending: int = 0


ProgressCallback = Callable[[ExportProgress], None]


@dataclass(frozen=True)
class Mismatch:
    """A window whose exported visits differ from Matomo's `VisitsSummary.nb_visits`."""

    id_site: int
    day: date
    exported: int
    expected: int
    cause: str

    def describe(self) -> str:
        """One line for the final summary."""
        return (
            f"site {self.id_site} {self.day}: exported {self.exported} visits, "
            f"VisitsSummary says {self.expected} ({self.cause})"
        )


@dataclass
class ExportSummary:
    """The outcome of an export run."""

    kind: str
    target: str
    sites: list[int] = field(default_factory=list)
    windows_total: int = 0
    windows_exported: int = 0  # fetched and written by this run
    windows_skipped: int = 0  # already done by an earlier run
    windows_open: int = 0  # written but not closed yet (today): fetched again next run
    windows_refetched: int = 0  # done windows written again: Matomo counted more visits
    # done windows fetched again that gave no more visits than exported: their rows stayed
    windows_kept: list[tuple[int, date]] = field(default_factory=list)
    visits: int = 0  # written by this run
    actions: int = 0
    report_rows: int = 0
    requests: int = 0
    retries: int = 0
    reconciled: bool = False  # every site's windows were compared with Matomo's counts
    mismatches: list[Mismatch] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    # sites not compared with Matomo's counts: the counts failed, or (`all`) the visits log is off
    not_reconciled: list[int] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when reconciliation found nothing to report (no mismatch, no site left out)."""
        return not self.mismatches and not self.not_reconciled

    def lines(self) -> list[str]:
        """A short human-readable account (the CLI prints it after its table)."""
        out = [
            f"{self.kind} export to {self.target}: {self.windows_exported} windows exported, "
            f"{self.windows_skipped} already done, {self.windows_open} still open "
            f"(of {self.windows_total})",
        ]
        if self.kind == "visits":
            out.append(f"{self.visits} visits and {self.actions} actions written")
        else:
            out.append(f"{self.report_rows} report rows written")
        if self.windows_refetched:
            out.append(
                f"{self.windows_refetched} done window(s) fetched again and replaced: Matomo "
                "counted more visits than were exported"
            )
        if self.reconciled and not self.mismatches:
            out.append("reconciled: every window matches VisitsSummary.nb_visits")
        out.extend(m.describe() for m in self.mismatches)
        out.extend(self.warnings)
        return out
