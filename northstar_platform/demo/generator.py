"""The demo data generator: every Northstar source, with known defects and their ground truth.

`generate` seeds a PostgreSQL database (orders, customers, core_preferences), lands Stripe,
WMS, finance, privacy and DSR files, stashes a *late wave* of files for `land_late_files`, and
writes `home/demo/manifest.json` (DESIGN §9). Everything follows from `DemoConfig`: the same
config gives byte-identical files, identical rows and an identical manifest (seeded
`random.Random` streams, no wall clock).

Days: `start` … `start + days - 1` (UTC). With 3 or more days, day `days // 2` is the
*gate-trip day*: its orders are all created that day, pending and referenced by no other
source, and 10% of them break a staging rule, so `stg_orders.quarantine_rate_within_threshold`
(5%) fails for that partition only. Every other day ~1% of rows break a rule. An order's
partition is the UTC date of its `updated_at`; quarantine rate = rule-breaking rows / rows.

Defect keys in `manifest["defects"]` (each planted on its own entity, so one defect yields one
detection; `expected` counts assume the late wave has landed):

Orders (PostgreSQL `orders`; rule-breaking rows break exactly one rule, on every partition):
- `quarantine:orders:amount_cents_non_negative` — rows with `amount_cents < 0`.
- `quarantine:orders:currency_known` — currency not in USD, EUR, GBP, CAD (e.g. `usd`, `XXX`).
- `quarantine:orders:status_known` — status not in pending, paid, shipped, delivered,
  cancelled, refunded (e.g. `SHIPPED?`).
- `quarantine:orders:customer_id_present` — `customer_id` is NULL.
- `referential:orders:customer_id_exists` — otherwise valid (pending) orders whose customer_id
  is not in `customers`; not quarantined.
- `audit_order_mismatches:DUPLICATE_ORDER` — extra rows. Rule: an order is a duplicate when an
  earlier order (total order: `created_at`, then `order_id`) with the same customer_id,
  currency and amount_cents was created at most 60 s before it. Copies are of pending or
  cancelled orders (no payment), 1..59 s later, with a new order_id and the same status;
  ordinary orders sharing those three values are kept >= 180 s apart, so nothing else matches.

Order reconciliation (orders x Stripe x WMS), one per order id:
- `audit_order_mismatches:MISSING_PAYMENT` — a `paid` order with no Stripe event of any type.
- `audit_order_mismatches:ORPHAN_PAYMENT` — one `payment_intent.succeeded` for an unknown
  order id (counted per order id).
- `audit_order_mismatches:AMOUNT_MISMATCH` — the order's Stripe events carry another amount.
- `audit_order_mismatches:CURRENCY_MISMATCH` — the order's Stripe events carry another currency
  (compared case-insensitively: Stripe writes `usd`).
- `audit_order_mismatches:STATUS_CONFLICT` — a WMS `shipped` row for an order whose payment
  failed (status shipped, only `payment_intent.payment_failed`), or that is refunded
  (`charge.refunded`), or that is cancelled. A failed payment is not a MISSING_PAYMENT.
- `audit_order_mismatches:MISSING_SHIPMENT` — a `shipped` order with no WMS row although its
  `updated_at` is at least 24 h before the end of the last day.
- `audit_order_mismatches:ORPHAN_SHIPMENT` — one WMS `shipped` row for an unknown order id.

Stripe files (`stripe/YYYY/MM/DD/events-NNN.jsonl`):
- `duplicates:stripe:event_id` — extra deliveries of an event id (retries: 2-3 copies in
  all, in later files of the same day, out of order) = lines with an id - distinct ids.
- `quarantine:stripe:json_parses` — lines that are not JSON (cut off half-way).
- `quarantine:stripe:id_present` — JSON lines without an `id`.
- `late_files:stripe` — files of the late wave (an earlier day's `events-005.jsonl`).

WMS files (`wms/YYYY/MM/DD/HH/shipments-N.csv`; every row-level defect and the wrong-header
file share one trip hour, the only hour whose 1% quarantine gate fails):
- `quarantine:wms:column_count_matches` — rows with 5 fields instead of 6.
- `quarantine:wms:quantity_integer` — quantity `two` or `1.5`.
- `quarantine:wms:event_ts_parses` — event_ts on day 32 of a month.
- `quarantine:wms:row_complete` — the cut-off last line (no trailing newline) of a partial file.
- `quarantine:wms:header_matches` — files whose header is not the contract's; the whole file
  is one quarantine record carrying its line count.
- `duplicates:wms:shipment_event` — rows of a file re-sent under a new name: duplicates on
  (shipment_id, event_ts).
- `late_files:wms` — files of the late wave (a second file of an earlier hour).

Finance (`finance/YYYY/MM/DD/daily_revenue.csv`):
- `audit_revenue_variance:VARIANCE` — (date, currency) rows finance reports 1% off the gross
  of valid, non-duplicate, non-deleted paid/shipped/delivered orders by created_at date;
  every other row is exact (threshold 0.05%).

Preferences (privacy files x `core_preferences`, DESIGN §8 computed in plain Python by
`preference_rules`, recon_date = last day):
- `audit_preference_mismatches:MISSING_IN_PRIVACY`, `…:MISSING_IN_CORE`, `…:STATE_DIFF`,
  `…:STALE_IN_CORE` — the pairs of each class, including those decided by the global
  do-not-contact, by the core tie (OPT_OUT wins), by the string-compared source_record_id, by
  a +02:00 offset and by microseconds.
- `remediation_core_updates:ROWS` — STATE_DIFF + STALE_IN_CORE + MISSING_IN_CORE opt-outs.

DSR (`dsr/requests/<request_id>.json`):
- `dsr_requests:SUBJECT_NOT_FOUND` — requests whose subject matches no customer.
"""

