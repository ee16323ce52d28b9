"""Shadow mode: the same graph, built into `<layer>_shadow`, leaves production untouched.

One day of orders in a throw-away PostgreSQL database goes through the order slice (daily
export to the landing zone → raw → staging + quarantine → every order dbt model and the bi
views) twice with the range runner (`northstar materialize`'s code path): first in
production, then with `NORTHSTAR_SHADOW=true`. Production's relations, its landing files and
the `bi.fct_*` view definitions must be byte-for-byte what they were before the shadow
build; every production relation must have a `_shadow` twin with the same rows (run
bookkeeping excluded); and the shadow build must write only under the landing zone's
`shadow/` prefix. The expected counts below are worked out by hand from the rows.
"""

import datetime as dt
import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.integration

DAY = "2024-05-02"


def ts(clock: str) -> dt.datetime:
    return dt.datetime.fromisoformat(f"{DAY} {clock}")


ORDERS = [
    ("s-1", "c-1", "paid", "USD", 1000, ts("09:00:00"), ts("09:05:00"), False),
    ("s-2", "c-2", "shipped", "EUR", 2500, ts("10:00:00"), ts("12:00:00"), False),
    # s-1 submitted again 20 s later: a DUPLICATE_ORDER finding in the audit.
    ("s-3", "c-1", "paid", "USD", 1000, ts("09:00:20"), ts("09:05:20"), False),
    ("s-4", "c-3", "pending", "GBP", 700, ts("13:00:00"), ts("13:00:00"), False),
    ("s-5", "c-4", "paid", "USD", 3000, ts("15:00:00"), ts("16:00:00"), True),
    # A negative amount: quarantined, never staged.
    ("s-6", "c-5", "paid", "USD", -5, ts("17:00:00"), ts("17:00:00"), False),
]
RAW_ROWS, STAGED_ROWS, QUARANTINED_ROWS = 6, 5, 1

EXPECTED_RELATIONS = {
    ("raw", "raw_orders"),
    ("staging", "stg_orders"),
    ("staging", "quarantine_orders"),
    ("staging", "quarantine_records"),
    ("staging", "stg_stripe_events"),
    ("staging", "stg_wms_shipments"),
    ("staging", "stg_finance_revenue"),
    ("curated", "customers_latest"),
    ("curated", "orders_latest"),
    ("curated", "payments_latest"),
    ("curated", "shipments_latest"),
    ("curated", "int_revenue_daily"),
    ("audit", "audit_order_mismatches"),
    ("audit", "audit_revenue_variance"),
    ("audit", "audit_publication_gates"),
    ("marts", "fct_orders"),
    ("marts", "fct_daily_revenue"),
    ("marts", "fct_fulfillment"),
    ("bi", "fct_orders"),
    ("bi", "fct_daily_revenue"),
    ("bi", "fct_fulfillment"),
}
"""Relations the slice creates (dbt's sources are created empty before it runs); models added
later join them, so the comparisons below run over whatever production holds."""

BOOKKEEPING = {
    "run_id",
    "source_file",  # the export file is named by its run: run-<uuid>.parquet
    "ingested_ts",  # the file's arrival time
    "quarantined_at",  # = ingested_ts of the held row
    "first_seen_run_id",
    "first_seen_at",
    "last_seen_run_id",
    "last_seen_at",
    "cleared_run_id",
    "cleared_at",
}
"""Who/when built a row: differs between two builds of the same inputs."""


def create_orders(dsn: str, orders: list[tuple]) -> None:
    """`public.orders` with the DESIGN §4 columns, holding `orders`."""
    import psycopg2

    conn = psycopg2.connect(dsn)
    try:
        with conn, conn.cursor() as cur:
            cur.execute(
                "create table public.orders (order_id text primary key, customer_id text, "
                "status text, currency text, amount_cents bigint, created_at timestamp, "
                "updated_at timestamp, is_deleted boolean)"
            )
            cur.executemany(
                "insert into public.orders values (%s, %s, %s, %s, %s, %s, %s, %s)", orders
            )
    finally:
        conn.close()


@contextmanager
def read_only(home: Path) -> Iterator[Any]:
    import duckdb

    con = duckdb.connect(str(home / "warehouse.duckdb"), read_only=True)
    try:
        con.execute("set timezone = 'UTC'")
        yield con
    finally:
        con.close()


def relations(con: Any) -> dict[tuple[str, str], str]:
    """(schema, name) → 'BASE TABLE' or 'VIEW' of every relation outside ops/main."""
    rows = con.execute(
        "select table_schema, table_name, table_type from information_schema.tables "
        "where table_schema not in ('ops', 'main', 'information_schema', 'pg_catalog')"
    ).fetchall()
    return {(s, n): t for s, n, t in rows}


