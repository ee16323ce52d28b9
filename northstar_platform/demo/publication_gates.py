"""Expected outcome of every marts publication gate per business date, for the manifest.

Computed from the generator's own plan (which order carries which defect, which finance rows
were bent), not from the platform: the same four rules as the `audit_publication_gates` model,
written again in plain Python so the demo can tell whether the SQL got them right.
"""

import datetime as dt
import statistics
from collections import Counter

from northstar_platform.demo.order_faults import FaultPlan
from northstar_platform.demo.orders_data import Order
from northstar_platform.demo.records import DemoDays

DUPLICATE_RATE_LIMIT = 0.001
REFERENTIAL_LIMIT = 0.01
SPIKE_TOLERANCE = 0.2
SPIKE_MIN_EXCESS = 20
SPIKE_HISTORY_DAYS = 14
GATES = ("duplicate_order_rate", "referential_integrity", "revenue_variance", "mismatch_spike")
LIVE_ROLES = frozenset({"normal", "trip", "duplicate", "referential"})
"""Rows that reach orders_latest un-deleted: invalid rows are quarantined, deleted are flagged."""


def gate_outcomes(
    days: DemoDays, orders: list[Order], plan: FaultPlan, variance_dates: list[str]
) -> dict[str, dict[str, str]]:
    """`audit_publication_gates.<gate>` → {business date: pass | fail} for every demo day."""
    live: Counter[dt.date] = Counter()
    duplicates: Counter[dt.date] = Counter()
    unknown_customers: Counter[dt.date] = Counter()
    mismatches: Counter[dt.date] = Counter()
    orphans = Counter(plan.orphan_dates())
    for order in orders:
        if order.role not in LIVE_ROLES or order.is_deleted:
            continue
        day = order.created_at.date()
        live[day] += 1
        duplicates[day] += order.role == "duplicate"
        unknown_customers[day] += order.role == "referential"
        mismatches[day] += order.role == "duplicate" or order.fault is not None
    mismatches.update(orphans)

    outcomes: dict[str, dict[str, str]] = {f"audit_publication_gates.{g}": {} for g in GATES}
    for index in range(days.count):
        day = days.date(index)
        orders_of_day = max(live[day], 1)
        verdicts = {
            "duplicate_order_rate": duplicates[day] / orders_of_day < DUPLICATE_RATE_LIMIT,
            "referential_integrity": (orphans[day] + unknown_customers[day]) / orders_of_day
            <= REFERENTIAL_LIMIT,
            "revenue_variance": day.isoformat() not in variance_dates,
            "mismatch_spike": _within_baseline(day, live, mismatches),
        }
        for gate, passed in verdicts.items():
            outcomes[f"audit_publication_gates.{gate}"][day.isoformat()] = (
                "pass" if passed else "fail"
            )
    return outcomes


def _within_baseline(day: dt.date, live: Counter[dt.date], mismatches: Counter[dt.date]) -> bool:
    """Open mismatches vs the median of the previous business dates that have orders."""
    earliest = day - dt.timedelta(days=SPIKE_HISTORY_DAYS)
    history = [mismatches[d] for d in live if earliest <= d < day and live[d]]
    if not history:
        return True
    median = statistics.median(history)
    observed = mismatches[day]
    return observed <= median * (1 + SPIKE_TOLERANCE) or observed - median < SPIKE_MIN_EXCESS
