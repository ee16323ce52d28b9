"""Benchmark: one business day through curated state, audit and marts (dbt on DuckDB).

    .venv/bin/python bench/reconciliation.py [--orders 330000] [--events 8000000]
        [--wms-files 250] [--customers 200000] [--scale 1.0] [--repeat 3] [--keep]

1. Generates, with DuckDB SQL (`range()` and `hash()`, no random numbers, no Python loop over
   rows), straight into a fresh DuckDB file, the staging tables the dbt models read, in the
   contracts of `northstar_platform.layers`: one business day D = 2026-11-02 of `--orders`
   orders (six statuses, four currencies, customers from `curated.customers_latest`), their
   versions in `staging.stg_orders` (partition D), `--events` Stripe events in
   `staging.stg_stripe_events` (partition D), WMS rows for the shipped orders in 24 hourly
   partitions `D-HH:00` from `--wms-files` files, and finance's revenue per (D, currency).
   Planted in it, `--orders / 3300` of each (100 at full size): DUPLICATE_ORDER,
   STATUS_CONFLICT, MISSING_PAYMENT, CURRENCY_MISMATCH, AMOUNT_MISMATCH, MISSING_SHIPMENT (only
   detectable the next day, when the data's clock has moved 24 h on), ORPHAN_PAYMENT,
   ORPHAN_SHIPMENT, orders of unknown customers, and one currency whose finance figure is off
   by 0.005% (within the 0.05% limit).
2. Run 1: `dbt build` (every model and test) for [D, D+1) on a copy of that file (the
   warehouse holds nothing else: the first build of the day), in a child process.
3. Generates the next day's small batch into the same copy: 1% of D's orders move on
   (paid → shipped, shipped → delivered, with their WMS rows), half of the MISSING_PAYMENT
   orders get their late payment, and 1% as many new orders are created on D+1 (with 1% of
   the events, their shipments and finance's figures).
4. Run 2: `dbt build` for [D+1, D+2), incremental on run 1's tables.
5. After each run, reads the warehouse: open and cleared mismatches per business date and
   class, revenue and variance per currency, the gates, the marts' rows, the curated row
   counts and the dbt test results must equal what the generator planted. Prints seconds,
   rows in and rows/s per layer (from dbt's run_results.json), the whole dbt process's wall
   time and peak RSS, and the issue's targets for run 1 (under 120 s and 6 GiB). Exits 1 when
   a target is missed, a count differs or dbt fails.

Steps 2-4 are one round; `--repeat` rounds run on fresh copies of the generated day (the
machine is shared, a single round varies by up to 2x), and the round with the median run 1
wall time is printed in full, the others as one line each. The targets take that median wall
time and the highest peak RSS of all rounds.

Seconds per layer are the sums of dbt's `execution_time` of the layer's models (folder:
curated, intermediate, audit, marts, bi) and of all tests; `dbt other` is the rest of the
process's wall time (start, parse, compile, connections). Peak RSS is the dbt process tree's
high-water mark (`child_process.py`; wait4's `ru_maxrss` is shown beside it but includes this
bench process's own size, which Linux carries into a child at exec). Data generation is
timed separately and not part of the target. Work files live in
`.northstar/bench/reconciliation/` (git-ignored), removed unless `--keep`.
"""

import argparse
import datetime as dt
import json
import os
import re
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parent))
from child_process import mib, run_child

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from northstar_platform.layers import (  # noqa: E402
    CUSTOMERS_LATEST_KEYS,
    DBT_SOURCE_TABLES,
    STG_FINANCE_REVENUE,
    STG_ORDERS,
    STG_STRIPE_EVENTS,
    STG_WMS_SHIPMENTS,
    Table,
    quote,
)

WORKDIR = REPO / ".northstar" / "bench" / "reconciliation"
DBT_PROJECT = REPO / "dbt"
DAY = dt.date(2026, 11, 2)
NEXT = DAY + dt.timedelta(days=1)
TARGET_S = 120.0
TARGET_RSS_BYTES = 6 << 30
ORDERS_PER_PLANT = 3300
"""One planted order of each kind per this many orders: 100 at 330,000."""
CHANGE_SHARE = 0.01
"""The next day's batch: this share of D's orders changes, this share as many are new."""
FINANCE_OFF_RATIO = 20_000
"""EUR's finance figure is off by 1/20,000 (0.005%), inside the 0.05% variance limit."""
LAYERS = ("curated", "intermediate", "audit", "marts", "bi", "tests")
PLANT_KINDS = (
    "DUPLICATE_ORIGINAL",
    "STATUS_CONFLICT",
    "MISSING_PAYMENT",
    "CURRENCY_MISMATCH",
    "AMOUNT_MISMATCH",
    "MISSING_SHIPMENT",
    "UNKNOWN_CUSTOMER",
)
"""Order-level plants, one slot each in turn; the duplicate is a copy of DUPLICATE_ORIGINAL."""
ORDER_CLASSES = (
    "DUPLICATE_ORDER",
    "STATUS_CONFLICT",
    "MISSING_PAYMENT",
    "CURRENCY_MISMATCH",
    "AMOUNT_MISMATCH",
)
"""Classes run 1 finds on D: one per planted order (MISSING_SHIPMENT only in run 2)."""

# --------------------------------------------------------------------------- generation SQL
# Everything below is a pure function of (day, sizes): `hash(i, tag, what)` instead of random
# numbers. Values are bound parameters ($name); only contract table names are formatted in.

