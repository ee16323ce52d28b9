"""Stripe webhook events as landed JSON-lines files, with their retries and defects.

Files are `stripe/YYYY/MM/DD/events-NNN.jsonl`, one per six-hour block of the event's
`created` day (001 = 00:00-05:59 … 004 = 18:00-23:59); the late wave adds `events-005.jsonl`
to an earlier day. Ordinary orders emit `payment_intent.succeeded` then `charge.succeeded`
(1..3 s later), a `charge.refunded` when refunded, and cancelled orders sometimes a
`payment_intent.payment_failed`; amounts are the order's `amount_cents`, currencies Stripe's
lower case.
"""

import datetime as dt
import json
import random
from dataclasses import dataclass, field
from typing import Any

from northstar_platform.demo.order_faults import FaultPlan
from northstar_platform.demo.orders_data import CURRENCY_WEIGHTS, Order, scaled
from northstar_platform.demo.records import DemoDays, day_path, epoch_seconds, seconds, unique_token

BLOCK_HOURS = 6
LATE_BLOCK = 5
RETRY_SHARE = 0.01
"""Share of events the webhook sender delivers again (1 or 2 extra copies each)."""
LATE_ORDER_SHARE = 0.03
"""Share of one day's paying orders whose events arrive only with the late wave."""


OBJECT_KINDS = {
    "payment_intent.succeeded": ("pi_", "succeeded"),
    "payment_intent.payment_failed": ("pi_", "requires_payment_method"),
    "charge.succeeded": ("ch_", "succeeded"),
    "charge.refunded": ("re_", "refunded"),
}
"""Event type → (data object id prefix, data object status)."""


@dataclass(frozen=True)
class _Payment:
    amount: int
    currency: str
    order_id: str
    order: Order | None


@dataclass(eq=False)
class _Event:
    ts: dt.datetime
    body: dict[str, Any]
    order: Order | None

    @property
    def line(self) -> str:
        return json.dumps(self.body, separators=(",", ":")) + "\n"


@dataclass
class StripeFiles:
    """Rendered files (on time and late) and the counts the manifest needs."""

    files: dict[str, bytes] = field(default_factory=dict)
    late: dict[str, bytes] = field(default_factory=dict)
    lines: int = 0
    counts: dict[str, int] = field(default_factory=dict)


def build_stripe(
    rng: random.Random, days: DemoDays, orders: list[Order], plan: FaultPlan
) -> StripeFiles:
    """Render every Stripe file; retries, malformed lines and the late file included."""
    ids: set[str] = set()
    events: list[_Event] = []
    for order in sorted(orders, key=lambda o: o.order_id):
        events += _order_events(rng, order, ids)
    for order_id, ts in plan.orphan_payments:
        payment = _Payment(rng.randint(500, 40000), "usd", order_id, None)
        events.append(_event(rng, ids, ts, "payment_intent.succeeded", payment))
    events.sort(key=lambda e: (e.ts, e.body["id"]))

    late_events = _late_events(rng, days, events)
    blocks: dict[tuple[dt.date, int], list[str]] = {}
    late_ids = set(map(id, late_events))
    for event in events:
        if id(event) not in late_ids:
            blocks.setdefault(_block(event.ts), []).append(event.line)
    out = StripeFiles()
    out.counts["duplicates:stripe:event_id"] = _retry(rng, events, late_events, blocks)
    out.counts["quarantine:stripe:json_parses"] = _insert_bad(rng, events, blocks, "json")
    out.counts["quarantine:stripe:id_present"] = _insert_bad(rng, events, blocks, "id")
    for (day, block), lines in sorted(blocks.items()):
        out.files[_key(day, block)] = "".join(lines).encode()
        out.lines += len(lines)
    if late_events:
        day = late_events[0].ts.date()
        out.late[_key(day, LATE_BLOCK)] = "".join(e.line for e in late_events).encode()
        out.lines += len(late_events)
    out.counts["late_files:stripe"] = len(out.late)
    return out


def _key(day: dt.date, block: int) -> str:
    return f"stripe/{day_path(day)}/events-{block:03d}.jsonl"


def _block(ts: dt.datetime) -> tuple[dt.date, int]:
    return ts.date(), ts.hour // BLOCK_HOURS + 1


