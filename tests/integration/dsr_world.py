"""A small world for the DSR tests: PostgreSQL and warehouse tables with known subjects.

Everything here is written by hand (DDL, rows, request files), independently of the code
under test, so the tests can compute what discovery must find from these rows alone.
"""

import datetime as dt
import json
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
import psycopg2

PG_DDL = """
create table customers (customer_id text primary key, email text, full_name text, phone text,
                        created_at timestamp, updated_at timestamp);
create table orders (order_id text primary key, customer_id text, status text, currency text,
                     amount_cents bigint, created_at timestamp, updated_at timestamp,
                     is_deleted boolean);
create table core_preferences (customer_key text, channel text, preference_state text,
                               updated_ts timestamp);
"""
T0 = dt.datetime(2026, 11, 2, 9, 30)
ALICE = ("C1", "alice@example.com", "Alice Liddell", "+44 20 7946 0001")
BOB = ("C12", "bob@example.com", "Bob Marley", "+44 20 7946 0002")
PG_ROWS: dict[str, list[tuple[Any, ...]]] = {
    "customers": [(*ALICE, T0, T0), (*BOB, T0, T0)],
    "orders": [
        ("O1", "C1", "paid", "EUR", 1250, T0, T0, False),
        ("O2", "C1", "shipped", "EUR", 990, T0, T0, False),
        ("O3", "C12", "paid", "USD", 500, T0, T0, False),
    ],
    "core_preferences": [("C1", "email", "OPT_OUT", T0), ("C12", "sms", "OPT_IN", T0)],
}

WH_DDL = """
create schema if not exists curated; create schema if not exists staging;
create schema if not exists raw;
create table curated.customers_latest (customer_id varchar, email varchar, full_name varchar,
                                       phone varchar, updated_at timestamp);
create table staging.stg_orders (order_id varchar, customer_id varchar, amount_cents bigint);
create table staging.quarantine_orders (source varchar, rule varchar, payload varchar);
create table curated.orders_latest (order_id varchar, customer_id varchar);
create table raw.raw_privacy_events (record varchar, line_no bigint);
"""
WH_ROWS: dict[str, list[tuple[Any, ...]]] = {
    "curated.customers_latest": [(*ALICE, T0), (*BOB, T0)],
    "staging.stg_orders": [("O1", "C1", 1250), ("O3", "C12", 500)],
    "staging.quarantine_orders": [
        ("orders", "amount_cents_non_negative", json.dumps({"customer_id": "C1", "amount": -5})),
        # "C12" contains "C1": a payload of Bob's must not match Alice.
        ("orders", "amount_cents_non_negative", json.dumps({"customer_id": "C12", "amount": -1})),
    ],
    "curated.orders_latest": [("O1", "C1"), ("O2", "C1"), ("O3", "C12")],
    "raw.raw_privacy_events": [
        (json.dumps({"customer_key": "C1", "channel": "email"}), 1),
        (json.dumps({"customer_key": "C12", "channel": "sms"}), 2),
    ],
}


def seed_postgres(dsn: str, ddl: str = PG_DDL, rows: dict | None = None) -> None:
    """Create the source tables and insert `rows` (default `PG_ROWS`)."""
    with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute(ddl)
        for table, values in (PG_ROWS if rows is None else rows).items():
            marks = ", ".join(["%s"] * len(values[0]))
            cur.executemany(f"insert into {table} values ({marks})", values)
    conn.close()


def seed_warehouse(home: Path, ddl: str = WH_DDL, rows: dict | None = None) -> None:
    """Create the warehouse tables and insert `rows` (default `WH_ROWS`); closes the file."""
    home.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(home / "warehouse.duckdb")) as con:
        con.execute(ddl)
        for table, values in (WH_ROWS if rows is None else rows).items():
            marks = ", ".join(["?"] * len(values[0]))
            con.executemany(f"insert into {table} values ({marks})", values)


def warehouse(home: Path, sql: str, params: list | None = None) -> list[tuple]:
    """Rows of one query on the test warehouse (read-only)."""
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def write_request(
    home: Path, request_id: str, kind: str, subject: dict[str, str], received: str
) -> Path:
    """Drop `dsr/requests/<request_id>.json` into the local landing zone."""
    path = home / "landing" / "dsr" / "requests" / f"{request_id}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    body = {"request_id": request_id, "kind": kind, "subject": subject, "received_at": received}
    path.write_text(json.dumps(body))
    return path


def report(home: Path, request_id: str) -> dict[str, Any]:
    """The report as plain JSON (not decoded by the code under test)."""
    return json.loads((home / "landing" / "dsr" / "reports" / f"{request_id}.json").read_text())


def discover(instance: dg.DagsterInstance, request_id: str) -> dg.ExecuteInProcessResult:
    """Add the request's partition and run `discover_dsr_job` for it, in process."""
    from northstar_platform.definitions import build_definitions

    instance.add_dynamic_partitions("dsr_requests", [request_id])
    job = build_definitions().resolve_job_def("discover_dsr_job")
    return job.execute_in_process(partition_key=request_id, instance=instance, raise_on_error=False)


def failure_message(result: dg.ExecuteInProcessResult) -> str:
    """The message of the run's first step failure."""
    for event in result.all_events:
        if event.is_step_failure:
            error, messages = event.step_failure_data.error, []
            while error is not None:
                messages.append(error.message.strip())
                error = error.cause
            return " <- ".join(messages)
    return ""