ORDERS_SQL = """
create or replace temp table gen_orders as
with base as (
    select
        i,
        case when $plants > 0 and i % $step = $step // 2 and i // $step < $plants * 7
            then (i // $step) % 7 end as kind_no,
        (i // $step) // 7 as slot_no,
        hash(i, $tag, 'status') % 100 as status_roll,
        hash(i, $tag, 'currency') % 100 as currency_roll,
        500 + hash(i, $tag, 'amount') % 49500 as amount_roll,
        hash(i, $tag, 'deleted') % 400 = 0 as deleted_roll
    from range($n) as t(i)
),
planted as (
    select *, [
        'DUPLICATE_ORIGINAL', 'STATUS_CONFLICT', 'MISSING_PAYMENT', 'CURRENCY_MISMATCH',
        'AMOUNT_MISMATCH', 'MISSING_SHIPMENT', 'UNKNOWN_CUSTOMER'
    ][kind_no + 1] as plant
    from base
)
select
    i,
    'ord_' || $tag || '_' || lpad(i::varchar, 7, '0') as order_id,
    plant,
    case when plant is not null then slot_no end as plant_no,
    case when plant = 'UNKNOWN_CUSTOMER' then 'cus_unknown_' || slot_no
        else 'cus_' || lpad(((i * 7919) % $customers)::varchar, 7, '0') end as customer_id,
    case
        when plant = 'STATUS_CONFLICT' then 'cancelled'
        when plant = 'MISSING_SHIPMENT' then 'shipped'
        when plant is not null then 'paid'
        when status_roll < 10 then 'pending'
        when status_roll < 30 then 'paid'
        when status_roll < 55 then 'shipped'
        when status_roll < 85 then 'delivered'
        when status_roll < 95 then 'cancelled'
        else 'refunded'
    end as status,
    case when currency_roll < 55 then 'USD' when currency_roll < 75 then 'EUR'
        when currency_roll < 90 then 'GBP' else 'CAD' end as currency,
    amount_roll::bigint as amount_cents,
    $day::timestamp + to_microseconds(i * $stepus) as created_at,
    plant is null and deleted_roll as is_deleted,
    least(3600000000, (86340000000 - i * $stepus) // 5) as gap_us
from planted
"""

# The second order of a double submission: same customer, currency and amount, 30 s later.
DUPLICATES_SQL = """
insert into gen_orders
select $n + plant_no, 'ord_' || $tag || '_dup_' || lpad(plant_no::varchar, 5, '0'),
    'DUPLICATE_ORDER', plant_no, customer_id, 'paid', currency, amount_cents,
    created_at + interval 30 second, false, gap_us - 6000000
from gen_orders where plant = 'DUPLICATE_ORIGINAL'
"""

# Orders whose payment Stripe reports, with what it reports; rn numbers them for the filler.
PAYERS_SQL = """
create or replace temp table gen_payers as
select
    i, order_id, status, created_at, gap_us,
    amount_cents + case when plant = 'AMOUNT_MISMATCH' then 100 else 0 end as pay_amount,
    lower(case when plant <> 'CURRENCY_MISMATCH' or plant is null then currency
        when currency = 'USD' then 'EUR' else 'USD' end) as pay_currency,
    status in ('paid', 'shipped', 'delivered', 'refunded', 'cancelled') as has_core,
    row_number() over (order by i) - 1 as rn
from gen_orders
where plant is distinct from 'MISSING_PAYMENT'
"""

# Version v of an order at created_at + (v - 1) h, along its status path; a soft-deleted order
# has one more version with is_deleted. Every version of day D's orders is on day D.
VERSIONS_SELECT = """
select order_id, customer_id, path[least(v, len(path))] as status, currency, amount_cents,
    created_at, created_at + to_microseconds((v - 1) * gap_us) as updated_at,
    v > len(path) as is_deleted
from (
    select *, case status
        when 'pending' then ['pending']
        when 'paid' then ['pending', 'paid']
        when 'shipped' then ['pending', 'paid', 'shipped']
        when 'delivered' then ['pending', 'paid', 'shipped', 'delivered']
        when 'cancelled' then ['pending', 'cancelled']
        else ['pending', 'paid', 'refunded'] end as path
    from gen_orders
) as o
cross join range(1, 6) as r(v)
where v <= len(path) + case when is_deleted then 1 else 0 end
"""

VERSIONS_WRAP = """
select *,
    strftime(updated_at, '%Y-%m-%d') as partition_key,
    'orders/' || strftime(updated_at, '%Y-%m-%d') || '/export-' || strftime(updated_at, '%H')
        || '.parquet' as source_file,
    row_number() over (partition by strftime(updated_at, '%Y-%m-%d %H')
        order by updated_at, order_id) as line_no,
    date_trunc('hour', updated_at) + interval 1 hour as ingested_ts,
    $run_id as run_id
from ({inner})
"""

# Offsets are in 1/3600 of the order's version gap (1 h for most orders). A paying order:
# payment_intent.succeeded and charge.succeeded at 3500 (its `paid` version is at 3600), a
# refund before its `refunded` version; a cancelled order a payment_intent.canceled.
CORE_EVENTS_SELECT = """
select 'evt_' || $tag || 'c' || (p.i * 4 + t.k) as event_id, t.event_type,
    p.created_at + to_microseconds(p.gap_us * t.offset_s // 3600) as created_at,
    t.prefix || $tag || '_' || p.i as object_id, p.pay_amount as amount,
    p.pay_currency as currency, p.order_id, p.i * 4 + t.k + 1 as line_no
from gen_payers as p
join (values
    (0, 'payment_intent.succeeded', 3500, 'pi_'),
    (1, 'charge.succeeded', 3502, 'ch_'),
    (2, 'charge.refunded', 7100, 're_'),
    (3, 'payment_intent.canceled', 3500, 'pi_')
) as t(k, event_type, offset_s, prefix)
    on (t.k < 2 and p.status in ('paid', 'shipped', 'delivered', 'refunded'))
    or (t.k = 2 and p.status = 'refunded')
    or (t.k = 3 and p.status = 'cancelled')
"""

# The bulk of the day's events: failed and abandoned attempts spread over every order Stripe
# knows, all before the order's first success (so the payment state stays the core events').
FILLER_EVENTS_SELECT = """
select 'evt_' || $tag || 'f' || f.j as event_id,
    ['charge.failed', 'payment_intent.payment_failed', 'payment_intent.canceled'][f.j % 3 + 1]
        as event_type,
    p.created_at + to_microseconds(
        p.gap_us * (((f.j // $payers) % 3400) * 1000 + f.j % 1000) // 3600000
    ) as created_at,
    (case when f.j % 3 = 0 then 'ch_' else 'pi_' end) || $tag || '_' || p.i || '_' || f.j
        as object_id,
    p.pay_amount as amount, p.pay_currency as currency, p.order_id,
    $core_lines + f.j + 1 as line_no
from range($filler) as f(j)
join gen_payers as p on p.rn = f.j % $payers
"""

ORPHAN_EVENTS_SELECT = """
select 'evt_' || $tag || 'o' || k as event_id, 'payment_intent.succeeded' as event_type,
    $day::timestamp + to_seconds(43200 + k) as created_at, 'pi_' || $tag || '_orphan_' || k,
    1000 + k as amount, 'usd' as currency, 'ord_' || $tag || '_orphan_pay_' || k as order_id,
    $core_lines + $filler + k + 1 as line_no
from range($plants) as t(k)
"""

