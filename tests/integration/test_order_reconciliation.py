"""The order reconciliation in dbt: mismatch classes, bookkeeping, publication gates, convergence.

Each scenario writes hand-built rows into the tables dbt reads (`staging.stg_orders`,
`stg_stripe_events`, `stg_wms_shipments`, `stg_finance_revenue`, `curated.customers_latest`,
created from their contracts in `northstar_platform.layers`) in a fresh DuckDB file, runs the
real `dbt build` on it as a subprocess, then reads the file read-only. Expected rows are
written out by hand below from the rules (audit_order_mismatches.yml, the models' SQL headers
and dbt_project.yml vars), never computed by the code under test.

What the module proves:

1. every mismatch class on rows exactly at its boundaries, and that an order matching two
   classes gets only the first (`reconciliation`, run A);
2. the tie-breaks of payments_latest (created_at, ingested_ts, event_id) and shipments_latest
   (event_ts, ingested_ts, source_file, line_no);
3. the bookkeeping of a mismatch resolved by a late payment (cleared by run B, first seen in
   run A) and of one found by both runs (`reconciliation`, run B);
4. the revenue variance gate withholds exactly the date finance disagrees with, a corrected
   report publishes it, and a published date that starts failing keeps its published rows
   (write-audit-publish, `revenue_runs`);
5. the same staging data materialized over the whole range, day by day, day by day backwards
   and twice over the whole range gives the same curated, audit and mart content
   (`convergence`).

A dbt invocation costs ~7 s, so every scenario is one module-scoped fixture sharing its builds,
and the four convergence variants run side by side on their own warehouse files.
"""

import datetime as dt
import shutil
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dbt_cli
import duckdb
import pytest

from northstar_platform.layers import (
    CUSTOMERS_LATEST_KEYS,
    STG_FINANCE_REVENUE,
    STG_ORDERS,
    STG_STRIPE_EVENTS,
    STG_WMS_SHIPMENTS,
    Layer,
    Table,
    quote,
)

pytestmark = pytest.mark.integration


Row = tuple[Any, ...]


def at(day: str, clock: str = "00:00:00") -> dt.datetime:
    """A naive UTC timestamp, as staging stores them."""
    return dt.datetime.fromisoformat(f"{day} {clock}")


def day_of(value: str) -> dt.date:
    return dt.date.fromisoformat(value)


# --------------------------------------------------------------------------------------------
# Staging rows
# --------------------------------------------------------------------------------------------

STRIPE_OBJECT_STATUS = {
    "charge.succeeded": "succeeded",
    "payment_intent.succeeded": "succeeded",
    "payment_intent.payment_failed": "requires_payment_method",
    "charge.refunded": "succeeded",
}


@dataclass
class Staging:
    """Hand-built rows of the Python-written tables dbt reads, by table.

    Loader columns are filled like the loaders do: `partition_key` is the landing day
    (orders: the day of updated_at; Stripe: the day of created_at unless `landed` says
    otherwise; finance: the day after the business date by default) or landing hour (WMS),
    `line_no` counts the rows of one `source_file`.
    """

    rows: dict[Table, list[dict[str, Any]]] = field(default_factory=dict)
    lines: Counter[str] = field(default_factory=Counter)

    def _add(
        self,
        table: Table,
        row: dict[str, Any],
        partition_key: str,
        source_file: str,
        ingested_ts: dt.datetime,
        line_no: int | None = None,
    ) -> None:
        self.lines[source_file] += 1
        row |= {
            "partition_key": partition_key,
            "source_file": source_file,
            "line_no": self.lines[source_file] if line_no is None else line_no,
            "ingested_ts": ingested_ts,
            "run_id": "test-loader",
        }
        assert set(row) == set(table.column_names), sorted(set(row) ^ set(table.column_names))
        self.rows.setdefault(table, []).append(row)

    def order(
        self,
        order_id: str,
        customer_id: str,
        status: str,
        currency: str,
        amount_cents: int,
        created_at: dt.datetime,
        updated_at: dt.datetime | None = None,
        *,
        deleted: bool = False,
        new_customer: bool = True,
    ) -> None:
        """One order version (staged in the partition of its updated_at day), and its
        customer in curated.customers_latest unless `new_customer` is false."""
        updated = updated_at or created_at
        day = updated.date().isoformat()
        self._add(
            STG_ORDERS,
            {
                "order_id": order_id,
                "customer_id": customer_id,
                "status": status,
                "currency": currency,
                "amount_cents": amount_cents,
                "created_at": created_at,
                "updated_at": updated,
                "is_deleted": deleted,
            },
            partition_key=day,
            source_file=f"orders/{day.replace('-', '/')}/00/export.parquet",
            ingested_ts=at(day, "23:55:00"),
        )
        if new_customer:
            self.customer(customer_id)

    def customer(self, customer_id: str) -> None:
        self.rows.setdefault(CUSTOMERS_LATEST_KEYS, []).append({"customer_id": customer_id})

    def version(
        self, order_id: str, status: str, updated_at: dt.datetime, *, deleted: bool = False
    ) -> None:
        """A later version of an order staged here before: a new status, or soft-deleted."""
        last = [r for r in self.rows[STG_ORDERS] if r["order_id"] == order_id][-1]
        self.order(order_id, last["customer_id"], status, last["currency"],
                   last["amount_cents"], last["created_at"], updated_at, deleted=deleted,
                   new_customer=False)  # fmt: skip

    def event(
        self,
        event_id: str,
        order_id: str,
        event_type: str,
        created_at: dt.datetime,
        amount: int,
        currency: str,
        *,
        landed: dt.datetime | None = None,
    ) -> None:
        """One Stripe event (currency as Stripe writes it), landed at `landed` (default: a
        minute after it was created) in the partition of that day."""
        arrival = landed or created_at + dt.timedelta(minutes=1)
        day = arrival.date().isoformat()
        self._add(
            STG_STRIPE_EVENTS,
            {
                "event_id": event_id,
                "event_type": event_type,
                "created_at": created_at,
                "object_id": f"ch_{event_id}",
                "amount": amount,
                "currency": currency,
                "status": STRIPE_OBJECT_STATUS[event_type],
                "order_id": order_id,
                "copies": 1,
            },
            partition_key=day,
            source_file=f"stripe/{day.replace('-', '/')}/events.jsonl",
            ingested_ts=arrival,
        )

    def paid(self, order_id: str, amount: int, currency: str, created_at: dt.datetime) -> None:
        """The one charge.succeeded event of an order paid as ordered."""
        self.event(f"ev-{order_id}", order_id, "charge.succeeded", created_at, amount, currency)

    def wms(
        self,
        shipment_id: str,
        order_id: str,
        status: str,
        event_ts: dt.datetime,
        *,
        quantity: int = 1,
        warehouse_code: str = "WH-1",
        ingested_ts: dt.datetime | None = None,
        source_file: str | None = None,
        line_no: int | None = None,
    ) -> None:
        """One warehouse row, landed (default) ten minutes later in that hour's partition."""
        arrival = ingested_ts or event_ts + dt.timedelta(minutes=10)
        hour = arrival.strftime("%Y-%m-%d-%H:00")
        self._add(
            STG_WMS_SHIPMENTS,
            {
                "shipment_id": shipment_id,
                "order_id": order_id,
                "status": status,
                "quantity": quantity,
                "warehouse_code": warehouse_code,
                "event_ts": event_ts,
                "copies": 1,
            },
            partition_key=hour,
            source_file=source_file or f"wms/{arrival:%Y/%m/%d/%H}/shipments.csv",
            ingested_ts=arrival,
            line_no=line_no,
        )

    def finance(
        self, business_date: str, currency: str, cents: int, *, landed: str | None = None
    ) -> None:
        """Finance's gross revenue of a date (landing, by default, the day after it)."""
        day = landed or (day_of(business_date) + dt.timedelta(days=1)).isoformat()
        self._add(
            STG_FINANCE_REVENUE,
            {
                "business_date": day_of(business_date),
                "currency": currency,
                "gross_revenue_cents": cents,
                "copies": 1,
            },
            partition_key=day,
            source_file=f"finance/{day.replace('-', '/')}/revenue.csv",
            ingested_ts=at(day, "06:00:00"),
        )

    def write(self, db: Path) -> None:
        """Create the source tables (if missing) in `db` and append every row held here."""
        con = duckdb.connect(str(db))
        try:
            for layer in (Layer.STAGING, Layer.CURATED):
                con.execute(f"create schema if not exists {quote(layer.value)}")
            for table in (
                STG_ORDERS,
                STG_STRIPE_EVENTS,
                STG_WMS_SHIPMENTS,
                STG_FINANCE_REVENUE,
                CUSTOMERS_LATEST_KEYS,
            ):
                con.execute(table.create_sql())
                rows = self.rows.get(table, [])
                if rows:
                    names = table.column_names
                    columns = ", ".join(quote(n) for n in names)
                    marks = ", ".join("?" for _ in names)
                    con.executemany(
                        f"insert into {table.qualified} ({columns}) values ({marks})",
                        [[row[n] for n in names] for row in rows],
                    )
        finally:
            con.close()


