"""Parity of a shadow build with production, then cutover and rollback of the BI views.

Production tables are Python-contract tables written directly (1,000 staged orders, a marts
table of 30 revenue rows) or dbt's order models run on a few staged rows; the shadow build
is a copy (`create table <layer>_shadow.t as select * from <layer>.t`), then altered in one
known way per test. Every expected divergence is worked out by hand in the test.
"""

import datetime as dt
import io
import json
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import dagster as dg
import duckdb
import pyarrow as pa
import pytest
from click.testing import CliRunner
from rich.console import Console

from northstar_platform import cli
from northstar_platform.layers import (
    CUSTOMERS_LATEST_KEYS,
    DBT_SOURCE_TABLES,
    STG_FINANCE_REVENUE,
    STG_ORDERS,
    STG_STRIPE_EVENTS,
    Column,
    Layer,
    Table,
    shadow_schema,
)
from northstar_platform.resources.warehouse import (
    WarehouseResource,
)

ARRIVED = dt.datetime(2026, 3, 3, 6)
START = dt.datetime(2026, 3, 1)
STATUSES = ("paid", "paid", "shipped", "cancelled")  # by order number % 4


def _order(i: int) -> tuple:
    at = START + dt.timedelta(minutes=i)
    return (
        f"o-{i:04d}", f"c-{i % 50}", STATUSES[i % 4], "EUR" if i % 5 == 0 else "USD",
        100 * (i % 20 + 1), at, at, False, "2026-03-01", "orders.parquet", i, ARRIVED, "run-1",
    )  # fmt: skip


def _insert(
    con: duckdb.DuckDBPyConnection, relation: str, columns: Sequence[str], rows: list[tuple]
) -> None:
    """Rows in one statement (through Arrow: `executemany` inserts row by row)."""
    con.register(
        "incoming", pa.Table.from_pylist([dict(zip(columns, r, strict=True)) for r in rows])
    )
    con.execute(f"insert into {relation} select * from incoming")
    con.unregister("incoming")


def _write(con: duckdb.DuckDBPyConnection, table: Table, rows: list[tuple]) -> None:
    con.execute(f"create schema if not exists {table.layer.value}")
    con.execute(table.create_sql())
    _insert(con, table.qualified, table.column_names, rows)


def _copy_to_shadow(con: duckdb.DuckDBPyConnection, layers: tuple[str, ...]) -> None:
    """The shadow build: every base table of `layers` copied into `<layer>_shadow`."""
    tables = con.execute(
        "select schema_name, table_name from duckdb_tables() where schema_name in "
        f"({', '.join('?' for _ in layers)})",
        list(layers),
    ).fetchall()
    for layer, table in tables:
        con.execute(f"create schema if not exists {shadow_schema(layer)}")
        con.execute(
            f"create or replace table {shadow_schema(layer)}.{table} as "
            f"select * from {layer}.{table}"
        )


ORDERS = [_order(i) for i in range(1000)]
REVENUE = [
    (dt.date(2026, 3, 1) + dt.timedelta(days=k), "USD", 10, 1000 * (k + 1)) for k in range(30)
]


@pytest.fixture
def warehouse(northstar_env: Path) -> Path:
    """Production: 1,000 staged orders, 100 Stripe events, a 30-row marts table; the shadow
    build a copy, its run ids different (bookkeeping: not compared)."""
    northstar_env.mkdir(parents=True)
    path = northstar_env / "warehouse.duckdb"
    with duckdb.connect(str(path)) as con:
        _write(con, STG_ORDERS, ORDERS)
        events = [
            (f"evt_{n}", "charge.succeeded", START + dt.timedelta(seconds=n), f"ch_{n}", 500 + n,
             "usd", "succeeded", f"o-{n:04d}", 1, "2026-03-01", "s.jsonl", n, ARRIVED, "run-1")
            for n in range(100)
        ]  # fmt: skip
        _write(con, STG_STRIPE_EVENTS, events)
        con.execute("create schema marts")
        con.execute(
            "create table marts.fct_daily_revenue (business_date date, currency varchar, "
            "orders bigint, gross_revenue_cents bigint)"
        )
        columns = ("business_date", "currency", "orders", "gross_revenue_cents")
        _insert(con, "marts.fct_daily_revenue", columns, REVENUE)
        _copy_to_shadow(con, ("staging", "marts"))
        con.execute("update staging_shadow.stg_orders set run_id = 'run-2'")
    return path