# Late payments (the next day) for the first half of the MISSING_PAYMENT orders.
LATE_EVENTS_SELECT = """
select 'evt_' || $tag || 'l' || (l.plant_no * 2 + t.k) as event_id, t.event_type,
    $day::timestamp + to_seconds(21600 + l.plant_no * 2 + t.k) as created_at,
    t.prefix || $tag || '_late_' || l.plant_no as object_id, l.amount_cents as amount,
    lower(l.currency) as currency, l.order_id, 9000000000 + l.plant_no * 2 + t.k as line_no
from gen_late as l
cross join (values (0, 'payment_intent.succeeded', 'pi_'), (1, 'charge.succeeded', 'ch_'))
    as t(k, event_type, prefix)
"""

EVENTS_WRAP = """
select event_id, event_type, created_at, object_id, amount, currency,
    case event_type
        when 'payment_intent.payment_failed' then 'requires_payment_method'
        when 'charge.failed' then 'failed'
        when 'payment_intent.canceled' then 'canceled'
        else 'succeeded' end as status,
    order_id, 1 as copies,
    strftime(created_at, '%Y-%m-%d') as partition_key,
    'stripe/' || strftime(created_at, '%Y/%m/%d') || '/events-'
        || strftime(time_bucket(interval 15 minute, created_at), '%H%M') || '.jsonl'
        as source_file,
    line_no,
    time_bucket(interval 15 minute, created_at) + interval '15 minute 7 second' as ingested_ts,
    $run_id as run_id
from ({inner})
"""

# Shipped and delivered orders (not the MISSING_SHIPMENT ones) have one shipment, 1 in 20 two,
# shipped 10 min to 1 h 55 after creation (in version-gap units, before the order's `shipped`
# version); a cancelled STATUS_CONFLICT order one `shipped` row; orphan shipments an unknown
# order id.
WMS_SELECT = """
with shipped_orders as (
    select i, order_id, status, created_at, gap_us,
        case when plant is null and hash(i, $tag, 'split') % 20 = 0 then 2 else 1 end as n_ship
    from gen_orders
    where (status in ('shipped', 'delivered') and plant is distinct from 'MISSING_SHIPMENT')
        or plant = 'STATUS_CONFLICT'
),
shipments as (
    select o.*, s, 'shp_' || $tag || '_' || lpad(i::varchar, 7, '0') || '_' || s as shipment_id,
        600 + (hash(i, s, $tag, 'ship') % 6300)::bigint as ship_at
    from shipped_orders as o cross join range(2) as r(s)
    where s < n_ship
)
select shipment_id, order_id, 'picked' as status,
    created_at + to_microseconds(gap_us * (ship_at - 300) // 3600) as event_ts
from shipments where hash(shipment_id, 'picked') % 2 = 0
union all
select shipment_id, order_id, 'shipped', created_at + to_microseconds(gap_us * ship_at // 3600)
from shipments
union all
select shipment_id, order_id, 'delivered',
    created_at + to_microseconds(gap_us * (10500 + s * 60) // 3600)
from shipments where status = 'delivered'
union all
select 'shp_' || $tag || '_orphan_' || k, 'ord_' || $tag || '_orphan_shp_' || k, 'shipped',
    $day::timestamp + to_seconds(36000 + k)
from range($plants) as t(k)
"""

# The next day's WMS rows of the orders that moved on: a new shipment for paid → shipped, the
# `delivered` row of the first shipment for shipped → delivered; 5 minutes before the update.
UPDATE_WMS_SELECT = """
select shipment_id, order_id, new_status as status, updated_at - interval 5 minute as event_ts
from gen_updates
"""

# Files: `--wms-files` spread over the 24 hours; a row goes to one of its hour's files.
WMS_WRAP = """
with wms_rows as ({inner}),
hours as (
    select f * 24 // $files as hr, count(*)::ubigint as per_hour
    from range($files) as t(f) group by hr
),
placed as (
    select r.*,
        1 + hash(shipment_id, 'quantity') % 4 as quantity,
        ['WH-EAST-1', 'WH-WEST-2', 'WH-CENTRAL-3'][(hash(shipment_id, 'wh') % 3)::bigint + 1]
            as warehouse_code,
        1 + hash(shipment_id, status) % h.per_hour as file_no
    from wms_rows as r join hours as h on h.hr = hour(r.event_ts)
)
select shipment_id, order_id, status, quantity::bigint as quantity, warehouse_code, event_ts,
    1 as copies,
    strftime(event_ts, '%Y-%m-%d-%H:00') as partition_key,
    'wms/' || strftime(event_ts, '%Y/%m/%d/%H') || '/shipments-'
        || lpad(file_no::varchar, 2, '0') || '.csv' as source_file,
    1 + row_number() over (partition by strftime(event_ts, '%Y-%m-%d %H'), file_no
        order by event_ts, shipment_id, status) as line_no,
    date_trunc('hour', event_ts) + interval 65 minute as ingested_ts,
    $run_id as run_id
from placed
"""

# The next day's changes to day D's orders: 1% of the unplanted live ones, half paid → shipped,
# half shipped → delivered, spread over D+1 from 00:30 to 23:59: the data's clock then passes
# every day-D order's last update by the 24 h MISSING_SHIPMENT SLA.
UPDATES_SQL = """
create or replace temp table gen_updates as
with picked as (
    select *, row_number() over (partition by status order by hash(i, $tag, 'update')) as pick
    from gen_orders
    where plant is null and not is_deleted and status in ('paid', 'shipped')
),
chosen as (
    select *, row_number() over (order by hash(i, $tag, 'update-order')) - 1 as k
    from picked
    where (status = 'paid' and pick <= $ship) or (status = 'shipped' and pick <= $deliver)
)
select i, order_id, customer_id, currency, amount_cents, created_at, status as old_status,
    case status when 'paid' then 'shipped' else 'delivered' end as new_status,
    $next::timestamp + to_microseconds(1800000000 + k * (84540000000 // ($updates - 1)))
        as updated_at,
    'shp_' || $tag || '_' || lpad(i::varchar, 7, '0')
        || case status when 'paid' then '_u' else '_0' end as shipment_id
from chosen
"""

UPDATE_VERSIONS_SELECT = """
select order_id, customer_id, new_status as status, currency, amount_cents, created_at,
    updated_at, false as is_deleted
from gen_updates
"""

LATE_SQL = """
create or replace temp table gen_late as
select order_id, plant_no, amount_cents, currency from gen_orders
where plant = 'MISSING_PAYMENT' and plant_no < $plants // 2
"""

