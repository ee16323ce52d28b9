"""`northstar explain` and `audit/audit_root_cause` on hand-built cases, one per root cause.

The warehouse tables are written directly (Python contracts from layers.py; the dbt-owned
tables with the columns their yml declares), the source is a fresh PostgreSQL database and
the run log holds two runs of the order audit:

  r-old    FAILURE  2026-03-01..2026-03-02  03-02 07:00-07:10  code c1 / dbt m1
  r-new    SUCCESS  2026-03-02              03-03 07:00-07:10  code c2 / dbt m2
  r-stage  SUCCESS  2026-03-01              03-02 10:00-10:05  (staging only: no audit checks)

r-old built the audit and then a publication gate blocked its downstream (the run log says
FAILURE): it still counts as the audit's last build; r-stage did not build the audit.

Landing files arrived 03-02 06:00 unless said otherwise. Business date D1 = 03-01:
  o-src   SOURCE_CHANGE   exported paid at 03-01 10:00; the source now says cancelled at 03-02 12:00
  o-late  LATE_ARRIVING   its Stripe event arrived 03-02 09:00, after r-old (D1's last run) ended
                          (the event is also absent from payments_latest: ETL_LOSS comes later)
  o-ok    CONSISTENT      every layer, published, a second landed copy counted as a duplicate
D2 = 03-02:
  o-lost  ETL_LOSS        a raw row that never reached staging, not quarantined; its payment is
                          an open ORPHAN_PAYMENT first seen by r-new (TRANSFORMATION comes later)
  o-xform TRANSFORMATION  AMOUNT_MISMATCH first seen by r-new under c2; r-old (c1) covered D2 and
                          no input arrived in between
  o-unx   UNEXPLAINED     AMOUNT_MISMATCH first seen by a run the log does not know
"""

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import duckdb
import psycopg2
import pytest
from click.testing import CliRunner

from northstar_platform.layers import (
    AUDIT_PREFERENCE_MISMATCHES,
    CORE_PREFERENCES_HISTORY_KEYS,
    PIPELINE_RUN_LOG,
    QUARANTINE_ORDERS,
    QUARANTINE_PRIVACY,
    RAW_ORDERS,
    RAW_PRIVACY_EVENTS,
    RAW_WMS_SHIPMENTS,
    STG_ORDERS,
    STG_PRIVACY_EVENTS,
    STG_STRIPE_EVENTS,
    STG_WMS_SHIPMENTS,
    Table,
)

pytestmark = pytest.mark.integration

D1, D2 = dt.date(2026, 3, 1), dt.date(2026, 3, 2)
ARRIVED = dt.datetime(2026, 3, 2, 6)
LATE = dt.datetime(2026, 3, 2, 9)