import datetime as dt
import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from northstar_platform.demo import landing_writer, manifest
from northstar_platform.demo.customers_data import Customer, build_customers
from northstar_platform.demo.dsr_data import build_dsr
from northstar_platform.demo.duplicate_orders import add_duplicates
from northstar_platform.demo.finance_data import build_finance
from northstar_platform.demo.fulfillment_data import build_wms
from northstar_platform.demo.order_faults import plan_faults
from northstar_platform.demo.orders_data import Order, build_orders, quarantine_rates
from northstar_platform.demo.payments_data import build_stripe
from northstar_platform.demo.preference_rules import CoreRow, classify
from northstar_platform.demo.privacy_data import build_preferences, render_privacy
from northstar_platform.demo.publication_gates import gate_outcomes
from northstar_platform.demo.records import DemoDays
from northstar_platform.demo.source_db import connect_creating, load_source
from northstar_platform.errors import NorthstarError
from northstar_platform.resources.landing import LandingZone

ORDERS_PER_DAY = 1000
MIN_ORDERS_PER_DAY = 200
"""Below this, a day has no room for its defects while keeping the quarantine rate < 5%."""
CUSTOMERS_PER_SCALE = 2000
MIN_CUSTOMERS = 150
QUARANTINE_THRESHOLD = 0.05


@dataclass(frozen=True)
class DemoConfig:
    """What to generate; the whole output is a function of these four values."""

    start: dt.date
    """First business day (UTC)."""
    days: int = 7
    scale: float = 1.0
    """1.0 ≈ 1,000 orders a day (at least 200 at any scale); must be > 0."""
    seed: int = 7

    def __post_init__(self) -> None:
        if self.days < 1:
            raise NorthstarError(f"demo days must be at least 1 (got {self.days})")
        if not self.scale > 0:
            raise NorthstarError(f"demo scale must be greater than 0 (got {self.scale})")

    def as_json(self) -> dict[str, Any]:
        """The config as it appears in the manifest."""
        return {
            "start": self.start.isoformat(),
            "days": self.days,
            "scale": self.scale,
            "seed": self.seed,
        }


@dataclass
class DemoData:
    """Everything one configuration generates, before anything is written anywhere."""

    customers: list[Customer]
    orders: list[Order]
    core_rows: list[CoreRow]
    files: dict[str, bytes]
    late_files: dict[str, bytes]
    manifest: dict[str, Any]


