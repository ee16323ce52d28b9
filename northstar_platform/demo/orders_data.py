"""Orders of the demo's PostgreSQL source, with the orders slice's defects.

Each ordinary order gets a plan (payment, shipment, delivery, refund or cancellation instants)
and then is *settled* at its horizon: steps at or after the horizon have not happened yet, and
the stored status is the last step that did. So what PostgreSQL says and what Stripe and the
warehouse files say always agree, except where a defect is injected on purpose.

Orders slice defects, each on its own row: rows breaking exactly one staging rule (~1% a day,
10% on the gate-trip day), extra rows duplicating a pending or cancelled order within 60 s,
orders of unknown customers, and a few soft-deleted orders (not a defect, but excluded from
revenue).
"""

import datetime as dt
import itertools
import random
from dataclasses import dataclass, field

from northstar_platform.demo.records import DemoDays, seconds

CURRENCY_WEIGHTS = {"USD": 70, "EUR": 15, "GBP": 10, "CAD": 5}
STATUS_WEIGHTS = {
    "pending": 6,
    "paid": 20,
    "shipped": 24,
    "delivered": 38,
    "cancelled": 6,
    "refunded": 6,
}
REVENUE_STATUSES = frozenset({"paid", "shipped", "delivered"})

QUARANTINE_RULES = (
    "amount_cents_non_negative",
    "currency_known",
    "status_known",
    "customer_id_present",
)
BAD_CURRENCIES = ("usd", "XXX")
BAD_STATUSES = ("SHIPPED?", "unknown", "in_transit")

INVALID_SHARE = 0.01
"""Share of a normal day's orders that break one staging rule (the gate allows 5%)."""
TRIP_INVALID_SHARE = 0.10
"""Share of the trip day's orders that break one rule, so that partition's gate fails."""
CHARGE_LAG_S = 3
"""The charge event follows its payment intent by 1..3 s; both must precede the horizon."""

RATES = {"referential": 0.0004, "deleted": 0.001}
UNIQUE_WINDOW_S = 180
"""Orders sharing customer, currency and amount are kept at least this far apart, so an
injected duplicate (<= 59 s after its original) is never within 60 s of a third order."""


@dataclass(eq=False)
class Order:
    """A row of `orders` plus the plan the other sources are generated from."""

    customer_id: str | None
    status: str
    currency: str
    amount_cents: int
    created_at: dt.datetime
    updated_at: dt.datetime
    role: str = "normal"
    """normal | trip (pending, trip day) | invalid | duplicate | referential | deleted."""
    is_deleted: bool = False
    rule: str | None = None
    """The one staging rule an `invalid` row breaks."""
    fault: str | None = None
    """The cross-source defect planted on this order (see order_faults)."""
    has_duplicate: bool = False
    pay_ts: dt.datetime | None = None
    fail_ts: dt.datetime | None = None
    ship_ts: dt.datetime | None = None
    deliver_ts: dt.datetime | None = None
    refund_ts: dt.datetime | None = None
    cancel_ts: dt.datetime | None = None
    order_id: str = field(default="")

    @property
    def is_revenue(self) -> bool:
        """Whether finance counts this order: valid, original, live and paid for."""
        return (
            self.role not in ("invalid", "duplicate")
            and not self.is_deleted
            and self.status in REVENUE_STATUSES
        )


def scaled(total: int, rate: float, minimum: int = 1) -> int:
    """How many of something to inject: `rate` of `total`, at least `minimum`."""
    return max(minimum, round(total * rate))