# --------------------------------------------------------------------------------------------
# dbt and the warehouse
# --------------------------------------------------------------------------------------------


def dbt_build(db: Path, work: Path, min_date: str, max_date: str, run_id: str) -> str:
    """`dbt build` of the order models on `db` for [min_date, max_date); returns its stdout."""
    variables = {"min_date": min_date, "max_date": max_date, "run_id": run_id}
    env = {"DBT_DUCKDB_PATH": str(db)}
    return dbt_cli.dbt_build("duckdb", variables, work, env, exclude="tag:preferences")


@contextmanager
def warehouse(db: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """The DuckDB file, read-only; closed at the end of the block (before the next dbt run)."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        con.execute("set timezone = 'UTC'")
        yield con
    finally:
        con.close()


def query(con: duckdb.DuckDBPyConnection, sql: str, params: Sequence[Any] = ()) -> list[Row]:
    return [tuple(r) for r in con.execute(sql, list(params)).fetchall()]


def snapshot(db: Path, queries: dict[str, str]) -> dict[str, list[Row]]:
    """Every query's rows, read once from `db`."""
    with warehouse(db) as con:
        return {name: query(con, sql) for name, sql in queries.items()}


def keep_copy(db: Path, name: str) -> Path:
    """A copy of the warehouse file as it is now (dbt has closed it), next to it."""
    copy = db.with_name(name)
    shutil.copyfile(db, copy)
    wal = db.with_name(f"{db.name}.wal")
    if wal.exists():
        shutil.copyfile(wal, copy.with_name(f"{name}.wal"))
    return copy


MISMATCH_BUSINESS = (
    "mismatch_key, business_date, order_id, mismatch_type, related_order_id, order_status, "
    "order_currency, order_amount_cents, payment_status, payment_currency, "
    "payment_amount_cents, shipments"
)
"""audit_order_mismatches without its run bookkeeping (first/last seen, cleared)."""

OPEN_KEYS = (
    "select business_date, order_id, mismatch_type from audit.audit_order_mismatches "
    "where not is_cleared order by all"
)
BOOKKEEPING = (
    "select order_id, mismatch_type, is_cleared, first_seen_run_id, last_seen_run_id, "
    "cleared_run_id from audit.audit_order_mismatches order by order_id"
)


# --------------------------------------------------------------------------------------------
# Scenario 1-3: every mismatch class, tie-breaks, cleared bookkeeping
# --------------------------------------------------------------------------------------------

A1, A2 = "2024-05-01", "2024-05-02"
CLOCK = at(A2, "12:00:00")
"""The data clock of the scenario: sc-picked's `picked` row, the latest instant of any source."""
RUN_A, RUN_B = "run-A", "run-B"


def mismatch_scenario() -> Staging:
    """Orders of 2024-05-01 (and one of 04-30) built to sit on each class's boundaries."""
    s = Staging()
    t = at

    # DUPLICATE_ORDER (60 s window, live earlier order of same customer/currency/amount).
    s.order("d1-orig", "c-d1", "paid", "USD", 5000, t(A1, "10:00:00"))
    s.paid("d1-orig", 5000, "usd", t(A1, "10:00:10"))
    # Exactly 60 s later, and no payment: DUPLICATE_ORDER only, not MISSING_PAYMENT.
    s.order("d1-dup", "c-d1", "paid", "USD", 5000, t(A1, "10:01:00"))
    s.order("d2-orig", "c-d2", "paid", "USD", 5000, t(A1, "10:00:00"))
    s.paid("d2-orig", 5000, "usd", t(A1, "10:00:10"))
    s.order("d2-late", "c-d2", "paid", "USD", 5000, t(A1, "10:01:01"))  # 61 s: a real order
    s.paid("d2-late", 5000, "usd", t(A1, "10:01:10"))
    s.order("d3-orig", "c-d3", "paid", "USD", 5000, t(A1, "10:00:00"))
    s.paid("d3-orig", 5000, "usd", t(A1, "10:00:10"))
    s.order("d3-other", "c-d3", "paid", "USD", 5001, t(A1, "10:00:30"))  # another amount
    s.paid("d3-other", 5001, "usd", t(A1, "10:00:40"))
    # The earlier order is soft-deleted: no duplicate. Its payment and warehouse row are
    # not orphans either (a deleted order is still a known order id).
    s.order(
        "d4-gone", "c-d4", "paid", "USD", 5000, t(A1, "10:00:00"), t(A1, "10:05:00"), deleted=True
    )
    s.paid("d4-gone", 5000, "usd", t(A1, "10:00:10"))
    s.wms("sh-d4-gone", "d4-gone", "picked", t(A1, "10:03:00"))
    s.order("d4-live", "c-d4", "paid", "USD", 5000, t(A1, "10:00:30"))
    s.paid("d4-live", 5000, "usd", t(A1, "10:00:40"))

    # STATUS_CONFLICT: shipped by the warehouse, yet cancelled / payment failed / refunded.
    s.order("sc-cancel", "c-sc1", "cancelled", "USD", 2000, t(A1, "11:00:00"), t(A1, "11:30:00"))
    s.wms("sh-sc-cancel", "sc-cancel", "shipped", t(A1, "14:00:00"))
    s.order("sc-failed", "c-sc2", "shipped", "USD", 2100, t(A1, "11:00:00"), t(A1, "15:00:00"))
    s.event(
        "ev-sc-failed", "sc-failed", "payment_intent.payment_failed", t(A1, "11:01:00"), 2100, "usd"
    )
    s.wms("sh-sc-failed", "sc-failed", "shipped", t(A1, "15:00:00"))
    # Refunded last, and its succeeded amount 1 cent off: STATUS_CONFLICT, not AMOUNT_MISMATCH.
    s.order("sc-refund", "c-sc3", "refunded", "USD", 2200, t(A1, "11:00:00"), t(A1, "18:00:00"))
    s.event("ev-sc-refund-1", "sc-refund", "charge.succeeded", t(A1, "11:01:00"), 2199, "usd")
    s.event("ev-sc-refund-2", "sc-refund", "charge.refunded", t(A1, "18:00:00"), 2199, "usd")
    s.wms("sh-sc-refund", "sc-refund", "shipped", t(A1, "16:00:00"))
    # Cancelled with only a `picked` row: no conflict. This row is also the data clock.
    s.order("sc-picked", "c-sc4", "cancelled", "USD", 2300, t(A1, "11:00:00"), t(A1, "11:30:00"))
    s.wms("sh-sc-picked", "sc-picked", "picked", CLOCK)

    # MISSING_PAYMENT: paid/shipped/delivered/refunded without any Stripe event.
    s.order("mp-paid", "c-mp1", "paid", "USD", 1100, t(A1, "12:00:00"))
    # No warehouse row either, 27 h before the clock: MISSING_PAYMENT, not MISSING_SHIPMENT.
    s.order("mp-shipped", "c-mp2", "shipped", "USD", 1200, t(A1, "08:00:00"), t(A1, "09:00:00"))
    s.order("mp-delivered", "c-mp3", "delivered", "USD", 1300, t(A1, "08:00:00"), t(A1, "20:00:00"))
    s.wms("sh-mp-delivered", "mp-delivered", "shipped", t(A1, "18:00:00"))
    s.wms("sh-mp-delivered", "mp-delivered", "delivered", t(A1, "20:00:00"))
    s.order("mp-refunded", "c-mp4", "refunded", "USD", 1400, t(A1, "08:00:00"), t(A1, "09:00:00"))
    s.order("mp-pending", "c-mp5", "pending", "USD", 1500, t(A1, "08:00:00"))
    # The last microsecond of 04-30: business date 04-30, staged in partition 05-01.
    last_us = t("2024-04-30", "23:59:59.999999")
    s.order("mp-late", "c-mp6", "paid", "USD", 1600, last_us, t(A1, "00:00:00"))

    # CURRENCY_MISMATCH (case-insensitive), before AMOUNT_MISMATCH.
    s.order("cm-eur", "c-cm1", "paid", "USD", 3000, t(A1, "09:00:00"))
    s.paid("cm-eur", 3000, "eur", t(A1, "09:01:00"))
    s.order("cm-usd", "c-cm2", "paid", "USD", 3100, t(A1, "09:00:00"))
    s.paid("cm-usd", 3100, "usd", t(A1, "09:01:00"))
    s.order("cm-both", "c-cm3", "paid", "USD", 3200, t(A1, "09:00:00"))
    s.paid("cm-both", 3300, "eur", t(A1, "09:01:00"))

    # AMOUNT_MISMATCH: the *latest* succeeded event counts.
    s.order("am-cent", "c-am1", "paid", "USD", 4000, t(A1, "09:00:00"))
    s.event("ev-am-cent-1", "am-cent", "charge.succeeded", t(A1, "09:01:00"), 4000, "usd")
    s.event("ev-am-cent-2", "am-cent", "payment_intent.succeeded", t(A1, "09:05:00"), 4001, "usd")
    s.order("am-equal", "c-am2", "paid", "USD", 4100, t(A1, "09:00:00"))
    s.event("ev-am-equal-1", "am-equal", "charge.succeeded", t(A1, "09:01:00"), 4099, "usd")
    s.event("ev-am-equal-2", "am-equal", "payment_intent.succeeded", t(A1, "09:05:00"), 4100, "usd")
    # A failure after the success: the amount is still the succeeded one's (equal).
    s.order("am-fail", "c-am3", "paid", "USD", 4200, t(A1, "09:00:00"))
    s.event("ev-am-fail-1", "am-fail", "charge.succeeded", t(A1, "09:01:00"), 4200, "usd")
    s.event("ev-am-fail-2", "am-fail", "payment_intent.payment_failed", t(A1, "09:05:00"), 4201,
            "usd")  # fmt: skip

    # MISSING_SHIPMENT: shipped/delivered, no warehouse row, updated_at + 24 h <= clock.
    s.order("ms-exact", "c-ms1", "shipped", "USD", 4500, t(A1, "09:00:00"), t(A1, "12:00:00"))
    s.paid("ms-exact", 4500, "usd", t(A1, "09:01:00"))
    s.order("ms-early", "c-ms2", "shipped", "USD", 4600, t(A1, "09:00:00"), t(A1, "12:00:01"))
    s.paid("ms-early", 4600, "usd", t(A1, "09:01:00"))
    s.order("ms-deliv", "c-ms3", "delivered", "USD", 4700, t(A1, "06:00:00"), t(A1, "07:00:00"))
    s.paid("ms-deliv", 4700, "usd", t(A1, "06:01:00"))
    s.order("ms-ok", "c-ms4", "shipped", "USD", 4800, t(A1, "06:00:00"), t(A1, "07:00:00"))
    s.paid("ms-ok", 4800, "usd", t(A1, "06:01:00"))
    s.wms("sh-ms-ok", "ms-ok", "shipped", t(A1, "07:00:00"))

    # Orphans: ids no order has. Business date = day of the first event.
    s.event("ev-x-pay-1", "x-pay", "charge.succeeded", t("2024-04-30", "23:59:59"), 900, "usd")
    s.event("ev-x-pay-2", "x-pay", "charge.refunded", t(A1, "00:00:00"), 900, "usd")
    s.wms("sh-x-ship", "x-ship", "picked", t(A1, "22:00:00"))
    s.wms("sh-x-ship", "x-ship", "shipped", t(A2, "01:00:00"))
    s.event("ev-x-both", "x-both", "charge.succeeded", t(A2, "03:00:00"), 950, "usd")
    s.wms("sh-x-both", "x-both", "picked", t(A2, "04:00:00"))

    # payments_latest tie-breaks: equal created_at → ingested_ts, then event_id (descending).
    # tie-ingest: the refund has the greater event_id but arrived earlier: the success wins.
    # tie-id: same instant, same arrival: the greater event_id (the success) wins.
    s.order("tie-ingest", "c-t1", "paid", "USD", 6000, t(A1, "13:00:00"))
    s.order("tie-id", "c-t2", "paid", "USD", 6100, t(A1, "13:00:00"))
    for event_id, order_id, event_type, amount, landed in [
        ("ev-tie-ingest-a", "tie-ingest", "charge.succeeded", 6000, "14:00:00"),
        ("ev-tie-ingest-b", "tie-ingest", "charge.refunded", 6000, "13:30:00"),
        ("ev-tie-id-1", "tie-id", "payment_intent.payment_failed", 6100, "13:30:00"),
        ("ev-tie-id-2", "tie-id", "charge.succeeded", 6100, "13:30:00"),
    ]:
        s.event(event_id, order_id, event_type, t(A1, "13:01:00"), amount, "usd",
                landed=t(A1, landed))  # fmt: skip

    # shipments_latest tie-breaks: equal event_ts → ingested_ts, source_file, line_no.
    s.order("tw", "c-tw", "shipped", "USD", 6200, t(A1, "05:00:00"), t(A1, "06:00:00"))
    s.paid("tw", 6200, "usd", t(A1, "05:01:00"))
    for shipment_id, status, quantity, warehouse_code, arrived, source_file, line_no in [
        ("sh-tw-ingest", "picked", 1, "WH-B", "06:30:00", "wms/b.csv", 1),
        ("sh-tw-ingest", "shipped", 2, "WH-A", "07:30:00", "wms/a.csv", 1),  # later: wins
        ("sh-tw-file", "shipped", 3, "WH-B", "06:30:00", "wms/b.csv", 2),  # b > a: wins
        ("sh-tw-file", "picked", 4, "WH-A", "06:30:00", "wms/a.csv", 9),
        ("sh-tw-line", "picked", 5, "WH-A", "06:30:00", "wms/c.csv", 2),
        ("sh-tw-line", "shipped", 6, "WH-B", "06:30:00", "wms/c.csv", 3),  # line 3: wins
    ]:
        s.wms(shipment_id, "tw", status, t(A1, "06:00:00"), quantity=quantity,
              warehouse_code=warehouse_code, ingested_ts=t(A1, arrived),
              source_file=source_file, line_no=line_no)  # fmt: skip
    return s


D_A1, D_A2, D_A0 = day_of(A1), day_of(A2), day_of("2024-04-30")
EXPECTED_OPEN_A = sorted(
    [
        (D_A1, "d1-dup", "DUPLICATE_ORDER"),
        (D_A1, "sc-cancel", "STATUS_CONFLICT"),
        (D_A1, "sc-failed", "STATUS_CONFLICT"),
        (D_A1, "sc-refund", "STATUS_CONFLICT"),
        (D_A1, "mp-paid", "MISSING_PAYMENT"),
        (D_A1, "mp-shipped", "MISSING_PAYMENT"),
        (D_A1, "mp-delivered", "MISSING_PAYMENT"),
        (D_A1, "mp-refunded", "MISSING_PAYMENT"),
        (D_A0, "mp-late", "MISSING_PAYMENT"),
        (D_A1, "cm-eur", "CURRENCY_MISMATCH"),
        (D_A1, "cm-both", "CURRENCY_MISMATCH"),
        (D_A1, "am-cent", "AMOUNT_MISMATCH"),
        (D_A1, "ms-exact", "MISSING_SHIPMENT"),
        (D_A1, "ms-deliv", "MISSING_SHIPMENT"),
        (D_A0, "x-pay", "ORPHAN_PAYMENT"),
        (D_A1, "x-ship", "ORPHAN_SHIPMENT"),
        (D_A2, "x-both", "ORPHAN_PAYMENT"),
    ]
)


@dataclass(frozen=True)
class Reconciled:
    """The mismatch scenario after run A (a copy) and after run B (the late payment)."""

    after_a: Path
    after_b: Path


@pytest.fixture(scope="module")
def reconciliation(tmp_path_factory: pytest.TempPathFactory) -> Reconciled:
    """Run A over [05-01, 05-03); then mp-paid's payment lands on 05-03 (created 05-01, before
    the clock) and run B covers [05-01, 05-04)."""
    work = tmp_path_factory.mktemp("reconciliation")
    db = work / "warehouse.duckdb"
    mismatch_scenario().write(db)
    dbt_build(db, work, A1, "2024-05-03", RUN_A)
    after_a = keep_copy(db, "after_a.duckdb")

    late = Staging()
    late.event(
        "ev-mp-paid",
        "mp-paid",
        "charge.succeeded",
        at(A1, "12:05:00"),
        1100,
        "usd",
        landed=at("2024-05-03", "02:00:00"),
    )
    late.write(db)
    dbt_build(db, work, A1, "2024-05-04", RUN_B)
    return Reconciled(after_a=after_a, after_b=db)


def test_every_mismatch_class_at_its_boundaries_first_rule_wins(reconciliation: Reconciled) -> None:
    with warehouse(reconciliation.after_a) as con:
        assert query(con, OPEN_KEYS) == EXPECTED_OPEN_A
        # A first evaluation clears nothing; one row per order (the first class only).
        assert query(con, "select count(*) from audit.audit_order_mismatches where is_cleared") == [
            (0,)
        ]
        assert query(
            con,
            "select order_id, related_order_id from audit.audit_order_mismatches "
            "where related_order_id is not null",
        ) == [("d1-dup", "d1-orig")]
        # What the rows say about the orders, for the classes decided by a payment.
        assert query(
            con,
            "select order_id, payment_status, payment_currency, payment_amount_cents, shipments "
            "from audit.audit_order_mismatches "
            "where order_id in ('sc-failed', 'sc-refund', 'cm-both', 'am-cent', 'x-both') "
            "order by order_id",
        ) == [
            ("am-cent", "succeeded", "USD", 4001, 0),
            ("cm-both", "succeeded", "EUR", 3300, 0),
            ("sc-failed", "failed", "USD", None, 1),
            ("sc-refund", "refunded", "USD", 2199, 1),
            ("x-both", "succeeded", "USD", 950, 1),
        ]
        # Every row was found by run A.
        assert query(
            con,
            "select distinct first_seen_run_id, last_seen_run_id from audit.audit_order_mismatches",
        ) == [(RUN_A, RUN_A)]


def test_latest_payment_and_shipment_states_break_ties_in_order(
    reconciliation: Reconciled,
) -> None:
    with warehouse(reconciliation.after_a) as con:
        assert query(
            con,
            "select order_id, payment_status, latest_event_type, latest_event_id, amount_cents, "
            "currency, event_count from curated.payments_latest "
            "where order_id in ('tie-ingest', 'tie-id', 'am-fail') order by order_id",
        ) == [
            ("am-fail", "failed", "payment_intent.payment_failed",
             "ev-am-fail-2", 4200, "USD", 2),
            ("tie-id", "succeeded", "charge.succeeded", "ev-tie-id-2", 6100, "USD", 2),
            ("tie-ingest", "succeeded", "charge.succeeded", "ev-tie-ingest-a", 6000, "USD", 2),
        ]  # fmt: skip
        shipped = at(A1, "06:00:00")
        assert query(
            con,
            "select shipment_id, order_id, status, quantity, warehouse_code, shipped_at, "
            "event_count from curated.shipments_latest where order_id = 'tw' order by 1",
        ) == [
            # sh-tw-file: equal ingested_ts, 'wms/b.csv' > 'wms/a.csv' despite line 2 < 9.
            ("sh-tw-file", "tw", "shipped", 3, "WH-B", shipped, 2),
            # sh-tw-ingest: arrived later from 'wms/a.csv' beats 'wms/b.csv'.
            ("sh-tw-ingest", "tw", "shipped", 2, "WH-A", shipped, 2),
            # sh-tw-line: same file and arrival, line 3 beats line 2.
            ("sh-tw-line", "tw", "shipped", 6, "WH-B", shipped, 2),
        ]
        # The data clock came from the warehouse: no source reported anything later.
        assert query(
            con,
            "select (select max(last_event_at) from curated.shipments_latest), "
            "(select max(last_event_at) from curated.payments_latest), "
            "(select max(updated_at) from curated.orders_latest)",
        ) == [(CLOCK, at(A2, "03:00:00"), at(A1, "20:00:00"))]


def test_a_late_payment_clears_its_mismatch_and_keeps_when_it_was_first_seen(
    reconciliation: Reconciled,
) -> None:
    with warehouse(reconciliation.after_b) as con:
        assert query(con, OPEN_KEYS) == [k for k in EXPECTED_OPEN_A if k[1] != "mp-paid"]
        bookkeeping = {(r[0], r[1]): r[2:] for r in query(con, BOOKKEEPING)}
    # (is_cleared, first_seen_run_id, last_seen_run_id, cleared_run_id)
    assert bookkeeping.pop(("mp-paid", "MISSING_PAYMENT")) == (True, RUN_A, RUN_A, RUN_B)
    assert bookkeeping == {
        (order_id, kind): (False, RUN_A, RUN_B, None)
        for _, order_id, kind in EXPECTED_OPEN_A
        if order_id != "mp-paid"
    }


# --------------------------------------------------------------------------------------------
# Scenario 4: the revenue variance gate and write-audit-publish
# --------------------------------------------------------------------------------------------

R1, R2, R3, R4, R5 = "2024-06-01", "2024-06-02", "2024-06-03", "2024-06-04", "2024-06-05"
D_R1, D_R2 = day_of(R1), day_of(R2)
GATES = ("duplicate_order_rate", "mismatch_spike", "referential_integrity", "revenue_variance")
REVENUE_QUERIES = {
    "open": OPEN_KEYS,
    "int": "select * from curated.int_revenue_daily order by all",
    "variance": "select business_date, currency, mart_orders, mart_revenue_cents, "
    "finance_revenue_cents, variance_cents, variance_ratio, status "
    "from audit.audit_revenue_variance order by all",
    "gates": "select business_date, gate, passed from audit.audit_publication_gates order by all",
    "revenue": "select * from marts.fct_daily_revenue order by all",
    "bi_revenue": "select * from bi.fct_daily_revenue order by all",
    "orders": "select order_id, business_date, status, amount_cents, payment_status, "
    "paid_amount_cents, open_mismatch_type from marts.fct_orders order by all",
    "bi_orders": "select order_id, business_date, status, amount_cents, payment_status, "
    "paid_amount_cents, open_mismatch_type from bi.fct_orders order by all",
}


def revenue_scenario() -> Staging:
    """Two clean dates: USD 1,000,500 on 06-01 (finance 1,000,000: ratio exactly 0.0005) and
    USD 1,000,501 on 06-02 (finance 1,000,000: just over)."""
    s = Staging()
    for order_id, day, clock, status, currency, cents in [
        ("rv-101", R1, "09:00:00", "paid", "USD", 600_000),
        ("rv-102", R1, "10:00:00", "paid", "USD", 400_500),
        ("rv-103", R1, "11:00:00", "paid", "EUR", 25_000),
        ("rv-201", R2, "09:00:00", "paid", "USD", 500_000),
        ("rv-202", R2, "10:00:00", "paid", "USD", 500_501),
    ]:
        s.order(order_id, f"c-{order_id}", status, currency, cents, at(day, clock))
        s.paid(order_id, cents, currency.lower(), at(day, clock) + dt.timedelta(minutes=1))
    # Not recognized: pending (paid later, in run 3), and a soft-deleted paid order.
    s.order("wap-late", "c-wap", "pending", "USD", 10_000, at(R1, "12:30:00"))
    s.order("rv-104", "c-rv-104", "pending", "USD", 999, at(R1, "12:00:00"))
    s.order("rv-105", "c-rv-105", "paid", "USD", 777, at(R1, "13:00:00"), at(R1, "13:30:00"),
            deleted=True)  # fmt: skip
    s.finance(R1, "USD", 1_000_000)
    s.finance(R1, "EUR", 25_000)
    s.finance(R2, "USD", 1_000_000)
    return s


@pytest.fixture(scope="module")
def revenue_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[int, dict[str, list[Row]]]:
    """Snapshots after each of three runs:

    1. [06-01, 06-03): 06-02 is over the limit.
    2. Finance's corrected 06-02 report lands on 06-04 (in that day's folder; the first
       report stays in staging and the later arrival wins); run [06-04, 06-05).
    3. wap-late (06-01, pending) is paid on 06-04: 06-01's revenue no longer matches
       finance; run [06-04, 06-05).
    """
    work = tmp_path_factory.mktemp("revenue")
    db = work / "warehouse.duckdb"
    revenue_scenario().write(db)
    dbt_build(db, work, R1, R3, "rv-1")
    stages = {1: snapshot(db, REVENUE_QUERIES)}

    # The restatement lands in another day's folder: both reports stay in staging (history)
    # and the latest landed one is finance's figure.
    corrected = Staging()
    corrected.finance(R2, "USD", 1_000_501, landed=R4)
    corrected.write(db)
    dbt_build(db, work, R4, R5, "rv-2")
    stages[2] = snapshot(db, REVENUE_QUERIES)

    paid_late = Staging()
    paid_late.order("wap-late", "c-wap", "paid", "USD", 10_000, at(R1, "12:30:00"),
                    at(R4, "08:00:00"), new_customer=False)  # fmt: skip
    paid_late.paid("wap-late", 10_000, "usd", at(R4, "08:00:00"))
    paid_late.write(db)
    dbt_build(db, work, R4, R5, "rv-3")
    stages[3] = snapshot(db, REVENUE_QUERIES)
    return stages


def gates(failing: dict[dt.date, set[str]], dates: Sequence[dt.date]) -> list[Row]:
    """Every gate of `dates`, passing except the `failing` ones."""
    return sorted((d, gate, gate not in failing.get(d, set())) for d in dates for gate in GATES)


PUBLISHED_R1_REVENUE = [(D_R1, "EUR", 1, 25_000), (D_R1, "USD", 2, 1_000_500)]
PUBLISHED_R1_ORDERS = [
    ("rv-101", D_R1, "paid", 600_000, "succeeded", 600_000, None),
    ("rv-102", D_R1, "paid", 400_500, "succeeded", 400_500, None),
    ("rv-103", D_R1, "paid", 25_000, "succeeded", 25_000, None),
    ("rv-104", D_R1, "pending", 999, None, None, None),
    ("wap-late", D_R1, "pending", 10_000, None, None, None),
]
PUBLISHED_R2_ORDERS = [
    ("rv-201", D_R2, "paid", 500_000, "succeeded", 500_000, None),
    ("rv-202", D_R2, "paid", 500_501, "succeeded", 500_501, None),
]


def test_revenue_variance_over_the_limit_withholds_only_that_date(
    revenue_runs: dict[int, dict[str, list[Row]]],
) -> None:
    first = revenue_runs[1]
    assert first["open"] == []
    variance = first["variance"]
    assert [r[:6] + r[7:] for r in variance] == [
        (D_R1, "EUR", 1, 25_000, 25_000, 0, "WITHIN_LIMIT"),
        (D_R1, "USD", 2, 1_000_500, 1_000_000, 500, "WITHIN_LIMIT"),
        (D_R2, "USD", 2, 1_000_501, 1_000_000, 501, "OVER_LIMIT"),
    ]
    assert [r[6] for r in variance] == pytest.approx([0.0, 0.0005, 0.000501])
    assert first["gates"] == gates({D_R2: {"revenue_variance"}}, [D_R1, D_R2])
    assert first["revenue"] == PUBLISHED_R1_REVENUE
    assert first["bi_revenue"] == PUBLISHED_R1_REVENUE
    assert first["orders"] == PUBLISHED_R1_ORDERS
    assert first["bi_orders"] == PUBLISHED_R1_ORDERS


def test_a_corrected_finance_report_publishes_the_withheld_date(
    revenue_runs: dict[int, dict[str, list[Row]]],
) -> None:
    second = revenue_runs[2]
    assert [r[:6] + r[7:] for r in second["variance"] if r[0] == D_R2] == [
        (D_R2, "USD", 2, 1_000_501, 1_000_501, 0, "WITHIN_LIMIT"),
    ]
    assert second["gates"] == gates({}, [D_R1, D_R2])
    published = [*PUBLISHED_R1_REVENUE, (D_R2, "USD", 2, 1_000_501)]
    assert second["revenue"] == published
    assert second["bi_revenue"] == published
    assert second["orders"] == sorted(PUBLISHED_R1_ORDERS + PUBLISHED_R2_ORDERS)
    assert second["bi_orders"] == sorted(PUBLISHED_R1_ORDERS + PUBLISHED_R2_ORDERS)


def test_a_published_date_that_starts_failing_keeps_its_published_rows(
    revenue_runs: dict[int, dict[str, list[Row]]],
) -> None:
    third = revenue_runs[3]
    # The audit sees the new revenue of 06-01 (wap-late now paid) ...
    assert (D_R1, "USD", 3, 1_010_500) in third["int"]
    [usd] = [r for r in third["variance"] if r[:2] == (D_R1, "USD")]
    assert usd[2:6] + usd[7:] == (3, 1_010_500, 1_000_000, 10_500, "OVER_LIMIT")
    assert third["gates"] == gates({D_R1: {"revenue_variance"}}, [D_R1, D_R2])
    # ... but the marts keep what was published for it; 06-02 is republished unchanged.
    assert third["revenue"] == revenue_runs[2]["revenue"]
    assert third["bi_revenue"] == revenue_runs[2]["revenue"]
    assert third["orders"] == sorted(PUBLISHED_R1_ORDERS + PUBLISHED_R2_ORDERS)
    assert third["bi_orders"] == sorted(PUBLISHED_R1_ORDERS + PUBLISHED_R2_ORDERS)


# --------------------------------------------------------------------------------------------
# Scenario 5: convergence
# --------------------------------------------------------------------------------------------

C1, C2, C3, C4 = "2024-07-01", "2024-07-02", "2024-07-03", "2024-07-04"
D_C1, D_C2, D_C3 = day_of(C1), day_of(C2), day_of(C3)
DAYS = [(C1, C2), (C2, C3), (C3, C4)]


def convergence_scenario() -> Staging:
    """Three days of orders whose lives cross days: versions, payments and warehouse rows
    landing on later days, a soft delete, a refund, a duplicate, orphans, finance reports."""
    s = Staging()
    # cv-1: paid and shipped on 07-01, delivered on 07-02.
    s.order("cv-1", "c-1", "paid", "USD", 1000, at(C1, "08:00:00"))
    s.version("cv-1", "shipped", at(C1, "18:00:00"))
    s.version("cv-1", "delivered", at(C2, "10:00:00"))
    s.paid("cv-1", 1000, "usd", at(C1, "08:01:00"))
    s.wms("sh-cv-1", "cv-1", "picked", at(C1, "17:00:00"))
    s.wms("sh-cv-1", "cv-1", "shipped", at(C1, "18:00:00"))
    s.wms("sh-cv-1", "cv-1", "delivered", at(C2, "10:00:00"))
    # cv-2: paid on 07-01, refunded on 07-03.
    s.order("cv-2", "c-2", "paid", "EUR", 2000, at(C1, "09:00:00"))
    s.version("cv-2", "refunded", at(C3, "11:00:00"))
    s.paid("cv-2", 2000, "eur", at(C1, "09:01:00"))
    s.event("ev-cv-2-refund", "cv-2", "charge.refunded", at(C3, "11:00:00"), 2000, "eur")
    # cv-3: paid on 07-01, soft-deleted on 07-02.
    s.order("cv-3", "c-3", "paid", "USD", 3000, at(C1, "10:00:00"))
    s.version("cv-3", "paid", at(C2, "10:00:00"), deleted=True)
    s.paid("cv-3", 3000, "usd", at(C1, "10:01:00"))
    # cv-6: created 10 s before midnight, paid after it (payment in partition 07-02).
    s.order("cv-6", "c-6", "paid", "USD", 6000, at(C1, "23:59:50"))
    s.paid("cv-6", 6000, "usd", at(C2, "00:00:05"))
    # cv-4 / cv-5: a double submission 45 s apart on 07-02.
    s.order("cv-4", "c-4", "paid", "USD", 4000, at(C2, "12:00:00"))
    s.paid("cv-4", 4000, "usd", at(C2, "12:01:00"))
    s.order("cv-5", "c-4", "paid", "USD", 4000, at(C2, "12:00:45"), new_customer=False)
    # cv-7: created before midnight, paid after it (payment in partition 07-03). Backwards,
    # the 07-03 run sees its payment as an orphan of 07-03 and withholds 07-03; only the
    # 07-02 run (07-03 is the day after its window) can publish 07-03 then.
    s.order("cv-7", "c-7", "paid", "GBP", 7000, at(C2, "23:50:00"))
    s.paid("cv-7", 7000, "gbp", at(C3, "00:10:00"))
    # cv-8: shipped without any warehouse row (30 h before the clock).
    s.order("cv-8", "c-8", "shipped", "USD", 8000, at(C2, "14:00:00"))
    s.paid("cv-8", 8000, "usd", at(C2, "14:01:00"))
    # Orphans on 07-02.
    s.event("ev-x-pay-c", "x-pay-c", "charge.succeeded", at(C2, "05:00:00"), 500, "usd")
    s.wms("sh-x-ship-c", "x-ship-c", "picked", at(C2, "06:00:00"))
    # 07-03: an amount mismatch, a pending order (its update sets the clock), a shipment.
    s.order("cv-9", "c-9", "paid", "USD", 9000, at(C3, "09:00:00"))
    s.paid("cv-9", 9001, "usd", at(C3, "09:01:00"))
    s.order("cv-10", "c-10", "pending", "USD", 1000, at(C3, "10:00:00"))
    s.version("cv-10", "pending", at(C3, "20:00:00"))
    s.order("cv-11", "c-11", "paid", "USD", 11_000, at(C3, "06:00:00"))
    s.version("cv-11", "shipped", at(C3, "12:00:00"))
    s.paid("cv-11", 11_000, "usd", at(C3, "06:01:00"))
    s.wms("sh-cv-11", "cv-11", "shipped", at(C3, "12:00:00"))
    # Finance agrees with the recognized revenue of every date.
    s.finance(C1, "USD", 7000)
    s.finance(C2, "USD", 12_000)
    s.finance(C2, "GBP", 7000)
    s.finance(C3, "USD", 20_000)
    return s


CONVERGED = {
    "curated.orders_latest": "select * from curated.orders_latest order by all",
    "curated.payments_latest": "select * from curated.payments_latest order by all",
    "curated.shipments_latest": "select * from curated.shipments_latest order by all",
    "audit.audit_order_mismatches": f"select {MISMATCH_BUSINESS} "
    "from audit.audit_order_mismatches where not is_cleared order by all",
    "audit.audit_revenue_variance": "select * from audit.audit_revenue_variance order by all",
    "marts.fct_orders": "select * from marts.fct_orders order by all",
    "marts.fct_daily_revenue": "select * from marts.fct_daily_revenue order by all",
    "marts.fct_fulfillment": "select * from marts.fct_fulfillment order by all",
}
"""What must not depend on how the range was cut (open audit rows without bookkeeping)."""

WHOLE, FORWARD, BACKWARD, TWICE = "whole range", "day by day", "day by day backwards", "twice"


@pytest.fixture(scope="module")
def convergence(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, list[Row]]]:
    """CONVERGED read after each way of materializing 07-01..07-03, keyed by the way.

    The staging data is written once and copied; the three sequences of runs go side by
    side, each on its own file and dbt target path.
    """
    root = tmp_path_factory.mktemp("convergence")
    template = root / "template.duckdb"
    convergence_scenario().write(template)

    def prepared(name: str) -> tuple[Path, Path]:
        work = root / name.replace(" ", "-")
        work.mkdir()
        db = work / "warehouse.duckdb"
        shutil.copyfile(template, db)
        return db, work

    def whole_then_again() -> dict[str, Path]:
        db, work = prepared(WHOLE)
        dbt_build(db, work, C1, C4, "whole-1")
        once = keep_copy(db, "once.duckdb")
        dbt_build(db, work, C1, C4, "whole-2")
        return {WHOLE: once, TWICE: db}

    def days(name: str, windows: Sequence[tuple[str, str]]) -> Callable[[], dict[str, Path]]:
        def run() -> dict[str, Path]:
            db, work = prepared(name)
            for n, (start, stop) in enumerate(windows, 1):
                dbt_build(db, work, start, stop, f"{name.replace(' ', '-')}-{n}")
            return {name: db}

        return run

    chains = [whole_then_again, days(FORWARD, DAYS), days(BACKWARD, DAYS[::-1])]
    with ThreadPoolExecutor(max_workers=len(chains)) as pool:
        files: dict[str, Path] = {}
        for done in [pool.submit(chain) for chain in chains]:
            files |= done.result()
    return {way: snapshot(db, CONVERGED) for way, db in files.items()}