@pytest.fixture
def dbt_manifest_parsed() -> None:
    """dbt/target/manifest.json, parsed if stale: `@dbt_assets` and the parity keys read it."""
    from northstar_platform.defs.dbt_project import ensure_manifest

    ensure_manifest()


def _northstar(*args: str) -> tuple[int, str]:
    """Exit code and printed text of one `northstar` command, run in process."""
    out = io.StringIO()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(cli, "console", Console(file=out, width=400, highlight=False))
        result = CliRunner().invoke(cli.main, list(args))
    return result.exit_code, out.getvalue() + result.output


def _parity(*args: str) -> tuple[int, str]:
    return _northstar("parity", *args)


def _report(path: Path) -> list[tuple]:
    """The newest report's rows: (table, metric, production, shadow, divergence, passed)."""
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(
            "select table_name, metric, production_value, shadow_value, divergence, passed "
            "from ops.parity_report where report_id = (select report_id from ops.parity_report "
            "order by compared_at desc limit 1) order by table_name, metric"
        ).fetchall()


def _failed(path: Path) -> dict[tuple[str, str], float]:
    return {(t, m): d for t, m, _, _, d, passed in _report(path) if not passed}


def test_an_identical_shadow_build_passes_and_every_metric_is_recorded(
    warehouse: Path, dbt_manifest_parsed: None
) -> None:
    code, output = _parity()
    assert code == 0, output
    assert "verdict: PASS, all 3 tables within thresholds" in output
    rows = _report(warehouse)
    assert all(passed for *_, passed in rows)
    assert {t for t, *_ in rows} == {
        "marts.fct_daily_revenue",
        "staging.stg_orders",
        "staging.stg_stripe_events",
    }
    revenue = [(m, p, s, d) for t, m, p, s, d, _ in rows if t == "marts.fct_daily_revenue"]
    # key from the manifest's unique_combination test; numbers and the date by KS (+ NULL
    # share), the currency by TVD; 30 rows, nothing differs
    assert revenue == sorted([
        ("columns", 4, 4, 0), ("row_count", 30, 30, 0),
        ("distinct_keys(business_date, currency)", 30, 30, 0),
        ("ks:business_date", 30, 30, 0), ("null_share:business_date", 0, 0, 0),
        ("tvd:currency", 30, 30, 0),
        ("ks:orders", 30, 30, 0), ("null_share:orders", 0, 0, 0),
        ("ks:gross_revenue_cents", 30, 30, 0), ("null_share:gross_revenue_cents", 0, 0, 0),
    ])  # fmt: skip
    orders = {m for t, m, *_ in rows if t == "staging.stg_orders"}
    assert "distinct_keys(order_id, updated_at)" in orders
    assert not {m for m in orders if "run_id" in m}, "bookkeeping columns are not compared"
    assert "tvd:order_id" in orders and "ks:line_no" in orders


def test_a_shadow_build_missing_one_percent_of_rows_fails_on_counts(warehouse: Path) -> None:
    with duckdb.connect(str(warehouse)) as con:
        con.execute("delete from staging_shadow.stg_orders where line_no % 100 = 7")  # 10 rows
    code, output = _parity()
    assert code == 1
    assert _failed(warehouse) == {
        ("staging.stg_orders", "row_count"): 10 / 1000,
        ("staging.stg_orders", "distinct_keys(order_id, updated_at)"): 10 / 1000,
    }
    assert "FAIL  staging.stg_orders" in output and "PASS  marts.fct_daily_revenue" in output
    assert "verdict: FAIL, 1 of 3 tables: staging.stg_orders" in output


def test_a_shifted_numeric_column_fails_on_its_ks_statistic(warehouse: Path) -> None:
    # Production 1000, 2000, ..., 30000; shadow each + 1500 → 2500, 3500, ..., 31500. At
    # x = 2000 production has 2 values at or below, shadow 0; at every 1000·m, m of 30 vs
    # m - 2: the CDFs are 2/30 apart at most (at 2500 + 1000·j only 1/30).
    with duckdb.connect(str(warehouse)) as con:
        con.execute(
            "update marts_shadow.fct_daily_revenue "
            "set gross_revenue_cents = gross_revenue_cents + 1500"
        )
    code, _ = _parity("--table", "marts.fct_daily_revenue")
    assert code == 1
    failed = _failed(warehouse)
    assert failed.keys() == {("marts.fct_daily_revenue", "ks:gross_revenue_cents")}
    assert failed["marts.fct_daily_revenue", "ks:gross_revenue_cents"] == pytest.approx(2 / 30)


