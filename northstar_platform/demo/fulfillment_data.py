"""Warehouse-management (WMS) shipment events as hourly CSV drops, with their defects.

Files are `wms/YYYY/MM/DD/HH/shipments-1.csv` holding the rows whose `event_ts` falls in that
hour; extra files of an hour are `shipments-2.csv`. A shipped order has a `shipped` row at its
shipment time (and sometimes a `picked` row before it), a delivered one also a `delivered` row.

Defects never remove the only row of a shipment (that would also be a missing shipment):
malformed rows, the partial file's cut-off line and the wrong-header file's rows are all
*extra* `picked` rows of orders whose real rows are elsewhere. They all share one *trip hour*
(with the wrong-header file beside it), the only hour whose 1% quarantine gate fails. The late
wave moves half the rows of two earlier hours into a second file of that hour, landed later.
"""

import datetime as dt
import random
from dataclasses import dataclass, field

from northstar_platform.demo.order_faults import FaultPlan
from northstar_platform.demo.orders_data import Order, scaled
from northstar_platform.demo.records import DemoDays, day_path, iso_z, seconds

HEADER = "shipment_id,order_id,status,quantity,warehouse_code,event_ts\n"
WRONG_HEADER = "shipment_ref,order_ref,state,qty,warehouse,ts\n"
WAREHOUSES = ("WH-EAST-1", "WH-WEST-2", "WH-CENTRAL-3")
MALFORMED_RULES = ("column_count_matches", "quantity_integer", "event_ts_parses")
LATE_FILES = 2


@dataclass(eq=False)
class _Row:
    ts: dt.datetime
    shipment_id: str
    order_id: str
    status: str
    quantity: int
    warehouse: str
    order: Order | None

    @property
    def line(self) -> str:
        return (
            f"{self.shipment_id},{self.order_id},{self.status},{self.quantity},"
            f"{self.warehouse},{iso_z(self.ts)}\n"
        )


@dataclass
class WmsFiles:
    """Rendered files (on time and late) and the counts the manifest needs."""

    files: dict[str, bytes] = field(default_factory=dict)
    late: dict[str, bytes] = field(default_factory=dict)
    rows: int = 0
    trip_hour: dt.datetime | None = None
    """The one hour whose quarantine rate trips the gate (every row-level defect is there)."""
    counts: dict[str, int] = field(default_factory=dict)