def _event(
    rng: random.Random, ids: set[str], ts: dt.datetime, kind: str, payment: _Payment
) -> _Event:
    """One Stripe event object; the data object's id prefix and status follow the type."""
    prefix, status = OBJECT_KINDS[kind]
    body = {
        "id": unique_token(rng, "evt_", ids),
        "type": kind,
        "created": epoch_seconds(ts),
        "data": {
            "object": {
                "id": unique_token(rng, prefix, ids),
                "amount": payment.amount,
                "currency": payment.currency,
                "status": status,
                "metadata": {"order_id": payment.order_id},
            }
        },
    }
    return _Event(ts, body, payment.order)


def _order_events(rng: random.Random, order: Order, ids: set[str]) -> list[_Event]:
    """What Stripe sent about one order, bent by its planted fault."""
    if order.role != "normal" or order.fault == "MISSING_PAYMENT":
        return []
    amount, currency = order.amount_cents, order.currency.lower()
    if order.fault == "AMOUNT_MISMATCH":
        amount -= rng.randint(1, max(1, amount // 10))
    elif order.fault == "CURRENCY_MISMATCH":
        currency = rng.choice([c for c in CURRENCY_WEIGHTS if c != order.currency]).lower()

    payment = _Payment(amount, currency, order.order_id, order)
    out = []
    if order.fail_ts:
        out.append(_event(rng, ids, order.fail_ts, "payment_intent.payment_failed", payment))
    if order.pay_ts and order.fault == "STATUS_CONFLICT:payment_failed":
        out.append(_event(rng, ids, order.pay_ts, "payment_intent.payment_failed", payment))
    elif order.pay_ts:
        out.append(_event(rng, ids, order.pay_ts, "payment_intent.succeeded", payment))
        charged = order.pay_ts + seconds(rng.randint(1, 3))
        out.append(_event(rng, ids, charged, "charge.succeeded", payment))
    if order.refund_ts:
        out.append(_event(rng, ids, order.refund_ts, "charge.refunded", payment))
    return out


def _late_events(rng: random.Random, days: DemoDays, events: list[_Event]) -> list[_Event]:
    """All events of a few clean orders of one earlier day: they land with the late wave."""
    per_order: dict[Order, list[_Event]] = {}
    for event in events:
        if event.order is not None:
            per_order.setdefault(event.order, []).append(event)
    earlier = [i for i in days.normal_days if i < days.count - 1] or days.normal_days
    day = days.date(rng.choice(earlier))
    clean = [
        o
        for o, evs in per_order.items()
        if o.fault is None and all(e.ts.date() == day for e in evs)
    ]
    chosen = rng.sample(clean, min(len(clean), scaled(len(clean), LATE_ORDER_SHARE)))
    return sorted((e for o in chosen for e in per_order[o]), key=lambda e: (e.ts, e.body["id"]))


def _retry(
    rng: random.Random,
    events: list[_Event],
    late: list[_Event],
    blocks: dict[tuple[dt.date, int], list[str]],
) -> int:
    """Re-deliver some events 1-2 more times into later files of their day, out of order."""
    skip = set(map(id, late))
    candidates = [
        e
        for e in events
        if id(e) not in skip
        and e.order is not None
        and (e.ts.date(), _block(e.ts)[1] + 1) in blocks
    ]
    copies = 0
    for event in rng.sample(candidates, min(len(candidates), scaled(len(events), RETRY_SHARE, 2))):
        day, block = _block(event.ts)
        later = [b for (d, b) in blocks if d == day and b > block]
        for _ in range(rng.choice((1, 2))):
            target = blocks[(day, rng.choice(sorted(later)))]
            target.insert(rng.randint(0, len(target)), event.line)
            copies += 1
    return copies


def _insert_bad(
    rng: random.Random,
    events: list[_Event],
    blocks: dict[tuple[dt.date, int], list[str]],
    kind: str,
) -> int:
    """Insert lines a parser must quarantine: cut-off JSON, or an event without an `id`."""
    count = scaled(len(events), 0.0002, 2)
    keys = sorted(blocks)
    for _ in range(count):
        source = rng.choice(events)
        if kind == "json":
            text = source.line.rstrip("\n")
            line = text[: len(text) // 2] + "\n"
        else:
            body = {k: v for k, v in source.body.items() if k != "id"}
            line = json.dumps(body, separators=(",", ":")) + "\n"
        target = blocks[rng.choice(keys)]
        target.insert(rng.randint(0, len(target)), line)
    return count