def build_demo(config: DemoConfig) -> DemoData:
    """Generate all rows, files and the manifest in memory (no database, no landing zone)."""
    days = DemoDays(config.start, config.days)

    def rng(stream: str) -> random.Random:
        # One stream per source: a change in one builder leaves the others' output unchanged.
        return random.Random(f"{config.seed}:{stream}")

    customers = build_customers(rng("customers"), _customer_count(config), days)
    customer_ids = [c.customer_id for c in customers]
    per_day = max(MIN_ORDERS_PER_DAY, round(ORDERS_PER_DAY * config.scale))
    orders = build_orders(rng("orders"), days, per_day, customer_ids)
    orders = add_duplicates(rng("duplicates"), days, orders)
    plan = plan_faults(rng("faults"), days, orders)
    stripe = build_stripe(rng("stripe"), days, orders, plan)
    wms = build_wms(rng("wms"), days, orders, plan)
    finance = build_finance(rng("finance"), days, orders)
    prefs = build_preferences(rng("preferences"), days, customer_ids, config.scale)
    privacy_files = render_privacy(days, prefs)
    dsr = build_dsr(rng("dsr"), days, customers, orders, {e.customer_key for e in prefs.events})

    mismatches = classify(prefs.events, prefs.core, days.date(days.count - 1))
    expected: dict[str, int] = {key: 0 for key in manifest.DEFECTS}
    for order in orders:
        if order.rule:
            expected[f"quarantine:orders:{order.rule}"] += 1
    expected["referential:orders:customer_id_exists"] = sum(o.role == "referential" for o in orders)
    expected["audit_order_mismatches:DUPLICATE_ORDER"] = sum(o.role == "duplicate" for o in orders)
    for name, count in plan.counts.items():
        expected[f"audit_order_mismatches:{name}"] = count
    for m in mismatches:
        expected[f"audit_preference_mismatches:{m.mismatch_type}"] += 1
    expected["remediation_core_updates:ROWS"] = sum(m.needs_remediation for m in mismatches)
    for counts in (stripe.counts, wms.counts, finance.counts, dsr.counts):
        expected.update(counts)

    files = {**stripe.files, **wms.files, **finance.files, **privacy_files, **dsr.files}
    late = {**stripe.late, **wms.late}
    sources = {
        "orders": len(orders),
        "customers": len(customers),
        "core_preferences": len(prefs.core),
        "stripe_lines": stripe.lines,
        "stripe_files": sum(k.startswith("stripe/") for k in [*files, *late]),
        "wms_rows": wms.rows,
        "wms_files": sum(k.startswith("wms/") for k in [*files, *late]),
        "finance_rows": finance.rows,
        "privacy_events": len(prefs.events),
        "dsr_requests": len(dsr.files),
        "late_files": len(late),
    }
    checks = {
        manifest.QUARANTINE_RATE_CHECK: _quarantine_outcomes(days, orders),
        manifest.WMS_QUARANTINE_RATE_CHECK: _wms_gate_outcomes(days, wms.trip_hour),
        **gate_outcomes(days, orders, plan, finance.variance_dates),
    }
    return DemoData(
        customers=customers,
        orders=orders,
        core_rows=prefs.core,
        files=dict(sorted(files.items())),
        late_files=dict(sorted(late.items())),
        manifest=manifest.build_manifest(
            config.as_json(), days.partitions, sources, expected, checks
        ),
    )


def generate(
    config: DemoConfig,
    source_dsn: str,
    zone: LandingZone,
    home: Path,
    progress: Callable[[str], None] = lambda _: None,
) -> dict:
    """Create/seed the PostgreSQL demo database, write on-time landing files, stash the late wave
    under home/'demo'/'late', write home/'demo'/'manifest.json' and return the manifest dict.

    Raises:
        SourceUnavailableError: the PostgreSQL server cannot be reached.
        NorthstarError: the database or landing zone holds data the demo did not write.
    """
    # Fail fast, and before changing anything: the server answers, the landing zone is ours.
    conn = connect_creating(source_dsn)
    try:
        stale = landing_writer.stale_keys(zone, home)
        progress("building the demo's rows and files in memory")
        data = build_demo(config)
        src = data.manifest["sources"]
        progress(
            f"loading PostgreSQL: {src['orders']:,} orders, {src['customers']:,} customers, "
            f"{src['core_preferences']:,} preference rows"
        )
        # From here on the old manifest no longer describes what is stored: never leave it.
        manifest.manifest_path(home).unlink(missing_ok=True)
        load_source(conn, data.customers, data.orders, data.core_rows, config.as_json())
    finally:
        conn.close()
    landing_writer.replace_landing(zone, home, stale, data.files, data.late_files, progress)
    path = manifest.write_manifest(home, data.manifest)
    progress(f"wrote {path}")
    return data.manifest


def land_late_files(zone: LandingZone, home: Path) -> list[str]:
    """Copy the stashed late wave into the landing zone (keys unchanged); return the keys."""
    return landing_writer.land_stashed(zone, home)


def load_manifest(home: Path) -> dict:
    """The manifest the last `generate` under `home` wrote."""
    return manifest.load_manifest(home)


def _customer_count(config: DemoConfig) -> int:
    return max(MIN_CUSTOMERS, round(CUSTOMERS_PER_SCALE * config.scale))


def _wms_gate_outcomes(days: DemoDays, trip: dt.datetime | None) -> dict[str, str]:
    """pass/fail per landing hour of the WMS 1% quarantine gate: only the trip hour fails."""
    hours = [days.begin(0) + dt.timedelta(hours=n) for n in range(24 * days.count)]
    return {f"{h:%Y-%m-%d-%H}:00": "fail" if h == trip else "pass" for h in hours}


def _quarantine_outcomes(days: DemoDays, orders: list[Order]) -> dict[str, str]:
    """pass/fail per partition of the 5% quarantine-rate gate, asserting the design holds."""
    outcomes = {}
    trip = days.date(days.trip).isoformat() if days.trip is not None else None
    for partition, (bad, total) in quarantine_rates(days, orders).items():
        rate = bad / total if total else 0.0
        outcomes[partition] = "pass" if rate <= QUARANTINE_THRESHOLD else "fail"
        if (outcomes[partition] == "fail") != (partition == trip):
            raise AssertionError(
                f"demo generator bug: quarantine rate {rate:.2%} on {partition} "
                f"(trip day {trip}); the gate must fail on the trip day only"
            )
    return outcomes