def build_orders(
    rng: random.Random, days: DemoDays, per_day: int, customer_ids: list[str]
) -> list[Order]:
    """Every order row except duplicates, not yet numbered (see duplicate_orders)."""
    rules = itertools.cycle(QUARANTINE_RULES)
    normal = days.normal_days
    # Without a trip day, still show each rule at least once.
    per_normal_day = max(
        -(-4 // len(normal)) if days.trip is None else 1, round(per_day * INVALID_SHARE)
    )
    orders: list[Order] = []
    for i in range(days.count):
        if i == days.trip:
            bad = round(per_day * TRIP_INVALID_SHARE)
            orders += [_trip_order(rng, days, i, customer_ids) for _ in range(per_day - bad)]
            orders += [_invalid(rng, days, i, next(rules), customer_ids) for _ in range(bad)]
        else:
            orders += [_normal(rng, days, i, customer_ids) for _ in range(per_day)]
            orders += [
                _invalid(rng, days, i, next(rules), customer_ids) for _ in range(per_normal_day)
            ]
    total = per_day * days.count
    for j in range(scaled(total, RATES["referential"])):
        unknown = f"cus_{len(customer_ids) + 1001 + j:06d}"
        orders.append(_quiet(rng, days, normal[j % len(normal)], unknown, "referential"))
    for j in range(scaled(total, RATES["deleted"])):
        orders.append(
            _quiet(rng, days, normal[(j + 1) % len(normal)], rng.choice(customer_ids), "deleted")
        )
    _keep_apart(orders)
    return orders


def _currency(rng: random.Random) -> str:
    return rng.choices(list(CURRENCY_WEIGHTS), weights=list(CURRENCY_WEIGHTS.values()))[0]


def _normal(rng: random.Random, days: DemoDays, day: int, customer_ids: list[str]) -> Order:
    """An ordinary order: a target status, its steps' instants, then settled at the horizon.

    Steps take at most 15 min + 20 h + 14 h (delivery) or 15 min + 30 h (refund), so
    `updated_at` is never more than 36 h after `created_at`.
    """
    created = days.random_instant(rng, day)
    target = rng.choices(list(STATUS_WEIGHTS), weights=list(STATUS_WEIGHTS.values()))[0]
    order = Order(
        rng.choice(customer_ids), target, _currency(rng), rng.randint(500, 40000), created, created
    )
    if target in ("paid", "shipped", "delivered", "refunded"):
        paid = order.pay_ts = created + seconds(rng.randint(5, 900))
        if target in ("shipped", "delivered"):
            shipped = order.ship_ts = paid + seconds(rng.randint(3600, 20 * 3600))
            if target == "delivered":
                order.deliver_ts = shipped + seconds(rng.randint(2 * 3600, 14 * 3600))
        if target == "refunded":
            order.refund_ts = paid + seconds(rng.randint(3600, 30 * 3600))
    elif target == "cancelled":
        order.cancel_ts = created + seconds(rng.randint(60, 6 * 3600))
        if rng.random() < 0.4:
            order.fail_ts = created + seconds(rng.randint(5, 50))
    _settle(order, days.horizon(day))
    return order


def _settle(order: Order, horizon: dt.datetime) -> None:
    """Drop the steps at or after `horizon`; status and updated_at follow what remains."""
    if order.pay_ts and order.pay_ts + seconds(CHARGE_LAG_S) >= horizon:
        order.pay_ts = order.ship_ts = order.deliver_ts = order.refund_ts = None
    if order.ship_ts and order.ship_ts >= horizon:
        order.ship_ts = order.deliver_ts = None
    if order.deliver_ts and order.deliver_ts >= horizon:
        order.deliver_ts = None
    if order.refund_ts and order.refund_ts >= horizon:
        order.refund_ts = None
    if order.cancel_ts and order.cancel_ts >= horizon:
        order.cancel_ts = order.fail_ts = None
    steps = [
        ("delivered", order.deliver_ts),
        ("refunded", order.refund_ts),
        ("shipped", order.ship_ts),
        ("paid", order.pay_ts),
        ("cancelled", order.cancel_ts),
    ]
    order.status, last = next(((s, ts) for s, ts in steps if ts), ("pending", None))
    order.updated_at = last or order.created_at


def _trip_order(rng: random.Random, days: DemoDays, day: int, customer_ids: list[str]) -> Order:
    """A valid trip-day order: pending, untouched since creation, referenced by nothing."""
    created = days.random_instant(rng, day)
    return Order(
        rng.choice(customer_ids),
        "pending",
        _currency(rng),
        rng.randint(500, 40000),
        created,
        created,
        role="trip",
    )


def _invalid(
    rng: random.Random, days: DemoDays, day: int, rule: str, customer_ids: list[str]
) -> Order:
    """A pending row breaking exactly `rule`, updated the day it was created."""
    created = days.random_instant(rng, day, last_s=23 * 3600)
    order = Order(
        rng.choice(customer_ids),
        "pending",
        _currency(rng),
        rng.randint(500, 40000),
        created,
        created + seconds(rng.randint(0, 3599)),
        role="invalid",
        rule=rule,
    )
    if rule == "amount_cents_non_negative":
        order.amount_cents = -rng.randint(100, 5000)
    elif rule == "currency_known":
        order.currency = rng.choice(BAD_CURRENCIES)
    elif rule == "status_known":
        order.status = rng.choice(BAD_STATUSES)
    else:
        order.customer_id = None
    return order


def _quiet(rng: random.Random, days: DemoDays, day: int, customer_id: str, role: str) -> Order:
    """A `referential` (pending) or `deleted` (cancelled) row no other source mentions."""
    created = days.random_instant(rng, day, last_s=22 * 3600)
    order = Order(
        customer_id, "pending", _currency(rng), rng.randint(500, 40000), created, created, role=role
    )
    if role == "deleted":
        order.status, order.is_deleted = "cancelled", True
        order.cancel_ts = order.updated_at = created + seconds(rng.randint(60, 3600))
    return order


def _keep_apart(orders: list[Order]) -> None:
    """Nudge amounts so no two rows share customer, currency and amount within 180 s."""
    latest: dict[tuple[str, str, int], dt.datetime] = {}
    for order in sorted(orders, key=lambda o: o.created_at):
        if order.customer_id is None:
            continue
        while True:
            key = (order.customer_id, order.currency, order.amount_cents)
            seen = latest.get(key)
            if seen is None or (order.created_at - seen).total_seconds() >= UNIQUE_WINDOW_S:
                break
            order.amount_cents += 1
        latest[key] = order.created_at


def quarantine_rates(days: DemoDays, orders: list[Order]) -> dict[str, tuple[int, int]]:
    """Per partition (the `updated_at` date): (rows breaking a staging rule, all rows)."""
    counts = {p: [0, 0] for p in days.partitions}
    for order in orders:
        bucket = counts.get(order.updated_at.date().isoformat())
        if bucket is not None:
            bucket[0] += order.role == "invalid"
            bucket[1] += 1
    return {p: (q, n) for p, (q, n) in counts.items()}