REVENUE_SQL = """
select currency, count(*), sum(amount_cents)::bigint from gen_orders
where plant is distinct from 'DUPLICATE_ORDER' and not is_deleted
    and status in ('paid', 'shipped', 'delivered')
group by currency order by currency
"""

# --------------------------------------------------------------------------- checks after a run

MISMATCHES_SQL = """
select cast(business_date as varchar), mismatch_type, is_cleared, count(*)
from audit.audit_order_mismatches group by all order by all
"""
VARIANCE_SQL = """
select cast(business_date as varchar), currency, mart_orders, mart_revenue_cents,
    finance_revenue_cents, variance_cents, status
from audit.audit_revenue_variance order by all
"""
GATES_SQL = """
select cast(business_date as varchar), gate, passed, detail
from audit.audit_publication_gates order by all
"""
DAILY_REVENUE_SQL = """
select cast(business_date as varchar), currency, orders, gross_revenue_cents
from bi.fct_daily_revenue order by all
"""
FCT_ORDERS_SQL = """
select cast(business_date as varchar), count(*), count(open_mismatch_type)
from bi.fct_orders group by all order by all
"""
FULFILLMENT_SQL = """
select cast(business_date as varchar), sum(shipments)::bigint, sum(delivered_shipments)::bigint,
    sum(orphan_shipments)::bigint
from bi.fct_fulfillment group by all order by all
"""
CURATED_SQL = {
    "orders_latest by status": "select status, count(*) from curated.orders_latest "
    "group by all order by all",
    "payments_latest rows": "select count(*) from curated.payments_latest",
    "shipments_latest rows": "select count(*) from curated.shipments_latest",
}


@dataclass(frozen=True)
class Sizes:
    """What one generated day holds."""

    orders: int
    events: int
    wms_files: int
    customers: int
    plants: int


# --------------------------------------------------------------------------- generation


def bound(sql: str, params: dict[str, Any]) -> dict[str, Any]:
    """The parameters a statement uses (DuckDB refuses unused named parameters)."""
    used = set(re.findall(r"\$(\w+)", sql))
    return {k: v for k, v in params.items() if k in used}


def run(conn: duckdb.DuckDBPyConnection, sql: str, params: dict[str, Any]) -> Any:
    return conn.execute(sql, bound(sql, params))


def insert(
    conn: duckdb.DuckDBPyConnection,
    table: Table,
    wrap: str,
    inners: list[str],
    params: dict[str, Any],
) -> int:
    """Insert the union of `inners`, dressed with the loader columns by `wrap`, into a contract
    table by column name. Returns the rows inserted."""
    inner = "\nunion all\n".join(inners)
    select = wrap.replace("{inner}", inner)
    # Identifiers come from the contracts (quoted by layers.quote); every value is bound.
    sql = f"insert into {table.qualified} by name {select}"
    return int(run(conn, sql, params).fetchone()[0])


def one(conn: duckdb.DuckDBPyConnection, sql: str, params: dict[str, Any] | None = None) -> Any:
    return run(conn, sql, params or {}).fetchone()[0]


