"""`northstar verify-reproducible`: a stored partition rebuilt from its inputs, and compared.

A day of orders in a throw-away PostgreSQL database is materialized (export → raw → staging
+ quarantine, and the order dbt models) into a Dagster instance under
DAGSTER_HOME, as `northstar materialize` does. Then the command, run in process through its
click entry point:

- passes on the untouched partition, for a Python asset (staging: stg_orders and its
  quarantine, rebuilt from raw) and a dbt model (the order audit, rebuilt from staging);
- fails once one stored input row is altered — an amount in raw for staging, an order's
  creation time in orders_latest for the audit — naming the rows only one side has;
- names an unknown asset, a key that is no partition, a partition never materialized (exit 2);
- leaves no `_verify` schema and production as it was.

Expected rows are worked out by hand from ORDERS below.
"""

import datetime as dt
import io
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.integration

DAY = "2024-06-03"


def ts(clock: str) -> dt.datetime:
    return dt.datetime.fromisoformat(f"{DAY} {clock}")


ORDERS = [
    ("v-1", "c-1", "paid", "USD", 1000, ts("09:00:00"), ts("09:05:00"), False),
    # v-1 again 30 s later: the audit's one DUPLICATE_ORDER of the day.
    ("v-2", "c-1", "paid", "USD", 1000, ts("09:00:30"), ts("09:05:30"), False),
    ("v-3", "c-2", "pending", "EUR", 2500, ts("10:00:00"), ts("10:00:00"), False),
    # A currency outside the contract: quarantined.
    ("v-4", "c-3", "paid", "usd", 700, ts("11:00:00"), ts("11:00:00"), False),
]


def create_orders(dsn: str) -> None:
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
                "insert into public.orders values (%s, %s, %s, %s, %s, %s, %s, %s)", ORDERS
            )
    finally:
        conn.close()


@contextmanager
def warehouse(home: Path, read_only: bool = True) -> Iterator[Any]:
    import duckdb

    con = duckdb.connect(str(home / "warehouse.duckdb"), read_only=read_only)
    try:
        con.execute("set timezone = 'UTC'")
        yield con
    finally:
        con.close()


def verify(monkeypatch: pytest.MonkeyPatch, *args: str) -> tuple[int, str]:
    """`northstar verify-reproducible ARGS` in process: (exit code, what it printed)."""
    from click.testing import CliRunner
    from rich.console import Console

    from northstar_platform import cli

    out = io.StringIO()
    monkeypatch.setattr(cli, "console", Console(file=out, width=400, highlight=False))
    result = CliRunner().invoke(cli.main, ["verify-reproducible", *args])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, out.getvalue()


def scratch_schemas(home: Path) -> list[str]:
    with warehouse(home) as con:
        rows = con.execute(
            "select schema_name from information_schema.schemata where schema_name like '%verify'"
        ).fetchall()
    return [r[0] for r in rows]


def hashes(output: str, relation: str) -> tuple[str, str]:
    """(stored, rebuilt) `rows=N sha256=H` of one relation in the verdict."""
    block = output.split(f"{relation}  ", 1)[1]
    found = re.findall(r"(stored|rebuilt)\s+(rows=\d+\s+sha256=[0-9a-f]{64})", block)[:2]
    assert [side for side, _ in found] == ["stored", "rebuilt"], output
    return re.sub(r"\s+", " ", found[0][1]), re.sub(r"\s+", " ", found[1][1])