def build_wms(rng: random.Random, days: DemoDays, orders: list[Order], plan: FaultPlan) -> WmsFiles:
    """Render every WMS file; malformed, partial, re-sent, wrong-header and late ones included."""
    hours: dict[dt.datetime, list[_Row]] = {}
    for row in _shipment_rows(rng, days, orders, plan):
        hours.setdefault(row.ts.replace(minute=0, second=0), []).append(row)
    lines = {
        h: [r.line for r in sorted(rs, key=lambda r: (r.ts, r.shipment_id))]
        for h, rs in sorted(hours.items())
    }
    seen = {(r.shipment_id, r.ts) for rs in hours.values() for r in rs}
    clean = [
        h
        for h, rs in sorted(hours.items())
        if len(rs) >= 2 and all(r.order is not None and r.order.fault is None for r in rs)
    ]
    last_day = days.date(days.count - 1)
    earlier = [h for h in clean if h.date() < last_day] if days.count > 1 else clean
    late_hours = rng.sample(earlier, min(LATE_FILES, len(earlier)))
    rest = [h for h in clean if h not in late_hours]
    specials: list[dt.datetime | None] = [*rng.sample(rest, min(2, len(rest))), None, None]
    # Every row-level defect shares one trip hour: an hour holds a few dozen rows, so a single
    # bad row already exceeds the 1% quarantine gate, and the gate must trip in one hour only.
    resent, trip = specials[:2]
    partial = header = trip

    out = WmsFiles(trip_hour=trip)
    for hour in sorted(late_hours):
        moved = set(rng.sample(lines[hour], len(lines[hour]) // 2))
        out.late[_key(hour, 2)] = (HEADER + "".join(x for x in lines[hour] if x in moved)).encode()
        lines[hour] = [x for x in lines[hour] if x not in moved]
    extra: dict[str, str] = {}
    if resent is not None:
        extra[_key(resent, 2)] = HEADER + "".join(lines[resent])
    out.counts["duplicates:wms:shipment_event"] = len(lines[resent]) if resent else 0
    if header is not None:
        picked = [
            _picked(rng, r, seen).line
            for r in rng.sample(hours[header], min(3, len(hours[header])))
        ]
        extra[_key(header, 2)] = WRONG_HEADER + "".join(picked)
    out.counts["quarantine:wms:header_matches"] = int(header is not None)

    for rule in MALFORMED_RULES:
        count = scaled(len(seen), 0.0002, 2) if trip is not None else 0
        for _ in range(count):
            assert trip is not None
            text = _malformed(rule, _picked(rng, rng.choice(hours[trip]), seen), rng)
            lines[trip].insert(rng.randint(0, len(lines[trip])), text)
        out.counts[f"quarantine:wms:{rule}"] = count
    if partial is not None:
        line = _picked(rng, rng.choice(hours[partial]), seen).line
        cut = line.index(",", line.index(",") + 1) + 4  # shipment_id,order_id,pic
        lines[partial].append(line[:cut])
    out.counts["quarantine:wms:row_complete"] = int(partial is not None)

    for hour, rows in lines.items():
        extra[_key(hour, 1)] = HEADER + "".join(rows)
    for key, text in sorted(extra.items()):
        out.files[key] = text.encode()
    for text in [*extra.values(), *(b.decode() for b in out.late.values())]:
        out.rows += len(text.splitlines()) - 1
    out.counts["late_files:wms"] = len(out.late)
    return out


def _key(hour: dt.datetime, n: int) -> str:
    return f"wms/{day_path(hour.date())}/{hour:%H}/shipments-{n}.csv"


def _shipment_rows(
    rng: random.Random, days: DemoDays, orders: list[Order], plan: FaultPlan
) -> list[_Row]:
    """The warehouse's true events: one shipment per shipped order, plus orphan shipments."""
    rows: list[_Row] = []
    n = 0
    for order in sorted(orders, key=lambda o: o.order_id):
        if order.role != "normal" or order.ship_ts is None or order.fault == "MISSING_SHIPMENT":
            continue
        n += 1
        shipment = (f"shp_{n:08d}", order.order_id)
        qty, warehouse = rng.randint(1, 4), rng.choice(WAREHOUSES)
        if order.fault is None and rng.random() < 0.3:
            picked = order.ship_ts - seconds(rng.randint(600, 3 * 3600))
            if picked > (order.pay_ts or order.created_at):
                rows.append(_Row(picked, *shipment, "picked", qty, warehouse, order))
        rows.append(_Row(order.ship_ts, *shipment, "shipped", qty, warehouse, order))
        if order.deliver_ts:
            rows.append(_Row(order.deliver_ts, *shipment, "delivered", qty, warehouse, order))
    for order_id, ts in plan.orphan_shipments:
        n += 1
        rows.append(
            _Row(
                ts,
                f"shp_{n:08d}",
                order_id,
                "shipped",
                rng.randint(1, 4),
                rng.choice(WAREHOUSES),
                None,
            )
        )
    return rows


def _picked(rng: random.Random, row: _Row, seen: set[tuple[str, dt.datetime]]) -> _Row:
    """An extra `picked` row for `row`'s shipment at an instant no row of it uses."""
    while True:
        ts = row.ts - seconds(rng.randint(60, 600))
        if (row.shipment_id, ts) not in seen:
            seen.add((row.shipment_id, ts))
            return _Row(
                ts, row.shipment_id, row.order_id, "picked", row.quantity, row.warehouse, row.order
            )


def _malformed(rule: str, row: _Row, rng: random.Random) -> str:
    """`row` rendered so that it breaks exactly `rule`."""
    ts = iso_z(row.ts)
    head = f"{row.shipment_id},{row.order_id},{row.status}"
    if rule == "column_count_matches":
        return f"{head},{row.quantity},{ts}\n"
    if rule == "quantity_integer":
        return f"{head},{rng.choice(('two', '1.5'))},{row.warehouse},{ts}\n"
    return f"{head},{row.quantity},{row.warehouse},{row.ts:%Y-%m}-32T{row.ts:%H:%M}:00Z\n"
