"""Duplicate orders (double submissions) and the final numbering of every order row.

Detection rule the manifest counts by: an order is a duplicate when an earlier order (total
order: `created_at`, then `order_id`) with the same customer_id, currency and amount_cents was
created at most 60 s before it. Each copy is a new row 1..59 s after its original, so the
expected count is the number of copies; `orders_data` keeps every other pair of rows sharing
those three values at least 180 s apart, so nothing else matches.
"""

import random

from northstar_platform.demo.orders_data import Order
from northstar_platform.demo.records import DemoDays, seconds

DUPLICATE_WINDOW_S = 60
DUPLICATE_RATE = 0.0005
"""About one copy a day at scale 1: well under the 0.1% duplicate SLA of a partition."""


def add_duplicates(rng: random.Random, days: DemoDays, orders: list[Order]) -> list[Order]:
    """`orders` plus their duplicate copies, sorted and numbered `ord_NNNNNNN` by created_at."""
    total = sum(o.role in ("normal", "trip") for o in orders)
    rows = orders + _copies(rng, days, orders, max(1, round(total * DUPLICATE_RATE)))
    rows.sort(key=lambda o: o.created_at)  # stable: ties keep construction order
    for n, order in enumerate(rows, start=1):
        order.order_id = f"ord_{n:07d}"
    return rows


def _copies(rng: random.Random, days: DemoDays, orders: list[Order], count: int) -> list[Order]:
    """Re-submissions of pending or cancelled orders, at most one a normal day.

    Originals never have a payment, so a copy cannot also be a missing payment; a copy keeps
    its original's dates (`created_at` and `updated_at` both shift by the same 1..59 s without
    crossing midnight), so the trip day never gets one.
    """

    def eligible(o: Order) -> bool:
        late = seconds(DUPLICATE_WINDOW_S)
        return (
            o.role == "normal"
            and o.status in ("pending", "cancelled")
            and o.fail_ts is None
            and (o.created_at + late).date() == o.created_at.date()
            and (o.updated_at + late).date() == o.updated_at.date()
        )

    by_day: dict[int, list[Order]] = {}
    for order in orders:
        if eligible(order):
            by_day.setdefault(days.index(order.created_at), []).append(order)
    copies = []
    for j in range(count):
        day = days.normal_days[j % len(days.normal_days)]
        pool = [o for o in by_day.get(day, []) if not o.has_duplicate]
        if not pool:
            continue
        original = rng.choice(pool)
        original.has_duplicate = True
        lag = seconds(rng.randint(1, DUPLICATE_WINDOW_S - 1))
        copies.append(
            Order(
                original.customer_id,
                original.status,
                original.currency,
                original.amount_cents,
                original.created_at + lag,
                original.updated_at + lag,
                role="duplicate",
                cancel_ts=original.cancel_ts + lag if original.cancel_ts else None,
            )
        )
    return copies