def day_params(day: dt.date, sizes: Sizes) -> dict[str, Any]:
    plants = sizes.plants
    return {
        "day": day,
        "next": day + dt.timedelta(days=1),
        "tag": day.strftime("%Y%m%d"),
        "n": sizes.orders,
        "customers": sizes.customers,
        "plants": plants,
        "step": max(1, sizes.orders // max(1, plants * len(PLANT_KINDS))),
        # Orders are created from 00:00 to 23:53:20; an order's versions are `gap_us` apart (1 h,
        # less late in the day), so every version, event and WMS row stays on the day.
        "stepus": 86_000_000_000 // sizes.orders,
        "files": sizes.wms_files,
        "run_id": "bench-generator",
    }


def build_orders(conn: duckdb.DuckDBPyConnection, params: dict[str, Any]) -> None:
    run(conn, ORDERS_SQL, params)
    run(conn, DUPLICATES_SQL, params)


def generate_day(
    conn: duckdb.DuckDBPyConnection,
    day: dt.date,
    sizes: Sizes,
    extra_versions: list[str],
    extra_events: list[str],
    extra_wms: list[str],
    params_extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One day's orders, versions, events, WMS rows and finance rows into staging; returns what
    the generator knows about them (the planted counts, revenue per currency, ...)."""
    params = day_params(day, sizes) | (params_extra or {})
    build_orders(conn, params)
    run(conn, PAYERS_SQL, params)
    versions = insert(conn, STG_ORDERS, VERSIONS_WRAP, [VERSIONS_SELECT, *extra_versions], params)

    payers = one(conn, "select count(*) from gen_payers")
    core = one(
        conn,
        "select sum(case when status = 'refunded' then 3 when status = 'cancelled' then 1 "
        "when status in ('paid', 'shipped', 'delivered') then 2 else 0 end) from gen_payers",
    )
    extra = params.get("extra_event_rows", 0)
    filler = sizes.events - core - sizes.plants - extra
    if filler < 0:
        raise SystemExit(f"--events {sizes.events:,} is below the {core + sizes.plants:,} needed")
    params |= {"payers": payers, "filler": filler, "core_lines": payers * 4}
    events = insert(
        conn,
        STG_STRIPE_EVENTS,
        EVENTS_WRAP,
        [CORE_EVENTS_SELECT, FILLER_EVENTS_SELECT, ORPHAN_EVENTS_SELECT, *extra_events],
        params,
    )
    wms = insert(conn, STG_WMS_SHIPMENTS, WMS_WRAP, [WMS_SELECT, *extra_wms], params)

    revenue = {cur: (n, cents) for cur, n, cents in conn.execute(REVENUE_SQL).fetchall()}
    finance = {}
    for currency, (_, cents) in revenue.items():
        off = max(1, cents // FINANCE_OFF_RATIO) if currency == "EUR" and params["plants"] else 0
        finance[currency] = cents + off
    finance_sql = (
        f"insert into {STG_FINANCE_REVENUE.qualified} by name "
        "select $day as business_date, $currency as currency, $cents as gross_revenue_cents, "
        "1 as copies, $pk as partition_key, $file as source_file, $line as line_no, "
        "$day::timestamp + interval 23 hour as ingested_ts, $run_id as run_id"
    )
    for line, (currency, cents) in enumerate(sorted(finance.items()), start=2):
        run(
            conn,
            finance_sql,
            params
            | {
                "currency": currency,
                "cents": cents,
                "pk": day.isoformat(),
                "file": f"finance/{day:%Y/%m/%d}/daily_revenue.csv",
                "line": line,
            },
        )

    plants = dict(
        conn.execute(
            "select plant, count(*) from gen_orders where plant is not null group by 1"
        ).fetchall()
    )
    return {
        "day": day.isoformat(),
        "orders": one(conn, "select count(*) from gen_orders"),
        "live": one(conn, "select count(*) from gen_orders where not is_deleted"),
        "by_status": dict(
            conn.execute("select status, count(*) from gen_orders group by 1").fetchall()
        ),
        "plants": plants,
        "revenue": revenue,
        "finance": finance,
        "rows": {"stg_orders": versions, "stg_stripe_events": events, "stg_wms_shipments": wms},
        "filler_events": filler,
        "plant_count": sizes.plants,
    }


def shipment_counts(conn: duckdb.DuckDBPyConnection, day: dt.date) -> tuple[int, int]:
    """(shipments first shipped on the day, of them delivered) in the generated WMS rows."""
    sql = """
        select count(*), count(delivered) from (
            select shipment_id, min(event_ts) filter (status = 'shipped') as shipped,
                min(event_ts) filter (status = 'delivered') as delivered
            from staging.stg_wms_shipments group by shipment_id
        ) where cast(shipped as date) = $day
    """
    got = run(conn, sql, {"day": day}).fetchone()
    return int(got[0]), int(got[1])


def connect(path: Path) -> duckdb.DuckDBPyConnection:
    conn = duckdb.connect(str(path))
    conn.execute("set enable_progress_bar = false")
    return conn


def generate_first_day(path: Path, sizes: Sizes) -> dict[str, Any]:
    """A fresh warehouse holding business day D (and the customers)."""
    conn = connect(path)
    try:
        for schema in ("staging", "curated"):
            conn.execute(f"create schema if not exists {quote(schema)}")
        for table in (*DBT_SOURCE_TABLES, CUSTOMERS_LATEST_KEYS):
            conn.execute(table.create_sql())
        conn.execute(
            # The contract's quoted name; the size is bound.
            f"insert into {CUSTOMERS_LATEST_KEYS.qualified} by name "  # noqa: S608
            "select 'cus_' || lpad(c::varchar, 7, '0') as customer_id from range($c) as t(c)",
            {"c": sizes.customers},
        )
        truth = generate_day(conn, DAY, sizes, [], [], [])
        truth["shipments"] = shipment_counts(conn, DAY)
        truth["payments_latest"] = one(
            conn, "select count(distinct order_id) from staging.stg_stripe_events"
        )
        truth["wms_files"] = one(
            conn, "select count(distinct source_file) from staging.stg_wms_shipments"
        )
        conn.execute("checkpoint")
    finally:
        conn.close()
    return truth


def generate_next_day(path: Path, sizes: Sizes) -> dict[str, Any]:
    """The next day's small batch into the same warehouse (after run 1)."""
    conn = connect(path)
    try:
        # Day D's orders again (deterministic), to pick the ones that change.
        d_params = day_params(DAY, sizes)
        build_orders(conn, d_params)
        n_updates = max(2, round(sizes.orders * CHANGE_SHARE))
        ship, deliver = n_updates // 2, n_updates - n_updates // 2
        run(conn, UPDATES_SQL, d_params | {"ship": ship, "deliver": deliver, "updates": n_updates})
        run(conn, LATE_SQL, d_params)
        late = one(conn, "select count(*) from gen_late")
        moved = dict(
            conn.execute("select new_status, count(*) from gen_updates group by 1").fetchall()
        )
        new = Sizes(
            orders=max(1, round(sizes.orders * CHANGE_SHARE)),
            events=max(1, round(sizes.events * CHANGE_SHARE)),
            wms_files=sizes.wms_files,
            customers=sizes.customers,
            plants=0,
        )
        truth = generate_day(
            conn,
            NEXT,
            new,
            [UPDATE_VERSIONS_SELECT],
            [LATE_EVENTS_SELECT],
            [UPDATE_WMS_SELECT],
            {"extra_event_rows": late * 2},
        )
        truth["late_payments"] = late
        truth["moved"] = moved
        truth["shipments"] = shipment_counts(conn, NEXT)
        truth["payments_latest"] = one(
            conn, "select count(distinct order_id) from staging.stg_stripe_events"
        )
        conn.execute("checkpoint")
    finally:
        conn.close()
    return truth


# --------------------------------------------------------------------------- expected results


def expected_run1(d: dict[str, Any]) -> dict[str, Any]:
    """What run 1 must find: one mismatch per planted order and orphan, all gates passing."""
    p, day, orphans = d["plants"], d["day"], d["plant_count"]
    mismatches = {(day, cls, False): p.get(cls, 0) for cls in ORDER_CLASSES}
    mismatches |= {
        (day, "ORPHAN_PAYMENT", False): orphans,
        (day, "ORPHAN_SHIPMENT", False): orphans,
    }
    mismatches = {k: v for k, v in mismatches.items() if v}
    return {
        "mismatches": mismatches,
        "variance": variance_rows(d),
        "gates": gate_rows(d),
        "daily_revenue": revenue_rows(d),
        "fct_orders": [(day, d["live"] - p.get("DUPLICATE_ORDER", 0), in_fct_orders(mismatches))],
        "fulfillment": [(day, *d["shipments"], orphans)],
        "orders_latest by status": sorted(d["by_status"].items()),
        "payments_latest rows": d["payments_latest"],
        "shipments_latest rows": d["shipments"][0],
    }


def expected_run2(d: dict[str, Any], n: dict[str, Any]) -> dict[str, Any]:
    """Run 2: the late payments clear their MISSING_PAYMENT, the data's clock has moved past the
    24 h SLA of the MISSING_SHIPMENT plants, D+1's new orders are clean."""
    day, late, moved = d["day"], n["late_payments"], n["moved"]
    mismatches = dict(expected_run1(d)["mismatches"])
    mismatches[(day, "MISSING_PAYMENT", False)] -= late
    mismatches[(day, "MISSING_PAYMENT", True)] = late
    mismatches[(day, "MISSING_SHIPMENT", False)] = d["plants"].get("MISSING_SHIPMENT", 0)
    mismatches = {k: v for k, v in mismatches.items() if v}
    by_status = dict(d["by_status"])
    by_status["paid"] -= moved.get("shipped", 0)
    by_status["shipped"] += moved.get("shipped", 0) - moved.get("delivered", 0)
    by_status["delivered"] += moved.get("delivered", 0)
    for status, count in n["by_status"].items():
        by_status[status] = by_status.get(status, 0) + count
    shipped_d, delivered_d = d["shipments"]
    return {
        "mismatches": mismatches,
        "variance": variance_rows(d) + variance_rows(n),
        "gates": sorted(gate_rows(d) + gate_rows(n)),
        "daily_revenue": revenue_rows(d) + revenue_rows(n),
        "fct_orders": [
            (day, d["live"] - d["plants"].get("DUPLICATE_ORDER", 0), in_fct_orders(mismatches)),
            (n["day"], n["live"], 0),
        ],
        "fulfillment": [
            (day, shipped_d, delivered_d + moved.get("delivered", 0), d["plant_count"]),
            (n["day"], *n["shipments"], 0),
        ],
        "orders_latest by status": sorted((k, v) for k, v in by_status.items() if v),
        "payments_latest rows": n["payments_latest"],
        "shipments_latest rows": d["shipments"][0] + n["shipments"][0],
    }


def in_fct_orders(mismatches: dict[tuple[str, str, bool], int]) -> int:
    """fct_orders rows carrying an open mismatch: orders' classes other than DUPLICATE_ORDER."""
    excluded = ("DUPLICATE_ORDER", "ORPHAN_PAYMENT", "ORPHAN_SHIPMENT")
    return sum(v for (_, c, cleared), v in mismatches.items() if not cleared and c not in excluded)


def variance_rows(d: dict[str, Any]) -> list[tuple[Any, ...]]:
    rows = []
    for currency, (orders, cents) in sorted(d["revenue"].items()):
        finance = d["finance"][currency]
        rows.append(
            (d["day"], currency, orders, cents, finance, abs(cents - finance), "WITHIN_LIMIT")
        )
    return rows


def revenue_rows(d: dict[str, Any]) -> list[tuple[Any, ...]]:
    return [(d["day"], cur, n, cents) for cur, (n, cents) in sorted(d["revenue"].items())]


def gate_rows(d: dict[str, Any]) -> list[tuple[Any, ...]]:
    """Every gate passes; the details of the two count gates say exactly what was planted."""
    day, live = d["day"], d["live"]
    dup, unknown = d["plants"].get("DUPLICATE_ORDER", 0), d["plants"].get("UNKNOWN_CUSTOMER", 0)
    return [
        (day, "duplicate_order_rate", True, f"{dup} duplicate(s) of {live} live orders"),
        (day, "mismatch_spike", True, None),
        (
            day,
            "referential_integrity",
            True,
            f"{2 * d['plant_count']} orphan payment/shipment id(s), {unknown} order(s) of "
            f"unknown customers, of {live} live orders",
        ),
        (day, "revenue_variance", True, "every currency within the limit"),
    ]


# --------------------------------------------------------------------------- dbt child


def run_dbt(
    label: str, warehouse: Path, start: dt.date, end: dt.date, target: Path
) -> dict[str, Any]:
    """`dbt build` of the order models for the window in its own process: wall time, peak
    RSS, run_results."""
    log_file = WORKDIR / f"dbt-{label}.log"
    dbt = Path(sys.executable).parent / "dbt"
    dbt_vars = {"min_date": start.isoformat(), "max_date": end.isoformat(), "run_id": label}
    cmd = [
        str(dbt), "build",
        "--project-dir", str(DBT_PROJECT),
        "--profiles-dir", str(DBT_PROJECT),
        "--target-path", str(target),
        "--log-path", str(WORKDIR / "dbt-logs"),
        "--vars", json.dumps(dbt_vars),
        "--exclude", "tag:preferences",  # the preference models have their own bench
    ]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NORTHSTAR_", "DBT_"))}
    env |= {
        "DBT_DUCKDB_PATH": str(warehouse),
        "NORTHSTAR_DBT_TARGET": "duckdb",
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    run_ = run_child(cmd, log_file, env, DBT_PROJECT)
    results, manifest = ({"results": [], "elapsed_time": 0.0}, {"nodes": {}})
    if (target / "run_results.json").exists():  # dbt writes both, unless it failed to start
        results = json.loads((target / "run_results.json").read_text())
        manifest = json.loads((target / "manifest.json").read_text())
    return {"label": label, **run_, "results": results, "manifest": manifest}


# --------------------------------------------------------------------------- reporting


def node_layer(node: dict[str, Any]) -> str:
    if node["resource_type"] == "test":
        return "tests"
    return node["fqn"][1]


def relation(node: dict[str, Any]) -> str:
    return f"{quote(node['schema'])}.{quote(node.get('alias') or node['name'])}"


def relation_rows(conn: duckdb.DuckDBPyConnection, manifest: dict[str, Any]) -> dict[str, int]:
    counts = {}
    for uid, node in manifest["nodes"].items():
        if node["resource_type"] == "model":
            sql = f"select count(*) from {relation(node)}"  # noqa: S608
            try:
                counts[uid] = int(conn.execute(sql).fetchone()[0])
            except duckdb.Error:
                counts[uid] = 0
    return counts


def window_staged_rows(conn: duckdb.DuckDBPyConnection, start: dt.date, end: dt.date) -> int:
    total = 0
    for table in (STG_ORDERS, STG_STRIPE_EVENTS, STG_WMS_SHIPMENTS):
        where = "where partition_key >= ? and partition_key < ?"
        sql = f"select count(*) from {table.qualified} {where}"  # noqa: S608
        total += int(conn.execute(sql, [start.isoformat(), end.isoformat()]).fetchone()[0])
    return total


def layer_summary(
    run_: dict[str, Any], rows: dict[str, int], staged: int
) -> tuple[list[dict[str, Any]], list[tuple[str, str, float, int]]]:
    """Seconds, rows in and rows/s per layer; and every model's seconds and rows out."""
    nodes = run_["manifest"]["nodes"]
    by_layer: dict[str, dict[str, Any]] = {
        layer: {"layer": layer, "nodes": 0, "seconds": 0.0, "rows_in": 0} for layer in LAYERS
    }
    models = []
    for result in run_["results"]["results"]:
        node = nodes.get(result["unique_id"])
        if node is None:
            continue
        layer = node_layer(node)
        entry = by_layer.setdefault(layer, {"layer": layer, "nodes": 0, "seconds": 0.0})
        entry["nodes"] += 1
        entry["seconds"] += result["execution_time"]
        if layer == "tests":
            entry["rows_in"] = entry.get("rows_in", 0) + rows.get(node.get("attached_node"), 0)
        else:
            models.append(
                (node["name"], layer, result["execution_time"], rows.get(result["unique_id"], 0))
            )
    curated = sum(
        rows.get(f"model.northstar.{m}", 0)
        for m in ("orders_latest", "payments_latest", "shipments_latest")
    )
    marts = sum(r for _, layer, _, r in models if layer == "marts")
    by_layer["curated"]["rows_in"] = staged
    for layer in ("intermediate", "audit", "marts"):
        by_layer[layer]["rows_in"] = curated
    by_layer["bi"]["rows_in"] = marts
    return list(by_layer.values()), sorted(models, key=lambda m: -m[2])


def print_run(title: str, run_: dict[str, Any]) -> None:
    print(f"\n{title}")
    print(f"{'layer':<14} {'nodes':>5} {'seconds':>8} {'rows in':>12} {'rows/s':>12}")
    print("-" * 56)
    busy = 0.0
    for entry in run_["layers"]:
        busy += entry["seconds"]
        rate = entry["rows_in"] / entry["seconds"] if entry["seconds"] > 0 else 0
        print(
            f"{entry['layer']:<14} {entry['nodes']:>5} {entry['seconds']:>8.2f} "
            f"{entry['rows_in']:>12,} {rate:>12,.0f}"
        )
    other = run_["wall"] - busy
    print(f"{'dbt other':<14} {'':>5} {other:>8.2f}   (process start, parse, compile, bookkeeping)")
    print("-" * 56)
    print(
        f"{'total wall':<14} {'':>5} {run_['wall']:>8.2f}   dbt's own elapsed "
        f"{run_['results']['elapsed_time']:.2f} s; peak RSS {mib(run_['peak_rss'])} "
        f"(wait4 ru_maxrss, parent included: {mib(run_['maxrss'])}); "
        f"load {run_['load']:.1f}"
    )
    print(f"\n{'model':<26} {'layer':<13} {'seconds':>8} {'% wall':>6} {'rows out':>12}")
    for name, layer, seconds, rows in run_["models"]:
        share = seconds / run_["wall"] if run_["wall"] else 0.0
        print(f"{name:<26} {layer:<13} {seconds:>8.2f} {share:>6.0%} {rows:>12,}")
    print("verification:")
    for line in run_["checks"]:
        print(line)


def test_summary(run_: dict[str, Any]) -> tuple[dict[str, int], list[str]]:
    statuses: dict[str, int] = {}
    bad = []
    for result in run_["results"]["results"]:
        statuses[result["status"]] = statuses.get(result["status"], 0) + 1
        if result["status"] in ("error", "fail", "skipped", "runtime error"):
            bad.append(f"{result['unique_id']}: {result['status']} {result.get('message')}")
    return statuses, bad


def found_results(conn: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    def rows(sql: str) -> list[tuple[Any, ...]]:
        return [tuple(r) for r in conn.execute(sql).fetchall()]

    mismatches = {(r[0], r[1], r[2]): r[3] for r in rows(MISMATCHES_SQL)}
    gates = [
        (d, gate, passed, None if gate == "mismatch_spike" else detail)
        for d, gate, passed, detail in rows(GATES_SQL)
    ]
    found = {
        "mismatches": mismatches,
        "variance": rows(VARIANCE_SQL),
        "gates": gates,
        "daily_revenue": rows(DAILY_REVENUE_SQL),
        "fct_orders": rows(FCT_ORDERS_SQL),
        "fulfillment": rows(FULFILLMENT_SQL),
        "orders_latest by status": rows(CURATED_SQL["orders_latest by status"]),
        "payments_latest rows": rows(CURATED_SQL["payments_latest rows"])[0][0],
        "shipments_latest rows": rows(CURATED_SQL["shipments_latest rows"])[0][0],
    }
    return found


def verify(
    expected: dict[str, Any], found: dict[str, Any], run_: dict[str, Any]
) -> tuple[bool, list[str]]:
    """Expected vs found, as report lines; False when anything differs or dbt failed."""
    ok, out = True, []
    exp_m, got_m = expected["mismatches"], found["mismatches"]
    out.append(f"  {'business date':<13} {'class':<18} {'state':<7} {'expected':>8} {'found':>8}")
    for key in sorted(set(exp_m) | set(got_m)):
        e, g = exp_m.get(key, 0), got_m.get(key, 0)
        ok = ok and e == g
        state = "cleared" if key[2] else "open"
        mark = "" if e == g else "  DIFFERS"
        out.append(f"  {key[0]:<13} {key[1]:<18} {state:<7} {e:>8,} {g:>8,}{mark}")
    for name in (
        "variance",
        "gates",
        "daily_revenue",
        "fct_orders",
        "fulfillment",
        "orders_latest by status",
        "payments_latest rows",
        "shipments_latest rows",
    ):
        e, g = expected[name], found[name]
        ok = ok and e == g
        if e != g:
            out.append(f"  {name}: DIFFERS\n    expected {e}\n    found    {g}")
        elif isinstance(e, list):
            out.append(f"  {name}: {len(e)} row(s), equal")
        else:
            out.append(f"  {name}: {e:,}, equal")
    statuses, bad = test_summary(run_)
    out.append(f"  dbt results: {statuses}")
    out.extend(f"    {line}" for line in bad)
    warned = [
        r["unique_id"].split(".")[2] for r in run_["results"]["results"] if r["status"] == "warn"
    ]
    if warned:
        out.append(f"  warnings (the planted orphans and unknown customers): {', '.join(warned)}")
    return ok and not bad and run_["code"] == 0, out


def inspect_run(
    run_: dict[str, Any], warehouse: Path, start: dt.date, expected: dict[str, Any]
) -> None:
    """Right after a run: its figures per layer and model, and the verification, into run_."""
    if run_["code"] != 0:
        sys.stderr.write(run_["log"].read_text()[-4000:])
        print(f"dbt build exited {run_['code']}; log: {run_['log']}")
    conn = duckdb.connect(str(warehouse), read_only=True)
    try:
        rows = relation_rows(conn, run_["manifest"])
        staged = window_staged_rows(conn, start, start + dt.timedelta(days=1))
        run_["layers"], run_["models"] = layer_summary(run_, rows, staged)
        run_["ok"], run_["checks"] = verify(expected, found_results(conn), run_)
    finally:
        conn.close()


def model_seconds(run_: dict[str, Any], name: str) -> float:
    return sum(sec for model, _, sec, _ in run_["models"] if model == name)


def run_round(
    number: int, generated: Path, sizes: Sizes, first: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Run 1 on a fresh copy of the generated day, the next day's batch, run 2."""
    warehouse = WORKDIR / "warehouse.duckdb"
    for stale in WORKDIR.glob("warehouse.duckdb*"):
        stale.unlink()
    shutil.copyfile(generated, warehouse)
    target = WORKDIR / f"dbt-target-{number}"
    run1 = run_dbt(f"bench-{number}-day", warehouse, DAY, NEXT, target)
    inspect_run(run1, warehouse, DAY, expected_run1(first))
    began = time.perf_counter()
    second = generate_next_day(warehouse, sizes)
    gen_seconds = time.perf_counter() - began
    run2 = run_dbt(f"bench-{number}-next", warehouse, NEXT, NEXT + dt.timedelta(days=1), target)
    run2 |= {"generated": second, "gen_seconds": gen_seconds}
    inspect_run(run2, warehouse, NEXT, expected_run2(first, second))
    print(round_line(number, run1, run2))
    return run1, run2


ROUND_HEADER = (
    f"{'round':>5} {'day s':>7} {'peak RSS':>10} {'payments_latest s':>17} "
    f"{'next s':>7} {'peak RSS':>10} {'load':>5}  verified"
)


def round_line(number: int, run1: dict[str, Any], run2: dict[str, Any]) -> str:
    return (
        f"{number:>5} {run1['wall']:>7.2f} {mib(run1['peak_rss']):>10} "
        f"{model_seconds(run1, 'payments_latest'):>17.2f} {run2['wall']:>7.2f} "
        f"{mib(run2['peak_rss']):>10} {run1['load']:>5.1f}  "
        f"{'yes' if run1['ok'] and run2['ok'] else 'NO'}"
    )


def check_targets(wall: float, rss: float) -> bool:
    checks = [
        (f"one business day: dbt build in {wall:.1f} s < {TARGET_S:.0f} s", wall < TARGET_S),
        (f"peak RSS {mib(rss)} < 6 GiB", rss < TARGET_RSS_BYTES),
    ]
    print("targets (issue: one business day, run 1; median wall, highest peak RSS):")
    for text, met in checks:
        print(f"  {'PASS' if met else 'FAIL'}  {text}")
    return all(met for _, met in checks)


# --------------------------------------------------------------------------- main


def scaled_sizes(args: argparse.Namespace) -> Sizes:
    orders = max(100, round(args.orders * args.scale))
    return Sizes(
        orders=orders,
        events=max(1000, round(args.events * args.scale)),
        wms_files=max(24, round(args.wms_files * args.scale)),
        customers=max(100, round(args.customers * args.scale)),
        plants=max(1, orders // ORDERS_PER_PLANT),
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=330_000, help="orders created on day D")
    parser.add_argument("--events", type=int, default=8_000_000, help="Stripe events of day D")
    parser.add_argument("--wms-files", type=int, default=250, help="WMS files of day D")
    parser.add_argument("--customers", type=int, default=200_000, help="rows of customers_latest")
    parser.add_argument(
        "--scale", type=float, default=1.0, help="multiply every size (0.05: smoke)"
    )
    parser.add_argument("--repeat", type=int, default=3, help="rounds (the median is reported)")
    parser.add_argument("--keep", action="store_true", help="keep .northstar/bench/reconciliation/")
    args = parser.parse_args()
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]

    sizes = scaled_sizes(args)
    if WORKDIR.exists():
        shutil.rmtree(WORKDIR)
    WORKDIR.mkdir(parents=True)
    generated = WORKDIR / "generated.duckdb"
    print(
        f"{os.cpu_count()} cores, duckdb {duckdb.__version__}; work files in "
        f"{WORKDIR.relative_to(REPO)}; {sizes.orders:,} orders, {sizes.events:,} events, "
        f"{sizes.wms_files} WMS files, {sizes.customers:,} customers, {sizes.plants} of each plant"
    )
    try:
        began = time.perf_counter()
        first = generate_first_day(generated, sizes)
        r = first["rows"]
        print(
            f"generated {DAY} in {time.perf_counter() - began:.1f} s (not part of the target): "
            f"{first['orders']:,} orders, {r['stg_orders']:,} order versions, "
            f"{r['stg_stripe_events']:,} Stripe events, {r['stg_wms_shipments']:,} WMS rows in "
            f"{first['wms_files']} files, {len(first['finance'])} finance rows; "
            f"{generated.stat().st_size / 1e9:.2f} GB\n"
        )
        print(ROUND_HEADER)
        rounds = [run_round(n, generated, sizes, first) for n in range(1, args.repeat + 1)]
    finally:
        if not args.keep:
            shutil.rmtree(WORKDIR, ignore_errors=True)

    ordered = sorted(range(len(rounds)), key=lambda i: rounds[i][0]["wall"])
    median = ordered[len(ordered) // 2]
    run1, run2 = rounds[median]
    second = run2["generated"]
    print(f"\nthe median round of {len(rounds)} (by run 1's wall): round {median + 1}")
    print_run(f"run 1: business day {DAY}, empty warehouse, dbt build [{DAY}, {NEXT})", run1)
    r = second["rows"]
    print(
        f"\nnext day's batch, generated in {run2['gen_seconds']:.1f} s: "
        f"{sum(second['moved'].values()):,} of {DAY}'s orders moved on {second['moved']}, "
        f"{second['late_payments']} late payments, {second['orders']:,} new orders; "
        f"{r['stg_orders']:,} order versions, {r['stg_stripe_events']:,} events, "
        f"{r['stg_wms_shipments']:,} WMS rows"
    )
    print_run(
        f"run 2: next day {NEXT}, incremental, dbt build [{NEXT}, {NEXT + dt.timedelta(days=1)})",
        run2,
    )
    print(
        f"\nincremental / full: wall {run2['wall'] / run1['wall']:.2f}, "
        f"peak RSS {run2['peak_rss'] / run1['peak_rss']:.2f}"
    )
    ok = all(a["ok"] and b["ok"] for a, b in rounds)
    print(f"\nverification: {'every round equals the plants' if ok else 'FAILED'}")
    peak = max(max(a["peak_rss"], b["peak_rss"]) for a, b in rounds)
    met = check_targets(run1["wall"], peak)
    return 0 if met and ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
