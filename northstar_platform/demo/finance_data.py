"""Finance's daily revenue files: the source of truth the revenue reconciliation checks against.

Gross revenue per (business date, currency) is the sum of `amount_cents` of valid,
non-duplicate, non-deleted orders with status paid, shipped or delivered, grouped by the UTC
date of `created_at` — exactly what a correct platform computes — except one or two planted
rows of one date that finance reports 1% off (the variance gate allows 0.05%), so exactly
that date's marts are withheld. A date with no revenue
(the trip day) gets a header-only file.
"""

import random
from collections import defaultdict
from dataclasses import dataclass, field

from northstar_platform.demo.orders_data import Order
from northstar_platform.demo.records import DemoDays, day_path

HEADER = "business_date,currency,gross_revenue_cents\n"
VARIANCE_SHARE = 0.01
MIN_GROSS_CENTS = 10_000
"""Only rows at least this large are bent, so 1% is far from rounding noise."""


@dataclass
class FinanceFiles:
    """Rendered files and the counts the manifest needs."""

    files: dict[str, bytes] = field(default_factory=dict)
    rows: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    variance_dates: list[str] = field(default_factory=list)
    """Business dates (ISO) whose finance rows were bent."""


def revenue_by_day(orders: list[Order]) -> dict[tuple[str, str], int]:
    """What a correct platform reports: gross cents per (created date, currency)."""
    gross: dict[tuple[str, str], int] = defaultdict(int)
    for order in orders:
        if order.is_revenue:
            gross[(order.created_at.date().isoformat(), order.currency)] += order.amount_cents
    return dict(gross)


def build_finance(rng: random.Random, days: DemoDays, orders: list[Order]) -> FinanceFiles:
    """One `finance/YYYY/MM/DD/daily_revenue.csv` per day, with the planted variances."""
    gross = revenue_by_day(orders)
    trip = days.date(days.trip).isoformat() if days.trip is not None else None
    bendable = sorted(k for k, v in gross.items() if k[0] != trip and v >= MIN_GROSS_CENTS)
    # One business date trips the variance gate (DESIGN §9: one partition per gate).
    dates = sorted({d for d, _ in bendable})
    day = rng.choice(dates) if dates else None
    on_day = [k for k in bendable if k[0] == day]
    bent = rng.sample(on_day, min(len(on_day), 2))
    for key in bent:
        delta = round(gross[key] * VARIANCE_SHARE)
        gross[key] += delta if rng.random() < 0.5 else -delta
    out = FinanceFiles(counts={"audit_revenue_variance:VARIANCE": len(bent)})
    out.variance_dates = sorted({d for d, _ in bent})
    for i in range(days.count):
        date = days.date(i).isoformat()
        rows = [f"{date},{cur},{cents}\n" for (d, cur), cents in sorted(gross.items()) if d == date]
        out.files[f"finance/{day_path(days.date(i))}/daily_revenue.csv"] = (
            HEADER + "".join(rows)
        ).encode()
        out.rows += len(rows)
    return out