def test_changed_category_shares_fail_on_total_variation(warehouse: Path) -> None:
    # 30 of the 500 'paid' orders become 'cancelled': paid 500 → 470, cancelled 250 → 280;
    # TVD = ½ (|0.50 - 0.47| + |0.25 - 0.28|) = 0.03.
    with duckdb.connect(str(warehouse)) as con:
        con.execute(
            "update staging_shadow.stg_orders set status = 'cancelled' "
            "where status = 'paid' and line_no < 60"
        )
        [(paid,)] = con.execute(
            "select count(*) from staging.stg_orders where status = 'paid' and line_no < 60"
        ).fetchall()
    assert paid == 30  # line_no 0..59: numbers ≡ 0, 1 (mod 4)
    code, output = _parity()
    assert code == 1
    assert _failed(warehouse) == {("staging.stg_orders", "tvd:status"): pytest.approx(0.03)}
    assert "tvd:status 1000 vs 1000: divergence 0.03 (threshold 0.01)" in output


def test_a_table_missing_from_the_shadow_build_fails_with_that_reason(warehouse: Path) -> None:
    with duckdb.connect(str(warehouse)) as con:
        con.execute("drop table staging_shadow.stg_stripe_events")
    code, _ = _parity()
    assert code == 1
    assert _failed(warehouse) == {("staging.stg_stripe_events", "missing_in_shadow"): 1.0}
    assert _parity("--table", "nowhere.fct_orders")[0] == 2


def test_the_parity_job_records_a_report_and_its_blocking_check_judges_it(
    warehouse: Path, dbt_manifest_parsed: None
) -> None:
    from northstar_platform.definitions import build_definitions

    job = build_definitions().resolve_job_def("check_shadow_parity_job")
    with dg.DagsterInstance.ephemeral() as instance:
        result = job.execute_in_process(instance=instance)
        [check] = result.get_asset_check_evaluations()
        assert result.success and check.passed
        with duckdb.connect(str(warehouse)) as con:
            con.execute(
                "update marts_shadow.fct_daily_revenue set currency = 'EUR' "
                "where business_date < '2026-03-04'"
            )
        result = job.execute_in_process(instance=instance, raise_on_error=False)
        [check] = result.get_asset_check_evaluations()
        [materialization] = result.asset_materializations_for_node("ops__parity_report")
    # 3 of 30 rows' currency changed: TVD = ½ (|1 - 27/30| + |0 - 3/30|) = 0.1
    assert not check.passed and check.metadata["observed"].value == 1
    assert check.metadata["failed_tables"].value == "marts.fct_daily_revenue"
    assert "verdict: FAIL" in materialization.metadata["summary"].value
    assert _failed(warehouse) == {("marts.fct_daily_revenue", "tvd:currency"): pytest.approx(0.1)}
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert con.execute(
            "select count(distinct report_id) from ops.parity_report"
        ).fetchall() == [(2,)]


# --- cutover and rollback over dbt's marts and bi views ----------------------------------

D1, D2 = "2026-03-01", "2026-03-02"
BI_VIEWS = ("fct_orders", "fct_daily_revenue", "fct_fulfillment")


def _dbt_run(home: Path, select: str) -> None:
    dbt = Path(sys.executable).parent / "dbt"
    repo = Path(__file__).resolve().parents[2]
    env = {
        **os.environ,
        "DBT_DUCKDB_PATH": str(home / "warehouse.duckdb"),
        "NORTHSTAR_DBT_TARGET": "duckdb",
    }
    done = subprocess.run(
        [str(dbt), "run", "--project-dir", str(repo / "dbt"), "--profiles-dir", str(repo / "dbt"),
         "--select", select, "--vars", json.dumps({"min_date": D1, "max_date": "2026-03-03"})],
        env=env, capture_output=True, text=True, check=False, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:]


