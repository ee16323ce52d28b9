"""`northstar demo` on the production profile, as far as this machine can go.

One demo day runs with every production part swapped in, none of them mocked:
- the Dagster instance on PostgreSQL (`deploy/dagster.production.yaml` through
  dagster-postgres: runs, event log, schedules) in a database of its own;
- the warehouse in Snowflake's dialect: Python steps through the Snowflake connector and
  dagster-snowflake, dbt through dbt-snowflake, both against fakesnow's server on loopback;
- the landing zone in an S3 bucket on a moto server (dagster-aws).

The stack and its demo run in the background from the end of collection
(`tests/production_stack.py`, `tests/background.py`); these tests wait for it. Expectations
come from the generator's manifest and from SQL over the source PostgreSQL (`demo_truth.py`),
never from the platform's code.
"""

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import background
import boto3
import production_stack
import psycopg2
import pytest
import snowflake.connector
from demo_truth import REVENUE, RULES

pytestmark = pytest.mark.production

REPO = Path(__file__).resolve().parents[2]
DAY = production_stack.DAY


@dataclass(frozen=True)
class ProductionDemo:
    result: subprocess.CompletedProcess[str]
    env: dict[str, str]
    home: Path
    source_dsn: str
    instance_dsn: str
    bucket: str
    emulator: dict[str, Any]
    database: str
    s3: Any
    """A boto3 client of the stack's S3 server."""

    def warehouse(self, sql: str) -> list[tuple[Any, ...]]:
        """Rows of one query on the demo's Snowflake database (the emulator)."""
        with snowflake.connector.connect(**self.emulator, database=self.database) as con:
            cur = con.cursor()
            cur.execute(sql)
            return [tuple(r) for r in cur.fetchall()]


def _pg(dsn: str, sql: str) -> list[tuple[Any, ...]]:
    with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute(sql)
        return cur.fetchall()


@pytest.fixture(scope="module")
def demo(pg_dsn_base: str) -> ProductionDemo:
    """The demo on the production stack (`tests/production_stack.py`), started in the
    background when collection ended; the stack serves until the session ends."""
    background.start_production(pg_dsn_base)
    stack, result = background.production_result()
    s3 = boto3.client(
        "s3",
        endpoint_url=stack["s3"],
        region_name=production_stack.AWS["AWS_DEFAULT_REGION"],
        aws_access_key_id=production_stack.AWS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=production_stack.AWS["AWS_SECRET_ACCESS_KEY"],
    )
    return ProductionDemo(
        result,
        stack["env"],
        Path(stack["home"]),
        stack["source_dsn"],
        stack["instance_dsn"],
        stack["bucket"],
        stack["emulator"],
        stack["database"],
        s3,
    )


def test_the_demo_passes_on_the_production_profile(demo: ProductionDemo) -> None:
    result = demo.result
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    manifest = json.loads((demo.home / "demo" / "manifest.json").read_text())
    built = [line for line in result.stdout.splitlines() if "built detectors match" in line]
    assert len(built) == 1, result.stdout[-2000:]
    matched, _, total = built[0].split(" ")[0].partition("/")
    assert matched == total and int(total) >= len(manifest["defects"]) - 3, built[0]
    assert "0 gate outcome(s) differ" in built[0]
    assert "Traceback" not in result.stdout + result.stderr