def ts(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(f"2026-{text}")


# order_id, customer, status, cents, created, updated (what was exported)
ORDERS = {
    "o-src": ("c-1", "paid", 1000, ts("03-01 09:00"), ts("03-01 10:00")),
    "o-late": ("c-2", "paid", 2000, ts("03-01 11:00"), ts("03-01 11:00")),
    "o-ok": ("c-3", "paid", 3000, ts("03-01 12:00"), ts("03-01 12:00")),
    "o-lost": ("c-4", "paid", 4000, ts("03-02 09:00"), ts("03-02 09:00")),
    "o-xform": ("c-5", "paid", 5000, ts("03-02 10:00"), ts("03-02 10:00")),
    "o-unx": ("c-6", "paid", 6000, ts("03-02 11:00"), ts("03-02 11:00")),
}
STAGED = ["o-src", "o-late", "o-ok", "o-xform", "o-unx"]  # o-lost never reached staging
PAID = {"o-late": LATE, "o-ok": ARRIVED, "o-lost": ARRIVED, "o-xform": ARRIVED, "o-unx": ARRIVED}
"""Orders with a Stripe event, and when its file arrived."""
OPEN = {
    # order_id: business date, class, first seen run
    "o-src": (D1, "MISSING_SHIPMENT", "r-old"),
    "o-late": (D1, "MISSING_PAYMENT", "r-old"),
    "o-lost": (D2, "ORPHAN_PAYMENT", "r-new"),
    "o-xform": (D2, "AMOUNT_MISMATCH", "r-new"),
    "o-unx": (D2, "AMOUNT_MISMATCH", "r-ghost"),
}
EXPECTED_COUNTS = {
    D1: {"SOURCE_CHANGE": 1, "LATE_ARRIVING": 1},
    D2: {"ETL_LOSS": 1, "TRANSFORMATION": 1, "UNEXPLAINED": 1},
}


def _order_row(oid: str, line: int, loader: tuple) -> tuple:
    cust, status, cents, created, updated = ORDERS[oid]
    return (oid, cust, status, "USD", cents, created, updated, False, *loader)


def _file(day: dt.date) -> str:
    return f"orders/{day:%Y/%m/%d}/00/run-a.parquet"


def _loader(oid: str, line: int, run: str = "r-load") -> tuple:
    day = ORDERS[oid][4].date()
    return (day.isoformat(), _file(day), line, ARRIVED, run)


DBT_TABLES = {
    "curated.orders_latest": "order_id varchar, customer_id varchar, status varchar, "
    "currency varchar, amount_cents bigint, created_at timestamp, updated_at timestamp, "
    "is_deleted boolean, ingested_ts timestamp, source_file varchar, line_no bigint, "
    "partition_key varchar",
    "curated.payments_latest": "order_id varchar, payment_status varchar, "
    "latest_event_type varchar, latest_event_id varchar, amount_cents bigint, currency varchar, "
    "event_count bigint, first_event_at timestamp, last_event_at timestamp, "
    "last_ingested_ts timestamp",
    "curated.shipments_latest": "shipment_id varchar, order_id varchar, status varchar, "
    "quantity bigint, warehouse_code varchar, shipped_at timestamp, delivered_at timestamp, "
    "event_count bigint, first_event_at timestamp, last_event_at timestamp, "
    "last_ingested_ts timestamp",
    "audit.audit_order_mismatches": "mismatch_key varchar, business_date date, "
    "order_id varchar, mismatch_type varchar, related_order_id varchar, order_status varchar, "
    "order_currency varchar, order_amount_cents bigint, payment_status varchar, "
    "payment_currency varchar, payment_amount_cents bigint, shipments bigint, "
    "first_seen_run_id varchar, first_seen_at timestamp, last_seen_run_id varchar, "
    "last_seen_at timestamp, is_cleared boolean, cleared_run_id varchar, cleared_at timestamp",
    "audit.audit_publication_gates": "business_date date, gate varchar, observed double, "
    "threshold double, passed boolean, detail varchar, run_id varchar",
    "marts.fct_fulfillment": "business_date date, warehouse_code varchar, shipments bigint, "
    "units bigint, delivered_shipments bigint, orphan_shipments bigint, "
    "avg_hours_to_ship double",
    "curated.privacy_latest": "customer_key varchar, channel varchar, preference_state varchar, "
    "event_ts timestamp, ingested_ts timestamp, source_record_id varchar, partition_key varchar",
    "curated.core_latest": "customer_key varchar, channel varchar, preference_state varchar, "
    "updated_ts timestamp, ingested_ts timestamp",
    "marts.fct_orders": "order_id varchar, business_date date, customer_id varchar, "
    "status varchar, currency varchar, amount_cents bigint, created_at timestamp, "
    "updated_at timestamp, payment_status varchar, paid_amount_cents bigint, shipments bigint, "
    "shipped_at timestamp, delivered_at timestamp, open_mismatch_type varchar",
}


def _insert(con: duckdb.DuckDBPyConnection, table: str, rows: list[tuple]) -> None:
    if rows:
        marks = ", ".join("?" for _ in rows[0])
        con.executemany(f"insert into {table} values ({marks})", rows)


def _contract(con: duckdb.DuckDBPyConnection, table: Table, rows: list[tuple]) -> None:
    con.execute(f"create schema if not exists {table.layer.value}")
    con.execute(table.create_sql())
    _insert(con, table.qualified, rows)


def build_warehouse(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(path)) as con:
        con.execute("set timezone = 'UTC'")
        raw = [_order_row(o, n, _loader(o, n)) for n, o in enumerate(ORDERS, start=1)]
        raw.append(_order_row("o-ok", 9, _loader("o-ok", 9)))  # a second landed copy
        _contract(con, RAW_ORDERS, raw)
        _contract(
            con, STG_ORDERS, [_order_row(o, n, _loader(o, n)) for n, o in enumerate(ORDERS, 1)
                              if o in STAGED]
        )  # fmt: skip
        _contract(con, QUARANTINE_ORDERS, [])
        events = [
            (f"evt-{o}", "charge.succeeded", ORDERS[o][3], f"ch-{o}", ORDERS[o][2], "usd",
             "succeeded", o, 1, arrived.date().isoformat(), f"stripe/{arrived:%Y/%m/%d}/s.jsonl",
             n, arrived, "r-load")
            for n, (o, arrived) in enumerate(PAID.items(), start=1)
        ]  # fmt: skip
        _contract(con, STG_STRIPE_EVENTS, events)
        wms = ("wms/2026/03/01/13/w.csv", ARRIVED, "r-load")
        _contract(
            con,
            RAW_WMS_SHIPMENTS,
            [("shipment_id,order_id,status,quantity,warehouse_code,event_ts", True, True,
              "2026-03-01-13:00", wms[0], 1, *wms[1:]),
             ("s-1,o-ok,shipped,1,W1,2026-03-01T13:00:00Z", True, True, "2026-03-01-13:00",
              wms[0], 2, *wms[1:])],
        )  # fmt: skip
        _contract(
            con,
            STG_WMS_SHIPMENTS,
            [("s-1", "o-ok", "shipped", 1, "W1", ts("03-01 13:00"), 1, "2026-03-01-13:00",
              wms[0], 2, *wms[1:])],
        )  # fmt: skip
        build_preferences(con)
        for name, columns in DBT_TABLES.items():
            con.execute(f"create schema if not exists {name.split('.')[0]}")
            con.execute(f"create table {name} ({columns})")
        _insert(
            con,
            "curated.orders_latest",
            [_order_row(o, n, (ARRIVED, _file(ORDERS[o][4].date()), n, _loader(o, n)[0]))
             for n, o in enumerate(ORDERS, 1) if o in STAGED],
        )  # fmt: skip
        _insert(
            con,
            "curated.payments_latest",
            [(o, "succeeded", "charge.succeeded", f"evt-{o}", ORDERS[o][2], "USD", 1,
              ORDERS[o][3], ORDERS[o][3], ARRIVED)
             for o in PAID if o != "o-late"],
        )  # fmt: skip
        _insert(
            con,
            "audit.audit_order_mismatches",
            [(f"{day}|{o}|{kind}", day, o, kind, None, "paid", "USD", ORDERS[o][2], None, None,
              None, 0, run, ts("03-02 07:00"), run, ts("03-03 07:00"), False, None, None)
             for o, (day, kind, run) in OPEN.items()],
        )  # fmt: skip
        gates = ("duplicate_order_rate", "referential_integrity", "revenue_variance")
        _insert(
            con,
            "audit.audit_publication_gates",
            [(D1, g, 0.0, 0.01, True, "", "r-old") for g in gates],
        )
        _insert(
            con,
            "curated.shipments_latest",
            [("s-1", "o-ok", "shipped", 1, "W1", ts("03-01 13:00"), None, 1, ts("03-01 13:00"),
              ts("03-01 13:00"), ARRIVED)],
        )  # fmt: skip
        _insert(con, "marts.fct_fulfillment", [(D1, "W1", 1, 1, 0, 0, 1.0)])
        _insert(
            con,
            "curated.privacy_latest",
            [("k-2", "SMS", "OPT_IN", ts("03-01 08:00"), ARRIVED, "p-2", "2026-03-01")],
        )
        _insert(
            con,
            "curated.core_latest",
            [(k, ch, "OPT_IN", ts("03-01 07:00"), ARRIVED) for k, ch in PAIRS],
        )
        _insert(
            con,
            "marts.fct_orders",
            [("o-ok", D1, "c-3", "paid", "USD", 3000, ORDERS["o-ok"][3], ORDERS["o-ok"][4],
              "succeeded", 3000, 0, None, None, None)],
        )  # fmt: skip
        audit_check = json.dumps([{"asset": "audit/audit_order_mismatches", "passed": True}])
        stage_check = json.dumps([{"asset": "staging/stg_orders", "passed": True}])
        runs = [
            ("r-old", "FAILURE", "2026-03-01..2026-03-02", ts("03-02 07:00"), ts("03-02 07:10"),
             "c1", "m1", audit_check),
            ("r-new", "SUCCESS", "2026-03-02", ts("03-03 07:00"), ts("03-03 07:10"),
             "c2", "m2", audit_check),
            ("r-stage", "SUCCESS", "2026-03-01", ts("03-02 10:00"), ts("03-02 10:05"),
             "c2", "m2", stage_check),
        ]  # fmt: skip
        _contract(
            con,
            PIPELINE_RUN_LOG,
            [(run, "__ASSET_JOB", part, status, start, end, 600.0, "user:test", 5,
              json.dumps({"staging/stg_orders": 3}), 1, 0, checks, None, code, manifest,
              "production", end)
             for run, status, part, start, end, code, manifest, checks in runs],
        )  # fmt: skip


PAIRS = [("k-1", "EMAIL"), ("k-2", "SMS")]
"""Preference pairs: k-1's opt-out was staged but never reached privacy_latest (ETL_LOSS); k-2
agrees everywhere (CONSISTENT)."""


def build_preferences(con: duckdb.DuckDBPyConnection) -> None:
    privacy = "privacy/2026/03/01/p.jsonl"
    events = [("k-1", "EMAIL", "OPT_OUT", "p-1"), ("k-2", "SMS", "OPT_IN", "p-2")]
    _contract(
        con,
        RAW_PRIVACY_EVENTS,
        [(json.dumps({"customer_key": k, "channel": ch, "preference_state": st,
                      "event_ts": "2026-03-01T08:00:00Z", "source_record_id": rid}),
          True, "2026-03-01", privacy, n, ARRIVED, "r-load")
         for n, (k, ch, st, rid) in enumerate(events, start=1)],
    )  # fmt: skip
    _contract(
        con,
        STG_PRIVACY_EVENTS,
        [(k, ch, st, ts("03-01 08:00"), rid, 1, "2026-03-01", privacy, n, ARRIVED, "r-load")
         for n, (k, ch, st, rid) in enumerate(events, start=1)],
    )  # fmt: skip
    _contract(con, QUARANTINE_PRIVACY, [])
    _contract(
        con,
        CORE_PREFERENCES_HISTORY_KEYS,
        [(k, ch, "OPT_IN", ts("03-01 07:00"), ARRIVED) for k, ch in PAIRS],
    )
    _contract(
        con,
        AUDIT_PREFERENCE_MISMATCHES,
        [(D1, "k-1", "EMAIL", None, None, "OPT_IN", ts("03-01 07:00"), "MISSING_IN_PRIVACY")],
    )


def build_source(dsn: str) -> None:
    """public.orders as the source holds it now: o-src was cancelled after its export."""
    with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute(
            "create table public.orders (order_id text primary key, customer_id text, "
            "status text, currency text, amount_cents bigint, created_at timestamptz, "
            "updated_at timestamptz, is_deleted boolean)"
        )
        for oid, (cust, status, cents, created, updated) in ORDERS.items():
            if oid == "o-src":
                status, updated = "cancelled", ts("03-02 12:00")
            cur.execute(
                "insert into public.orders values (%s, %s, %s, 'USD', %s, %s, %s, false)",
                (oid, cust, status, cents, created.replace(tzinfo=dt.UTC),
                 updated.replace(tzinfo=dt.UTC)),
            )  # fmt: skip
    conn.close()


@pytest.fixture
def cases(northstar_env: Path, fresh_pg_dsn: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("NORTHSTAR_SOURCE_DSN", fresh_pg_dsn)
    build_warehouse(northstar_env / "warehouse.duckdb")
    build_source(fresh_pg_dsn)
    return northstar_env


def explain(*args: str) -> tuple[int, str]:
    from northstar_platform.cli import main

    result = CliRunner().invoke(main, ["explain", *args])
    return result.exit_code, result.output


def explain_json(*args: str) -> dict:
    code, out = explain(*args, "--json")
    assert code == 0, out
    return json.loads(out)


@pytest.mark.parametrize(
    ("order_id", "cause", "evidence"),
    [
        ("o-src", "SOURCE_CHANGE", ["updated_at 2026-03-02 12:00:00 is newer",
                                    "status: 'paid' → 'cancelled'"]),
        ("o-late", "LATE_ARRIVING", ["staging.stg_stripe_events stripe/2026/03/02/s.jsonl:1",
                                     "arrived 2026-03-02 09:00:00", "ended 2026-03-02 07:10:00",
                                     "(run r-old)"]),
        ("o-lost", "ETL_LOSS", ["raw.raw_orders orders/2026/03/02/00/run-a.parquet:4",
                                "absent from staging.stg_orders"]),
        ("o-xform", "TRANSFORMATION", ["first reported by run r-new under code c2",
                                       "r-old (ended 2026-03-02 07:10:00), ran c1"]),
        ("o-unx", "UNEXPLAINED", ["open mismatch AMOUNT_MISMATCH (2026-03-02)"]),
        ("o-ok", "CONSISTENT", ["in every layer it should be"]),
    ],
)  # fmt: skip
def test_explain_classifies_each_hand_built_case(
    cases: Path, order_id: str, cause: str, evidence: list[str]
) -> None:
    code, out = explain("order", order_id)
    assert code == 0, out
    lines = out.splitlines()
    assert lines[0] == f"order {order_id}"
    classes = [line for line in lines if line.startswith("class: ")]
    assert classes == [f"class: {cause}"]
    [line] = [line for line in lines if line.startswith("evidence: ")]
    for text in evidence:
        assert text in line, (text, line)


def test_trace_shows_file_line_run_and_time_at_each_step(cases: Path) -> None:
    trace = explain_json("order", "o-ok")
    steps = {s["table"]: s for s in trace["steps"]}
    source = steps["public.orders (source)"]["rows"]
    assert [(r["order_id"], r["status"], r["updated_at"]) for r in source] == [
        ("o-ok", "paid", "2026-03-01 12:00:00")
    ]
    raw = steps["raw.raw_orders"]["rows"]
    assert [(r["source_file"], r["line_no"], r["ingested_ts"], r["run_id"]) for r in raw] == [
        ("orders/2026/03/01/00/run-a.parquet", 3, "2026-03-02 06:00:00", "r-load"),
        ("orders/2026/03/01/00/run-a.parquet", 9, "2026-03-02 06:00:00", "r-load"),
    ]
    assert [r["line_no"] for r in steps["staging.stg_orders"]["rows"]] == [3]
    assert steps["collapsed in staging (counted)"]["rows"] == [
        {"source_file": "orders/2026/03/01/00/run-a.parquet", "line_no": 9, "run_id": "r-load",
         "kept": "orders/2026/03/01/00/run-a.parquet:3"}
    ]  # fmt: skip
    assert [r["order_id"] for r in steps["curated.orders_latest"]["rows"]] == ["o-ok"]
    assert [r["latest_event_id"] for r in steps["curated.payments_latest"]["rows"]] == ["evt-o-ok"]
    assert steps["audit.audit_order_mismatches"]["rows"] == []
    assert steps["audit.audit_publication_gates"]["note"] == "2026-03-01 published"
    assert [r["order_id"] for r in steps["marts.fct_orders"]["rows"]] == ["o-ok"]
    assert trace["runs"]["r-old"]["code_version"] == "c1"
    assert trace["runs"]["r-load"] is None  # loaded by a run the log does not have
    assert trace["classification"]["class"] == "CONSISTENT"
    code, text = explain("order", "o-ok")
    assert code == 0
    assert "run: r-load (run not in the run log)" in text
    assert "orders/2026/03/01/00/run-a.parquet:9  arrived 2026-03-02 06:00:00" in text


def test_json_round_trips_the_text_verdict(cases: Path) -> None:
    for order_id in ("o-src", "o-late", "o-lost", "o-xform", "o-unx"):
        trace = explain_json("order", order_id)
        _, text = explain("order", order_id)
        assert f"class: {trace['classification']['class']}" in text.splitlines()
        assert f"evidence: {trace['classification']['summary']}" in text.splitlines()
        assert json.loads(json.dumps(trace)) == trace
    transformation = explain_json("order", "o-xform")["classification"]["facts"]
    assert (transformation["earlier_run_id"], transformation["earlier_code_version"]) == (
        "r-old",
        "c1",
    )


def test_payment_by_event_id_classifies_its_order(cases: Path) -> None:
    trace = explain_json("payment", "evt-o-late")
    assert (trace["order_id"], trace["classification"]["class"]) == ("o-late", "LATE_ARRIVING")


def test_shipment_traces_its_lines_and_classifies_its_order(cases: Path) -> None:
    trace = explain_json("shipment", "s-1")
    steps = {s["table"]: s["rows"] for s in trace["steps"]}
    assert [(r["source_file"], r["line_no"]) for r in steps["raw.raw_wms_shipments"]] == [
        ("wms/2026/03/01/13/w.csv", 2)
    ]
    assert [(r["warehouse_code"], r["shipments"]) for r in steps["marts.fct_fulfillment"]] == [
        ("W1", 1)
    ]
    assert (trace["order_id"], trace["classification"]["class"]) == ("o-ok", "CONSISTENT")


@pytest.mark.parametrize(
    ("pair", "cause", "evidence"),
    [
        (("k-1", "EMAIL"), "ETL_LOSS",
         "staging.stg_privacy_events privacy/2026/03/01/p.jsonl:1 (event_ts 2026-03-01 08:00:00) "
         "is absent from curated.privacy_latest"),
        (("k-2", "SMS"), "CONSISTENT", "in every layer it should be, with no open mismatch"),
    ],
)  # fmt: skip
def test_preference_pair_is_traced_and_classified(
    cases: Path, pair: tuple[str, str], cause: str, evidence: str
) -> None:
    trace = explain_json("preference", *pair)
    assert (trace["classification"]["class"], trace["classification"]["summary"]) == (
        cause,
        evidence,
    )
    steps = {s["table"]: s["rows"] for s in trace["steps"]}
    assert [r["line_no"] for r in steps["raw.raw_privacy_events"]] == [1 if pair[0] == "k-1" else 2]


def test_an_unknown_id_exits_2_naming_every_layer(cases: Path) -> None:
    code, out = explain("order", "o-nowhere")
    assert code == 2
    assert out.strip() == (
        "order o-nowhere is in no layer: not in the source, landing, raw, staging, quarantine, "
        "latest state, audit or marts"
    )


def test_source_schema_drift_is_a_source_change_naming_the_columns(
    cases: Path, fresh_pg_dsn: str
) -> None:
    with psycopg2.connect(fresh_pg_dsn) as conn, conn.cursor() as cur:
        cur.execute("alter table public.orders rename column currency to currency_code")
    conn.close()
    trace = explain_json("order", "o-ok")
    assert trace["classification"]["class"] == "SOURCE_CHANGE"
    assert trace["classification"]["summary"].startswith(
        "source schema drift: public.orders lacks currency and has extra currency_code"
    )


def test_a_run_holding_the_warehouse_is_named(cases: Path) -> None:
    """The `northstar` command itself, while another process holds DuckDB's lock."""
    path = cases / "warehouse.duckdb"
    holder = subprocess.Popen(
        [sys.executable, "-c", f"import duckdb,time; c = duckdb.connect({str(path)!r}); "
         "print('held', flush=True); time.sleep(60)"],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        done = subprocess.run(
            [str(Path(sys.executable).parent / "northstar"), "explain", "order", "o-ok"],
            capture_output=True, text=True, timeout=120, env=dict(os.environ),
        )  # fmt: skip
    finally:
        holder.kill()
        holder.wait()
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stdout.startswith(f"error: the warehouse {path} is locked by another process")


def test_audit_root_cause_counts_the_cases_per_partition(cases: Path, fresh_pg_dsn: str) -> None:
    from northstar_platform.defs.ops.root_cause import audit_root_cause
    from northstar_platform.resources.source_db import SourceDatabaseResource
    from northstar_platform.resources.warehouse import DuckDBWarehouse
    from northstar_platform.runner import materialize_range

    defs = dg.Definitions(
        assets=[audit_root_cause],
        resources={
            "warehouse": DuckDBWarehouse(path=str(cases / "warehouse.duckdb")),
            "source_db": SourceDatabaseResource(dsn=fresh_pg_dsn),
        },
    )
    with dg.DagsterInstance.ephemeral() as instance:
        report = materialize_range(
            defs, instance, [D1.isoformat(), D2.isoformat()], [audit_root_cause.key]
        )
    assert report.failures == []
    assert report.materialized == {"audit/audit_root_cause": 2}  # one ranged run, two dates
    with duckdb.connect(str(cases / "warehouse.duckdb"), read_only=True) as con:
        rows = con.execute(
            "select business_date, root_cause, open_mismatches from audit.audit_root_cause "
            "order by business_date, root_cause"
        ).fetchall()
    classes = ["ETL_LOSS", "LATE_ARRIVING", "SOURCE_CHANGE", "TRANSFORMATION", "UNEXPLAINED"]
    expected = [
        (day, cause, EXPECTED_COUNTS[day].get(cause, 0)) for day in (D1, D2) for cause in classes
    ]
    assert rows == expected