def contents(con: Any, schema: str, name: str, exclude: set[str] = frozenset()) -> list[tuple]:
    """Every row, every column but `exclude`, sorted (NULLs first)."""
    columns = [
        c
        for (c,) in con.execute(
            "select column_name from information_schema.columns where table_schema = ? "
            "and table_name = ? order by ordinal_position",
            [schema, name],
        ).fetchall()
        if c not in exclude
    ]
    select = ", ".join(f'"{c}"' for c in columns)
    rows = con.execute(f'select {select} from "{schema}"."{name}"').fetchall()
    return sorted(rows, key=lambda r: tuple((v is not None, str(v)) for v in r))


def view_sql(con: Any, schema: str) -> dict[str, str]:
    rows = con.execute(
        "select view_name, sql from duckdb_views() where schema_name = ?", [schema]
    ).fetchall()
    return dict(rows)


def landing_files(root: Path) -> dict[str, str]:
    """Relative key → sha256 of every file in the landing folder."""
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def build() -> Any:
    """`materialize_range` of the order slice for DAY, definitions built from the settings."""
    import dagster as dg

    from northstar_platform.definitions import build_definitions
    from northstar_platform.runner import materialize_range

    defs = build_definitions()
    models = dg.AssetSelection.from_string("kind:dbt and not tag:preferences")
    chosen = (dg.AssetSelection.groups("orders").downstream() | models).resolve(
        defs.resolve_asset_graph()
    )
    with dg.DagsterInstance.ephemeral() as instance:
        return materialize_range(defs, instance, [DAY], selection=chosen)


def test_a_shadow_build_mirrors_production_without_touching_it(
    northstar_env: Path, fresh_pg_dsn: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = northstar_env
    no_sync = home.parent / "no_synced_tables.json"
    no_sync.write_text('{"tables": []}')
    monkeypatch.setenv("NORTHSTAR_SYNC_CONFIG", str(no_sync))
    monkeypatch.setenv("NORTHSTAR_SOURCE_DSN", fresh_pg_dsn)
    # One quarantined row of six and no customers: open the gates that would withhold the day.
    monkeypatch.setenv("NORTHSTAR_QUARANTINE_MAX_RATE", "0.5")
    monkeypatch.setenv("NORTHSTAR_DUPLICATE_RATE_LIMIT", "1")
    monkeypatch.setenv("NORTHSTAR_REFERENTIAL_VIOLATION_LIMIT", "1")
    create_orders(fresh_pg_dsn, ORDERS)

    production = build()
    assert production.failures == [] and production.failed_checks == []
    landing = home / "landing"
    with read_only(home) as con:
        before = {key: contents(con, *key) for key in relations(con)}
        bi_before = view_sql(con, "bi")
    files_before = landing_files(landing)
    assert EXPECTED_RELATIONS <= set(before)
    assert [k.split("/")[:4] for k in files_before] == [["orders", "2024", "05", "02"]]

    monkeypatch.setenv("NORTHSTAR_SHADOW", "true")
    shadow = build()
    assert shadow.failures == [] and shadow.failed_checks == []
    # The same graph: the same asset keys, materialized as often.
    assert shadow.materialized == production.materialized

    with read_only(home) as con:
        found = relations(con)
        # 1. Production is exactly what it was, byte for byte, views included.
        assert {k for k in found if not k[0].endswith("_shadow")} == set(before)
        for key, rows in before.items():
            assert contents(con, *key) == rows, f"{key} changed"
        assert view_sql(con, "bi") == bi_before
        # 2. Every production relation has its shadow twin with the same rows.
        assert {k for k in found if k[0].endswith("_shadow")} == {
            (f"{schema}_shadow", name) for schema, name in before
        }
        for schema, name in before:
            assert contents(con, f"{schema}_shadow", name, BOOKKEEPING) == contents(
                con, schema, name, BOOKKEEPING
            ), f"{schema}_shadow.{name} differs from {schema}.{name}"
        counts = {
            t: con.execute(f"select count(*) from staging_shadow.{t}").fetchone()[0]
            for t in ("stg_orders", "quarantine_orders")
        }
        raw = con.execute("select count(*) from raw_shadow.raw_orders").fetchone()[0]
        assert (raw, counts["stg_orders"], counts["quarantine_orders"]) == (
            RAW_ROWS,
            STAGED_ROWS,
            QUARANTINED_ROWS,
        )
        duplicates = con.execute(
            "select order_id from audit_shadow.audit_order_mismatches "
            "where mismatch_type = 'DUPLICATE_ORDER'"
        ).fetchall()
        assert duplicates == [("s-3",)]
        # 3. The shadow BI views read the shadow marts, never production's.
        for name, sql in view_sql(con, "bi_shadow").items():
            assert '"marts_shadow"' in sql or "marts_shadow." in sql, (name, sql)
        # 4. The ops schema is shared: no ops_shadow.
        assert not any(schema == "ops_shadow" for schema, _ in found)

    # 5. The landing zone: production's files untouched, the shadow export under shadow/ only.
    files_after = landing_files(landing)
    new = {k: v for k, v in files_after.items() if k not in files_before}
    assert {k: files_after[k] for k in files_before} == files_before
    assert [k.split("/")[:5] for k in new] == [["shadow", "orders", "2024", "05", "02"]]