def test_runs_events_and_schedules_live_in_postgresql(demo: ProductionDemo) -> None:
    assert demo.result.returncode == 0
    # Nothing of the instance on local disk: no SQLite run or event databases.
    dagster_home = demo.home / "dagster"
    assert sorted(p.name for p in dagster_home.glob("**/*.db")) == []
    statuses = dict(_pg(demo.instance_dsn, "select status, count(*) from runs group by 1"))
    logged = dict(demo.warehouse("select status, count(*) from ops.pipeline_run_log group by 1"))
    assert statuses == logged and sum(statuses.values()) > 30
    assert set(statuses) == {"SUCCESS", "FAILURE"}
    materialized = {
        json.loads(key)[0] + "/" + json.loads(key)[1]
        for (key,) in _pg(
            demo.instance_dsn,
            "select distinct asset_key from event_logs where dagster_event_type = "
            "'ASSET_MATERIALIZATION' and asset_key is not null",
        )
    }
    for key in (
        "raw/raw_orders",
        "staging/stg_orders",
        "curated/orders_latest",
        "staging/stg_wms_shipments",
        "audit/audit_preference_mismatches",
        "dsr/dsr_discovery",
        "curated/customers_latest",
    ):
        assert key in materialized, key

    # Schedule state: started by one process, read back by another, stored in PostgreSQL.
    dagster = Path(sys.executable).parent / "dagster"
    env = {**demo.env, "DAGSTER_HOME": str(dagster_home)}
    target = ["-m", "northstar_platform.definitions"]
    started = subprocess.run(
        [str(dagster), "schedule", "start", "apply_retention_job_schedule", *target],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert started.returncode == 0, started.stdout[-2000:] + started.stderr[-2000:]
    stored = _pg(
        demo.instance_dsn,
        "select status, instigator_body from instigators where instigator_type = 'SCHEDULE'",
    )
    from dagster._core.scheduler.instigation import InstigatorState
    from dagster._serdes import deserialize_value

    names = [
        (status, deserialize_value(body, InstigatorState).instigator_name)
        for status, body in stored
    ]
    assert names == [("RUNNING", "apply_retention_job_schedule")]


def test_the_landing_zone_is_the_bucket(demo: ProductionDemo) -> None:
    assert demo.result.returncode == 0
    assert not (demo.home / "landing").exists()
    keys = [
        obj["Key"]
        for page in demo.s3.get_paginator("list_objects_v2").paginate(Bucket=demo.bucket)
        for obj in page.get("Contents", [])
    ]
    assert all(k.startswith("northstar/") for k in keys)
    day = DAY.replace("-", "/")
    for prefix in ("orders", "stripe", "finance", "privacy"):
        assert any(k.startswith(f"northstar/{prefix}/{day}/") for k in keys), prefix
    # The sync's exports are filed by the hour they were taken (now), not by the demo day.
    for table in ("customers", "core_preferences"):
        assert any(k.startswith(f"northstar/{table}/") for k in keys), table
    # Every file dropped in the bucket was loaded from it (late ones included), and nothing else.
    for prefix, table in (("wms", "raw_wms_shipments"), ("stripe", "raw_stripe_events")):
        landed = {
            k.removeprefix("northstar/") for k in keys if k.startswith(f"northstar/{prefix}/")
        }
        loaded = {f for (f,) in demo.warehouse(f"select distinct source_file from raw.{table}")}
        assert landed == loaded and len(landed) > 3, prefix
    requests = sorted(k.rsplit("/", 1)[1] for k in keys if "/dsr/requests/" in k)
    reports = sorted(k.rsplit("/", 1)[1] for k in keys if "/dsr/reports/" in k)
    assert len(requests) == 5 and reports == requests


def test_the_snowflake_warehouse_holds_what_the_source_says(demo: ProductionDemo) -> None:
    assert demo.result.returncode == 0
    held = dict(
        demo.warehouse("select rule, count(*) from staging.quarantine_records group by rule")
    )
    for rule, predicate in RULES.items():
        in_source = _pg(demo.source_dsn, f"select count(*) from orders where {predicate}")
        assert held.get(rule, 0) == in_source[0][0], rule
    raw = demo.warehouse("select count(*) from raw.raw_orders")[0][0]
    assert raw == _pg(demo.source_dsn, "select count(*) from orders")[0][0]
    recognized = demo.warehouse(
        "select business_date, currency, orders, gross_revenue_cents "
        "from curated.int_revenue_daily order by 1, 2"
    )
    truth = _pg(demo.source_dsn, REVENUE)
    assert [(str(d), c, int(n), int(g)) for d, c, n, g in recognized] == [
        (str(d), c, int(n), int(g)) for d, c, n, g in truth
    ]


def test_python_writes_snowflakes_upper_case_names(demo: ProductionDemo) -> None:
    """Every relation in the platform's schemas carries the upper-case name dbt's unquoted
    SQL resolves to on Snowflake: Python's quoted names included (layers.quote)."""
    assert demo.result.returncode == 0
    names = demo.warehouse(
        "select table_schema, table_name from information_schema.tables "
        "where table_schema in ('RAW', 'STAGING', 'CURATED', 'AUDIT', 'REMEDIATION', "
        "'MARTS', 'OPS', 'BI', 'raw', 'staging', 'curated', 'audit', 'remediation', 'marts', "
        "'ops', 'bi')"
    )
    assert len(names) > 40
    lower = [f"{s}.{t}" for s, t in names if s != s.upper() or t != t.upper()]
    assert lower == []


def test_the_ui_names_the_warehouse_the_assets_live_in() -> None:
    """Python-written assets carry the kind of the configured warehouse (the UI's badge)."""
    probe = (
        "import dagster as dg; from northstar_platform.definitions import defs; "
        "graph = defs.resolve_asset_graph(); "
        "print(sorted(graph.get(dg.AssetKey(['raw', 'raw_orders'])).kinds))"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NORTHSTAR_", "DAGSTER_"))}
    env.update(
        NORTHSTAR_WAREHOUSE="snowflake",
        NORTHSTAR_SNOWFLAKE_ACCOUNT="xy12345",
        NORTHSTAR_SNOWFLAKE_USER="NORTHSTAR_SVC",
        NORTHSTAR_SNOWFLAKE_PASSWORD="not-used",
    )
    shown = subprocess.run(
        [sys.executable, "-c", probe], cwd=REPO, env=env, capture_output=True, text=True
    )
    assert shown.returncode == 0, shown.stderr[-2000:]
    assert shown.stdout.strip().splitlines()[-1] == "['snowflake']"