def _views(path: Path) -> tuple[list[tuple], list[tuple]]:
    """(definition of each bi view, every row of bi.fct_orders)."""
    with duckdb.connect(str(path), read_only=True) as con:
        definitions = con.execute(
            "select view_name, sql from duckdb_views() where schema_name = 'bi' order by 1"
        ).fetchall()
        rows = con.execute("select * from bi.fct_orders order by order_id").fetchall()
    return definitions, rows


def _corrections(path: Path) -> list[tuple]:
    with duckdb.connect(str(path), read_only=True) as con:
        if not con.execute(
            "select count(*) from duckdb_tables() where table_name = 'audit_corrections'"
        ).fetchone()[0]:
            return []
        return con.execute(
            "select kind, trigger, asset_key, input_fingerprints, output_fingerprints, note "
            "from ops.audit_corrections order by recorded_at"
        ).fetchall()


@pytest.fixture
def built(northstar_env: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """dbt's order models and bi views over two paid orders per date, and a shadow copy."""
    northstar_env.mkdir(parents=True)
    path = northstar_env / "warehouse.duckdb"
    orders, events = [], []
    for n, (oid, day, clock, cents) in enumerate(
        [("p-1", D1, "09:00", 40_000), ("p-2", D1, "10:00", 60_000),
         ("p-3", D2, "09:00", 50_000), ("p-4", D2, "10:00", 50_000)], start=1
    ):  # fmt: skip
        at = dt.datetime.fromisoformat(f"{day} {clock}")
        orders.append(
            (oid, f"c-{n}", "paid", "USD", cents, at, at, False, day, "o.parquet", n, ARRIVED, "r")
        )
        paid = at + dt.timedelta(minutes=1)
        events.append((f"evt_{n}", "charge.succeeded", paid, f"ch_{n}", cents, "usd",
                       "succeeded", oid, 1, day, "s.jsonl", n, ARRIVED, "r"))  # fmt: skip
    finance = [
        (dt.date.fromisoformat(d), "USD", 100_000, 1, d, "f.csv", 1, ARRIVED, "r") for d in (D1, D2)
    ]
    with duckdb.connect(str(path)) as con:
        for table in (*DBT_SOURCE_TABLES, CUSTOMERS_LATEST_KEYS):
            con.execute(f"create schema if not exists {table.layer.value}")
            con.execute(table.create_sql())
        _write(con, STG_ORDERS, orders)
        _write(con, STG_STRIPE_EVENTS, events)
        _write(con, STG_FINANCE_REVENUE, finance)
        _write(con, CUSTOMERS_LATEST_KEYS, [(f"c-{n}",) for n in range(1, 5)])
    _dbt_run(northstar_env, "+bi_fct_orders +bi_fct_daily_revenue +bi_fct_fulfillment")
    with duckdb.connect(str(path)) as con:
        _copy_to_shadow(con, ("staging", "curated", "audit", "marts"))
    # Four orders: one changed timestamp is a KS statistic of 1/4 on that column.
    monkeypatch.setenv("NORTHSTAR_PARITY_DIVERGENCE_TOLERANCE", "0.25")
    return path


def test_cutover_follows_a_passing_report_survives_dbt_and_rolls_back_exactly(built: Path) -> None:
    original = _views(built)
    assert [v for v, _ in original[0]] == sorted(BI_VIEWS)
    assert [r[0] for r in original[1]] == ["p-1", "p-2", "p-3", "p-4"]

    # A failing latest report: the cutover is refused and nothing is recorded or repointed.
    with duckdb.connect(str(built)) as con:
        con.execute("delete from marts_shadow.fct_orders where order_id = 'p-4'")
    assert _parity()[0] == 1
    code, refused = _northstar("cutover", "--by", "alice")
    assert code == 1
    assert "marts.fct_orders" in refused and "marts.fct_daily_revenue" not in refused
    assert _views(built) == original and _corrections(built) == []

    # A harmless difference (p-4 updated a microsecond later) passes; the cutover repoints.
    with duckdb.connect(str(built)) as con:
        con.execute(
            "insert into marts_shadow.fct_orders "
            "select * from marts.fct_orders where order_id = 'p-4'"
        )
        con.execute(
            "update marts_shadow.fct_orders "
            "set updated_at = updated_at + interval 1 microsecond where order_id = 'p-4'"
        )
        [(shadow_updated,)] = con.execute(
            "select updated_at from marts_shadow.fct_orders where order_id = 'p-4'"
        ).fetchall()
    code, output = _parity()
    assert code == 0, output
    code, output = _northstar("cutover", "--by", "alice")
    assert code == 0, output

    def on_shadow() -> None:
        definitions, rows = _views(built)
        assert [sql for _, sql in definitions] == [
            f"CREATE VIEW bi.{v} AS SELECT * FROM marts_shadow.{v};" for v in sorted(BI_VIEWS)
        ]
        assert [r[0] for r in rows] == ["p-1", "p-2", "p-3", "p-4"]
        assert rows[3][7] == shadow_updated != original[1][3][7]

    on_shadow()
    _dbt_run(built.parent, "bi_fct_orders bi_fct_daily_revenue bi_fct_fulfillment")
    on_shadow()

    code, output = _northstar("rollback", "--by", "bob")
    assert code == 0, output
    assert _views(built) == original
    code, output = _northstar("rollback", "--by", "bob")
    assert code == 0 and "nothing is cut over" in output

    recorded = _corrections(built)
    assert [(k, t, a) for k, t, a, *_ in recorded] == [
        ("CUTOVER", "person:alice", "bi/fct_orders,bi/fct_daily_revenue,bi/fct_fulfillment"),
        ("ROLLBACK", "person:bob", "bi/fct_orders,bi/fct_daily_revenue,bi/fct_fulfillment"),
    ]
    (_, _, _, cut_in, cut_out, note), (_, _, _, back_in, back_out, _) = recorded
    relations = lambda value: [(f["relation"], f["rows"]) for f in json.loads(value)]  # noqa: E731
    marts = [("marts.fct_orders", 4), ("marts.fct_daily_revenue", 2), ("marts.fct_fulfillment", 0)]
    shadow = [(f"marts_shadow.{r.split('.')[1]}", n) for r, n in marts]
    assert relations(cut_in) == marts and relations(cut_out) == shadow
    assert relations(back_in) == shadow and relations(back_out) == marts
    assert json.loads(cut_in) == json.loads(back_out)  # production's marts did not change
    assert json.loads(cut_in)[0]["content_hash"] != json.loads(cut_out)[0]["content_hash"]
    assert "parity report" in note


# --- the same SQL on Snowflake's dialect ---------------------------------------------------


REVENUE_TABLE = Table(
    Layer.MARTS,
    "fct_daily_revenue",
    (
        Column("business_date", "DATE"),
        Column("currency", "VARCHAR"),
        Column("orders", "BIGINT"),
        Column("gross_revenue_cents", "BIGINT"),
    ),
)


def test_the_metrics_are_the_same_on_snowflake(either_warehouse: WarehouseResource) -> None:
    from northstar_platform.parity import compare_table

    columns = REVENUE_TABLE.column_names
    with either_warehouse.connect() as session:
        session.ensure_table(REVENUE_TABLE)
        session.insert_arrow(
            REVENUE_TABLE,
            pa.Table.from_pylist([dict(zip(columns, r, strict=True)) for r in REVENUE]),
        )
        session.execute("create schema if not exists marts_shadow")
        session.execute(
            "create table marts_shadow.fct_daily_revenue as select * from marts.fct_daily_revenue"
        )
        # as in the KS test: + 1500 on every value → 2/30; two of 30 currencies NULL → TVD
        # ½ (|1 - 28/30| + |0 - 2/30|) = 2/30
        session.execute(
            "update marts_shadow.fct_daily_revenue "
            "set gross_revenue_cents = gross_revenue_cents + 1500"
        )
        session.execute(
            "update marts_shadow.fct_daily_revenue set currency = null where orders = 10 "
            "and business_date > ?",
            (dt.date(2026, 3, 28),),
        )
        metrics = compare_table(
            session, "marts.fct_daily_revenue", ("business_date", "currency"), 0.005, 0.01
        )
    failed = {m.metric: m.divergence for m in metrics if not m.passed}
    assert failed == {
        "ks:gross_revenue_cents": pytest.approx(2 / 30),
        "tvd:currency": pytest.approx(2 / 30),
    }
    assert len(metrics) == 10 and {m.metric for m in metrics if m.passed} == {
        "columns", "row_count", "distinct_keys(business_date, currency)", "ks:business_date",
        "null_share:business_date", "ks:orders", "null_share:orders",
        "null_share:gross_revenue_cents",
    }  # fmt: skip