def test_the_whole_range_reference_is_the_hand_written_result(
    convergence: dict[str, dict[str, list[Row]]],
) -> None:
    """The reference the other ways are compared with is itself right (and not empty)."""
    whole = convergence[WHOLE]
    assert sorted(r[1:4] for r in whole["audit.audit_order_mismatches"]) == [
        (D_C2, "cv-5", "DUPLICATE_ORDER"),
        (D_C2, "cv-8", "MISSING_SHIPMENT"),
        (D_C2, "x-pay-c", "ORPHAN_PAYMENT"),
        (D_C2, "x-ship-c", "ORPHAN_SHIPMENT"),
        (D_C3, "cv-9", "AMOUNT_MISMATCH"),
    ]
    assert [
        (r[0], r[1], r[2], r[3], r[4], r[-1]) for r in whole["audit.audit_revenue_variance"]
    ] == [
        (D_C1, "USD", 2, 7000, 7000, "WITHIN_LIMIT"),
        (D_C2, "GBP", 1, 7000, 7000, "WITHIN_LIMIT"),
        (D_C2, "USD", 2, 12_000, 12_000, "WITHIN_LIMIT"),
        (D_C3, "USD", 2, 20_000, 20_000, "WITHIN_LIMIT"),
    ]
    # 07-02 has a duplicate (1 of 5 live orders) and orphans: never published.
    assert whole["marts.fct_daily_revenue"] == [(D_C1, "USD", 2, 7000), (D_C3, "USD", 2, 20_000)]
    assert [(r[0], r[1], r[-1]) for r in whole["marts.fct_orders"]] == [
        ("cv-1", D_C1, None),
        ("cv-10", D_C3, None),
        ("cv-11", D_C3, None),
        ("cv-2", D_C1, None),
        ("cv-6", D_C1, None),
        ("cv-9", D_C3, "AMOUNT_MISMATCH"),
    ]
    assert whole["marts.fct_fulfillment"] == [
        (D_C1, "WH-1", 1, 1, 1, 0, 10.0),
        (D_C3, "WH-1", 1, 1, 0, 0, 6.0),
    ]
    assert [r[0] for r in whole["curated.orders_latest"]] == [
        "cv-1", "cv-10", "cv-11", "cv-2", "cv-3", "cv-4", "cv-5", "cv-6", "cv-7", "cv-8", "cv-9"
    ]  # fmt: skip


@pytest.mark.parametrize("table", list(CONVERGED))
def test_every_way_of_cutting_the_range_converges(
    convergence: dict[str, dict[str, list[Row]]], table: str
) -> None:
    reference = convergence[WHOLE][table]
    differences = {}
    for way in (FORWARD, BACKWARD, TWICE):
        rows = convergence[way][table]
        if rows != reference:
            differences[way] = {
                f"only in {WHOLE}": [r for r in reference if r not in rows],
                f"only in {way}": [r for r in rows if r not in reference],
            }
    assert differences == {}, f"{table} differs from one run over the whole range"
