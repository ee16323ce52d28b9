"""The preference export's spike gate: a date's mismatch count against its history and a cap.

A sudden jump in mismatches usually means a broken feed (a truncated core snapshot, a privacy
replay), not hundreds of thousands of customers changing their minds overnight; exporting it
would push a wrong patch into the core system. So a reconciliation date may be exported only
when its mismatch count is at most

- the export cap (`NORTHSTAR_PREFERENCE_EXPORT_CAP`, default 50,000: seed 000's gate), and
- the trailing median of the last 14 earlier dates with rows * (1 + tolerance) — unless the
  excess over the median is below a noise floor of 100 rows (a quiet date of 20 mismatches
  doubling to 40 is not an incident).

A first date without history is judged by the cap alone, and says so.
"""

import math
import statistics
from dataclasses import dataclass
from typing import Any

from northstar_platform.layers import AUDIT_PREFERENCE_MISMATCHES
from northstar_platform.resources.warehouse import WarehouseSession

BASELINE_DATES = 14
"""Earlier reconciliation dates (with rows) whose counts make the baseline."""
NOISE_FLOOR_ROWS = 100
"""A spike must exceed the median by at least this many rows to fail."""


@dataclass(frozen=True)
class MismatchGate:
    """The gate's verdict on one reconciliation date."""

    observed: int
    threshold: int
    """The greatest count that passes: min(cap, baseline limit)."""
    passed: bool
    baseline_median: float | None
    dates_in_baseline: int
    tolerance: float
    cap: int
    note: str

    def metadata(self) -> dict[str, Any]:
        """Check metadata; `observed` and `threshold` are what the alert message names."""
        return {
            "observed": self.observed,
            "threshold": self.threshold,
            "baseline_median": self.baseline_median if self.baseline_median is not None else "none",
            "dates_in_baseline": self.dates_in_baseline,
            "tolerance": self.tolerance,
            "noise_floor_rows": NOISE_FLOOR_ROWS,
            "cap": self.cap,
            "note": self.note,
        }


def baseline_limit(median: float, tolerance: float, noise_floor: int = NOISE_FLOOR_ROWS) -> int:
    """The greatest whole count that is not a spike.

    A count fails when count > median * (1 + tolerance) AND count - median ≥ noise_floor; for
    a whole count that is count > floor(median * (1 + tolerance)) AND count > ceil(median +
    noise_floor) - 1, i.e. count > the larger of the two.
    """
    return max(math.floor(median * (1 + tolerance)), math.ceil(median + noise_floor) - 1)


def judge(count: int, history: list[int], *, tolerance: float, cap: int) -> MismatchGate:
    """The verdict on `count` given the earlier dates' counts (newest first)."""
    if not history:
        passed = count <= cap
        note = (
            f"above the export cap of {cap}"
            if not passed
            else "no earlier reconciliation date with rows: only the cap applies"
        )
        return MismatchGate(count, cap, passed, None, 0, tolerance, cap, note)
    median = float(statistics.median(history))
    spike_limit = baseline_limit(median, tolerance)
    threshold = min(cap, spike_limit)
    passed = count <= threshold
    reasons = []
    if count > spike_limit:
        reasons.append(
            f"{count / median if median else math.inf:.2f}x the trailing median of {median:g} "
            f"(over {len(history)} dates), above +{tolerance:.0%} and by "
            f"{count - median:g} >= {NOISE_FLOOR_ROWS} rows"
        )
    if count > cap:
        reasons.append(f"above the export cap of {cap}")
    note = "; ".join(reasons) if reasons else ""
    return MismatchGate(count, threshold, passed, median, len(history), tolerance, cap, note)


def mismatch_counts(session: WarehouseSession, recon_date: str) -> tuple[int, list[int]]:
    """(the date's mismatch count, counts of the last 14 earlier dates with rows, newest first).

    No audit table yet (the models never ran) reads as no mismatches and no history.
    """
    table = AUDIT_PREFERENCE_MISMATCHES
    if not session.table_exists(table.schema, table.name):
        return 0, []
    row = session.fetchone(
        f"select count(*) from {table.qualified} where recon_date = cast(? as date)",  # noqa: S608
        (recon_date,),
    )
    history = session.fetchall(
        f"select recon_date, count(*) from {table.qualified} "  # noqa: S608
        "where recon_date < cast(? as date) "
        "group by recon_date order by recon_date desc limit ?",
        (recon_date, BASELINE_DATES),
    )
    return (int(row[0]) if row else 0), [int(n) for _, n in history]


def read_mismatch_gate(
    session: WarehouseSession, recon_date: str, *, tolerance: float, cap: int
) -> MismatchGate:
    """The gate's verdict on `recon_date`, read from `audit.audit_preference_mismatches`."""
    count, history = mismatch_counts(session, recon_date)
    return judge(count, history, tolerance=tolerance, cap=cap)
