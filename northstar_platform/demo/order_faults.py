"""Cross-source defects of the order reconciliation, each planted on its own order.

The plan is decided once, before any source is rendered: the payments and fulfilment builders
read `Order.fault` and bend what they emit, so a planted defect is the *only* thing wrong with
its order and yields exactly one detection. Only ordinary orders of normal days are chosen,
never one with a duplicate, so no fault lands on the trip day or doubles another defect.
"""

import datetime as dt
import random
from collections.abc import Callable
from dataclasses import dataclass, field

from northstar_platform.demo.orders_data import Order, scaled
from northstar_platform.demo.records import DemoDays, seconds

MISSING_SHIPMENT_SLA_S = 24 * 3600
"""A shipped order without any warehouse row is missing once this long has passed."""
CLOCK_MARGIN_S = 3600
"""The audit judges the SLA against the data's clock (the latest instant any source reports),
which is a little before the end of the last day: planted missing shipments are this far
inside the SLA so that they are missing by either clock."""

CONFLICTS = ("payment_failed", "refunded", "cancelled")
"""STATUS_CONFLICT flavours: shipped although the payment failed, shipped although refunded,
shipped although cancelled."""

RATES = {
    "MISSING_PAYMENT": 0.0005,
    "AMOUNT_MISMATCH": 0.0004,
    "CURRENCY_MISMATCH": 0.0003,
    "STATUS_CONFLICT": 0.0004,
    "MISSING_SHIPMENT": 0.0004,
    "ORPHAN_PAYMENT": 0.0003,
    "ORPHAN_SHIPMENT": 0.0003,
}


@dataclass
class FaultPlan:
    """What was planted: counts per mismatch type and the unknown order ids to reference."""

    counts: dict[str, int] = field(default_factory=dict)
    orphan_payments: list[tuple[str, dt.datetime]] = field(default_factory=list)
    """(unknown order id, instant of its one payment_intent.succeeded)."""
    orphan_shipments: list[tuple[str, dt.datetime]] = field(default_factory=list)
    """(unknown order id, instant of its one `shipped` row)."""

    def orphan_dates(self) -> list[dt.date]:
        """Business dates of the orphans: the day of their payment event or shipment row."""
        return [ts.date() for _, ts in self.orphan_payments + self.orphan_shipments]


def plan_faults(rng: random.Random, days: DemoDays, orders: list[Order]) -> FaultPlan:
    """Mark orders with their planted fault and invent unknown order ids for the orphans."""
    candidates = [
        o
        for o in orders
        if o.role == "normal" and not o.has_duplicate and days.index(o.created_at) != days.trip
    ]
    total = sum(o.role in ("normal", "trip") for o in orders)
    plan = FaultPlan()

    def pick(
        name: str, wanted: int, fits: Callable[[Order], bool], fault: str | None = None
    ) -> list[Order]:
        pool = [o for o in candidates if o.fault is None and fits(o)]
        chosen = rng.sample(pool, min(wanted, len(pool)))
        for order in chosen:
            order.fault = fault or name
        plan.counts[name] = plan.counts.get(name, 0) + len(chosen)
        return chosen

    pick("MISSING_PAYMENT", scaled(total, RATES["MISSING_PAYMENT"]), lambda o: o.status == "paid")
    paid = ("paid", "shipped", "delivered")
    pick("AMOUNT_MISMATCH", scaled(total, RATES["AMOUNT_MISMATCH"]), lambda o: o.status in paid)
    pick("CURRENCY_MISMATCH", scaled(total, RATES["CURRENCY_MISMATCH"]), lambda o: o.status in paid)
    plan.counts["STATUS_CONFLICT"] = 0
    for k in range(scaled(total, RATES["STATUS_CONFLICT"], minimum=len(CONFLICTS))):
        flavour = CONFLICTS[k % len(CONFLICTS)]
        for order in pick(
            "STATUS_CONFLICT", 1, _CONFLICT_FITS[flavour], f"STATUS_CONFLICT:{flavour}"
        ):
            _ship_anyway(order, flavour)
    pick(
        "MISSING_SHIPMENT",
        scaled(total, RATES["MISSING_SHIPMENT"]),
        lambda o: (
            o.status == "shipped"
            and o.ship_ts is not None
            and o.ship_ts + seconds(MISSING_SHIPMENT_SLA_S + CLOCK_MARGIN_S) <= days.end
        ),
    )
    unknown_base = len(orders) + 100_001
    n_pay = scaled(total, RATES["ORPHAN_PAYMENT"])
    plan.orphan_payments = [
        (f"ord_{unknown_base + j:07d}", _orphan_instant(rng, days, 86000)) for j in range(n_pay)
    ]
    n_ship = scaled(total, RATES["ORPHAN_SHIPMENT"])
    plan.orphan_shipments = [
        (f"ord_{unknown_base + n_pay + j:07d}", _orphan_instant(rng, days, 86399))
        for j in range(n_ship)
    ]
    plan.counts["ORPHAN_PAYMENT"] = n_pay
    plan.counts["ORPHAN_SHIPMENT"] = n_ship
    return plan


def _orphan_instant(rng: random.Random, days: DemoDays, last_s: int) -> dt.datetime:
    return days.random_instant(rng, rng.choice(days.normal_days), last_s=last_s)


_CONFLICT_FITS: dict[str, Callable[[Order], bool]] = {
    "payment_failed": lambda o: o.status == "shipped",
    "refunded": lambda o: o.status == "refunded",
    "cancelled": lambda o: o.status == "cancelled" and o.fail_ts is None,
}


def _ship_anyway(order: Order, flavour: str) -> None:
    """Give a refunded or cancelled order a shipment between its own steps.

    The midpoint keeps the shipment on the order's side of the trip day and before the end,
    and `updated_at` (the refund or cancellation) stays the latest step.
    """
    if flavour == "refunded" and order.pay_ts and order.refund_ts:
        order.ship_ts = _midpoint(order.pay_ts, order.refund_ts)
    elif flavour == "cancelled" and order.cancel_ts:
        order.ship_ts = _midpoint(order.created_at, order.cancel_ts)


def _midpoint(a: dt.datetime, b: dt.datetime) -> dt.datetime:
    return a + seconds(int((b - a).total_seconds()) // 2)