@pytest.fixture
def materialized(northstar_env: Path, fresh_pg_dsn: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    """DAY of ORDERS through the order slice, recorded in the instance under DAGSTER_HOME."""
    import dagster as dg

    from northstar_platform import launch
    from northstar_platform.definitions import build_definitions
    from northstar_platform.runner import materialize_range
    from northstar_platform.settings import get_settings

    home = northstar_env
    no_sync = home.parent / "no_synced_tables.json"
    no_sync.write_text('{"tables": []}')
    monkeypatch.setenv("NORTHSTAR_SYNC_CONFIG", str(no_sync))
    monkeypatch.setenv("NORTHSTAR_SOURCE_DSN", fresh_pg_dsn)
    # One held row of four, a duplicate among three orders, no customers: open those gates.
    monkeypatch.setenv("NORTHSTAR_QUARANTINE_MAX_RATE", "0.5")
    monkeypatch.setenv("NORTHSTAR_DUPLICATE_RATE_LIMIT", "1")
    monkeypatch.setenv("NORTHSTAR_REFERENTIAL_VIOLATION_LIMIT", "1")
    create_orders(fresh_pg_dsn)
    settings = get_settings()
    launch.prepare_environment(settings)
    defs = build_definitions(settings)
    models = dg.AssetSelection.from_string("kind:dbt and not tag:preferences")
    keys = (dg.AssetSelection.groups("orders").downstream() | models).resolve(
        defs.resolve_asset_graph()
    )
    with dg.DagsterInstance.get() as instance:
        report = materialize_range(defs, instance, [DAY], selection=keys)
    assert report.failures == [] and report.failed_checks == []
    return home


def test_an_untouched_partition_reproduces_and_an_altered_input_does_not(
    materialized: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = materialized
    with warehouse(home) as con:
        staged_before = con.execute(
            "select order_id, amount_cents from staging.stg_orders order by 1"
        ).fetchall()
    assert staged_before == [("v-1", 1000), ("v-2", 1000), ("v-3", 2500)]

    # 1. Untouched: the staging step (two relations) and the dbt audit reproduce.
    code, out = verify(monkeypatch, "staging/stg_orders", DAY)
    assert code == 0, out
    assert hashes(out, "staging.stg_orders")[0].startswith("rows=3 ")
    assert len(set(hashes(out, "staging.stg_orders"))) == 1
    assert hashes(out, "staging.quarantine_orders")[0].startswith("rows=1 ")
    assert len(set(hashes(out, "staging.quarantine_orders"))) == 1
    assert "REPRODUCIBLE: 2 relation(s) match" in out
    assert re.search(r"code version: \S+ \(dbt manifest [0-9a-f]{12}\)", out), out

    code, out = verify(monkeypatch, "audit/audit_order_mismatches", DAY)
    assert code == 0, out
    stored, rebuilt = hashes(out, "audit.audit_order_mismatches")
    # v-1 MISSING_PAYMENT (paid, no Stripe event), v-2 DUPLICATE_ORDER (the first class wins).
    assert stored == rebuilt and stored.startswith("rows=2 ")
    assert "dbt model audit_order_mismatches" in out
    assert scratch_schemas(home) == []

    # Usage errors: one line naming the asset or the partition, exit 2.
    code, out = verify(monkeypatch, "staging/stg_nothing", DAY)
    assert (code, out.strip()) == (
        2,
        "error: unknown asset 'staging/stg_nothing'; give a key such as staging/stg_orders",
    )
    code, out = verify(monkeypatch, "staging/stg_orders", "2024-06-04")
    assert code == 2
    assert "staging/stg_orders was never materialized for partition 2024-06-04" in out
    code, out = verify(monkeypatch, "staging/stg_orders", "June")
    assert code == 2
    assert "'June' is not a partition of staging/stg_orders" in out

    # 2. One raw amount altered: staging rebuilt from raw no longer equals what is stored.
    with warehouse(home, read_only=False) as con:
        con.execute("update raw.raw_orders set amount_cents = 1234 where order_id = 'v-3'")
    code, out = verify(monkeypatch, "staging/stg_orders", DAY)
    assert code == 1, out
    assert "staging.stg_orders  MISMATCH" in out
    assert "staging.quarantine_orders  MATCH" in out
    stored_part, rebuilt_part = out.split("row(s) only in stored")[1].split(
        "row(s) only in rebuilt"
    )
    assert "order_id=v-3" in stored_part and "amount_cents=2500" in stored_part
    assert "order_id=v-3" in rebuilt_part and "amount_cents=1234" in rebuilt_part
    assert "NOT REPRODUCIBLE: staging.stg_orders" in out

    # 3. v-2 moved 2 minutes away from v-1 in the audit's input (curated.orders_latest): no
    #    longer a duplicate, v-2 is now a paid order without payment, like v-1.
    with warehouse(home, read_only=False) as con:
        con.execute(
            "update curated.orders_latest set created_at = created_at + interval 2 minute "
            "where order_id = 'v-2'"
        )
    code, out = verify(monkeypatch, "audit/audit_order_mismatches", DAY)
    assert code == 1, out
    stored_part, rebuilt_part = out.split("1 row(s) only in stored")[1].split(
        "1 row(s) only in rebuilt"
    )
    assert "order_id=v-2, mismatch_type=DUPLICATE_ORDER" in stored_part, out
    assert "order_id=v-2, mismatch_type=MISSING_PAYMENT" in rebuilt_part, out

    # Nothing of the verifications stays behind; production is what the test made it.
    assert scratch_schemas(home) == []
    with warehouse(home) as con:
        assert (
            con.execute(
                "select order_id, amount_cents from staging.stg_orders order by 1"
            ).fetchall()
            == staged_before
        )
        views = con.execute(
            "select count(*) from duckdb_views() where view_name = 'quarantine_records' "
            "and schema_name = 'staging' and sql like '%staging%quarantine_orders%'"
        ).fetchone()
        assert views == (1,)
