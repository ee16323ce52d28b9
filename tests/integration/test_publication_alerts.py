"""Through Dagster: a date whose revenue is off finance is withheld, and says so everywhere.

Two business dates of paid orders, each with its Stripe payment; finance agrees with the first
and is 1% off on the second. One `materialize_range` of the dbt models (as `northstar
materialize` runs them) must publish the first date only, fail the blocking check
`revenue_variance_within_limit` naming the second date with its observed ratio and the
threshold, and write exactly one alert for it to `ops.pipeline_alert_log` and the JSON-lines
sink, with a link to the run.
"""

import datetime as dt
import json
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from northstar_platform.layers import (
    CUSTOMERS_LATEST_KEYS,
    STG_FINANCE_REVENUE,
    STG_ORDERS,
    STG_STRIPE_EVENTS,
    Table,
)

D1, D2 = "2026-03-01", "2026-03-02"
ARRIVED = dt.datetime(2026, 3, 3, 6)


def at(day: str, clock: str) -> dt.datetime:
    return dt.datetime.fromisoformat(f"{day} {clock}")


ORDERS = [
    # order_id, customer, created (= updated), USD cents
    ("p-1", "c-1", at(D1, "09:00:00"), 40_000),
    ("p-2", "c-2", at(D1, "10:00:00"), 60_000),
    ("p-3", "c-3", at(D2, "09:00:00"), 50_000),
    ("p-4", "c-4", at(D2, "10:00:00"), 50_000),
]
FINANCE = {D1: 100_000, D2: 101_000}  # D2: 1,000 cents off 100,000 of orders = 0.99%


def _rows() -> list[tuple[Table, list[tuple]]]:
    orders, events = [], []
    for n, (oid, cust, created, cents) in enumerate(ORDERS, start=1):
        day = created.date().isoformat()
        orders.append(
            (
                oid,
                cust,
                "paid",
                "USD",
                cents,
                created,
                created,
                False,
                day,
                "o.parquet",
                n,
                ARRIVED,
                "r",
            )
        )
        paid = created + dt.timedelta(minutes=1)
        events.append(
            (f"evt_{n}", "charge.succeeded", paid, f"ch_{n}", cents, "usd", "succeeded", oid, 1,
             day, "s.jsonl", n, ARRIVED, "r")
        )  # fmt: skip
    finance = [
        (dt.date.fromisoformat(d), "USD", cents, 1, d, "f.csv", 1, ARRIVED, "r")
        for d, cents in FINANCE.items()
    ]
    customers = [(cust,) for _, cust, _, _ in ORDERS]
    return [
        (STG_ORDERS, orders),
        (STG_STRIPE_EVENTS, events),
        (STG_FINANCE_REVENUE, finance),
        (CUSTOMERS_LATEST_KEYS, customers),
    ]


@pytest.fixture
def materialized(northstar_env: Path, dbt_manifest_parsed: None):
    """The staging rows in the settings' warehouse, then the dbt models over D1..D2."""
    from northstar_platform.definitions import build_definitions
    from northstar_platform.runner import materialize_range

    northstar_env.mkdir(parents=True)
    with duckdb.connect(str(northstar_env / "warehouse.duckdb")) as con:
        for table, rows in _rows():
            con.execute(f"create schema if not exists {table.layer.value}")
            con.execute(table.create_sql())
            marks = ", ".join("?" for _ in table.columns)
            con.executemany(f"insert into {table.qualified} values ({marks})", rows)
    defs = build_definitions()
    models = dg.AssetSelection.from_string("kind:dbt and not tag:preferences").resolve(
        defs.resolve_asset_graph()
    )
    with dg.DagsterInstance.ephemeral() as instance:
        report = materialize_range(defs, instance, [D1, D2], selection=models)
    return report, northstar_env


@pytest.fixture
def dbt_manifest_parsed() -> None:
    """`@dbt_assets` reads dbt/target/manifest.json at import: parse the project if stale."""
    from northstar_platform.defs.dbt_project import ensure_manifest

    ensure_manifest()


def test_the_over_limit_date_is_withheld_and_alerted_once(materialized) -> None:
    report, home = materialized
    failed = [(c.asset, c.check) for c in report.failed_checks]
    assert failed == [("audit/audit_revenue_variance", "revenue_variance_within_limit")]
    [check] = report.failed_checks
    assert check.partition == f"{D1}..{D2}"
    assert check.metadata["withheld_dates"] == D2
    assert check.metadata["observed"] == pytest.approx(1_000 / 101_000)
    assert check.metadata["threshold"] == pytest.approx(0.0005)
    assert D2 in check.metadata["why"] and "USD" in check.metadata["why"][D2]

    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        published = con.execute(
            "select cast(business_date as varchar), currency, orders, gross_revenue_cents "
            "from bi.fct_daily_revenue order by 1"
        ).fetchall()
        orders = con.execute("select order_id from bi.fct_orders order by 1").fetchall()
        alerts = con.execute(
            "select kind, asset_key, partition_key, check_name, observed, threshold, run_url, "
            "message from ops.pipeline_alert_log"
        ).fetchall()
    assert published == [(D1, "USD", 2, 100_000)]
    assert orders == [("p-1",), ("p-2",)]

    [(kind, asset, partition, name, observed, threshold, url, message)] = alerts
    assert (kind, asset, partition, name) == (
        "check_failed",
        "audit/audit_revenue_variance",
        f"{D1}..{D2}",
        "revenue_variance_within_limit",
    )
    assert float(observed) == pytest.approx(1_000 / 101_000)
    assert float(threshold) == pytest.approx(0.0005)
    assert url.startswith("http://127.0.0.1:3000/runs/") and D2 in message

    lines = (home / "alerts" / "alerts.jsonl").read_text().splitlines()
    assert [json.loads(line)["check_name"] for line in lines] == ["revenue_variance_within_limit"]
    assert json.loads(lines[0])["run_url"] == url
