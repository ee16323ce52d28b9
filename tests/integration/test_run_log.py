"""`ops.pipeline_run_log` and run-level alerts, through the runs `northstar materialize` makes
and through the sensor → recording-run path the Dagster daemon takes.

One Stripe day of three valid events (landed by hand) succeeds; one orders day whose only
landed file is not parquet fails in `raw_orders`. Every expected value below is written out
by hand from those inputs; the code version is read from git by the test itself.
"""

import datetime as dt
import json
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
import pytest

from northstar_platform.resources.warehouse import DuckDBWarehouse
from tests.stripe_cases import charge_succeeded, epoch

pytestmark = pytest.mark.integration

D1, D2 = "2024-03-01", "2024-03-02"
REPO = Path(__file__).resolve().parents[2]
PAYMENTS = [
    dg.AssetKey(["raw", "raw_stripe_events"]),
    dg.AssetKey(["staging", "stg_stripe_events"]),
    dg.AssetKey(["staging", "quarantine_stripe"]),
]
ORDERS = [
    dg.AssetKey(["raw", "raw_orders"]),
    dg.AssetKey(["staging", "stg_orders"]),
    dg.AssetKey(["staging", "quarantine_orders"]),
]
STRIPE_CHECKS = [
    ("raw/raw_stripe_events", "conserves_records"),
    ("raw/raw_stripe_events", "matches_contract"),
    ("raw/raw_stripe_events", "volume_within_baseline"),
    ("staging/quarantine_stripe", "matches_contract"),
    ("staging/stg_stripe_events", "conserves_records"),
    ("staging/stg_stripe_events", "matches_contract"),
    ("staging/stg_stripe_events", "no_duplicate_event_id"),
    ("staging/stg_stripe_events", "quarantine_rate_within_threshold"),
]
COLUMNS = (
    "run_id, job_name, partition_key, status, started_at, ended_at, duration_s, trigger, "
    "assets_materialized, rows_written, checks_passed, checks_failed, check_results, error, "
    "code_version, dbt_manifest_hash, environment"
)


def git_head() -> str:
    return subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.strip()


@dataclass
class Platform:
    home: Path
    instance: dg.DagsterInstance
    defs: dg.Definitions

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with duckdb.connect(str(self.home / "warehouse.duckdb"), read_only=True) as con:
            return con.execute(sql, list(params)).fetchall()

    def rows(self) -> dict[str, dict[str, Any]]:
        """The run log by run id, each row by column name."""
        names = [c.strip() for c in COLUMNS.split(",")]
        rows = self.query(f"select {COLUMNS} from ops.pipeline_run_log")
        return {row[0]: dict(zip(names, row, strict=True)) for row in rows}


@pytest.fixture
def platform(northstar_env: Path) -> Iterator[Platform]:
    from northstar_platform.definitions import build_definitions

    day = northstar_env / "landing" / "stripe" / "2024" / "03" / "01"
    day.mkdir(parents=True)
    events = [
        charge_succeeded(
            f"evt_{n}",
            charge_id=f"ch_evt_{n}",
            order_id=f"o-evt_{n}",
            amount=1250,
            created=epoch(dt.datetime(2024, 3, 1, 9, n)),
        )
        for n in range(3)
    ]
    (day / "events.jsonl").write_text("\n".join(events) + "\n")
    orders = northstar_env / "landing" / "orders" / "2024" / "03" / "02" / "00"
    orders.mkdir(parents=True)
    (orders / "run-broken.parquet").write_bytes(b"this is not parquet")
    with dg.DagsterInstance.ephemeral() as instance:
        yield Platform(northstar_env, instance, build_definitions())


def run_both(platform: Platform) -> tuple[str, str]:
    """The good Stripe day and the broken orders day, as `northstar materialize` and a
    sensor-style re-run execute them; returns their run ids."""
    from northstar_platform.runner import materialize_range, run_partition

    ok = materialize_range(platform.defs, platform.instance, [D1], selection=PAYMENTS)
    job = platform.defs.resolve_implicit_global_asset_job_def()
    failed = run_partition(job, platform.instance, ORDERS, D2)
    assert (ok.failures, ok.blocked, failed.blocked) == ([], [], [D2])
    runs = platform.instance.get_run_records(order_by="create_timestamp", ascending=True)
    assert [r.dagster_run.tags.get("dagster/partition") for r in runs] == [D1, D2]
    return runs[0].dagster_run.run_id, runs[1].dagster_run.run_id


def test_a_success_and_a_failure_give_one_row_each_and_the_failure_one_alert(
    platform: Platform,
) -> None:
    ok_id, failed_id = run_both(platform)
    rows = platform.rows()
    assert sorted(rows) == sorted([ok_id, failed_id])
    ok, failed = rows[ok_id], rows[failed_id]

    assert (ok["job_name"], ok["partition_key"], ok["status"], ok["trigger"]) == (
        "__ASSET_JOB",
        D1,
        "SUCCESS",
        "northstar materialize",
    )
    assert ok["assets_materialized"] == 3
    assert json.loads(ok["rows_written"]) == {
        "raw/raw_stripe_events": 3,
        "staging/stg_stripe_events": 3,
        "staging/quarantine_stripe": 0,
    }
    assert (ok["checks_passed"], ok["checks_failed"], ok["error"]) == (8, 0, None)
    results = json.loads(ok["check_results"])
    assert sorted((r["asset"], r["check"]) for r in results) == STRIPE_CHECKS
    assert {(r["partition"], r["passed"], r["severity"]) for r in results} == {(D1, True, "ERROR")}
    assert ok["started_at"] < ok["ended_at"]
    assert ok["duration_s"] == pytest.approx((ok["ended_at"] - ok["started_at"]).total_seconds())
    assert ok["code_version"] in (git_head(), f"{git_head()}-dirty")
    assert len(ok["dbt_manifest_hash"]) == 64 or ok["dbt_manifest_hash"] == "unknown"
    assert ok["environment"] == "production"

    assert (failed["job_name"], failed["partition_key"], failed["status"]) == (
        "__ASSET_JOB",
        D2,
        "FAILURE",
    )
    assert (failed["assets_materialized"], json.loads(failed["rows_written"])) == (0, {})
    assert (failed["checks_passed"], failed["checks_failed"]) == (0, 0)
    broken = platform.home / "landing" / "orders" / "2024" / "03" / "02" / "00"
    assert failed["error"].startswith(
        f"{broken / 'run-broken.parquet'} is not a readable parquet file"
    )

    alerts = platform.query(
        "select kind, asset_key, partition_key, check_name, observed, threshold, run_id, "
        "run_url from ops.pipeline_alert_log"
    )
    assert alerts == [
        (
            "run_failed",
            "raw/raw_orders",
            D2,
            "raw__raw_orders",
            failed["error"],
            None,
            failed_id,
            f"http://127.0.0.1:3000/runs/{failed_id}",
        )
    ]
    lines = (platform.home / "alerts" / "alerts.jsonl").read_text().splitlines()
    assert [(json.loads(x)["kind"], json.loads(x)["run_id"]) for x in lines] == [
        ("run_failed", failed_id)
    ]


def test_recording_a_run_again_keeps_one_row_and_one_alert(platform: Platform) -> None:
    from northstar_platform.run_recording import record_finished_runs

    ok_id, failed_id = run_both(platform)
    before = platform.rows()
    warehouse = DuckDBWarehouse(path=str(platform.home / "warehouse.duckdb"))
    with warehouse.connect() as session:
        facts = record_finished_runs(platform.instance, [failed_id, ok_id, "no-such-run"], session)
    assert [(f.run_id, f.status) for f in facts] == [(failed_id, "FAILURE"), (ok_id, "SUCCESS")]
    after = platform.rows()
    assert sorted(after) == sorted(before)
    for run_id in (ok_id, failed_id):
        assert {k: v for k, v in after[run_id].items()} == before[run_id]
    assert platform.query("select count(*) from ops.pipeline_alert_log") == [(1,)]


@dg.op
def succeed() -> None:
    pass


@dg.op
def explode() -> None:
    raise RuntimeError("disk full on the landing volume\nsecond line")


@dg.job
def fine_job() -> None:
    succeed()


@dg.job
def broken_job() -> None:
    explode()


def test_a_canceled_run_is_logged_not_alerted(platform: Platform) -> None:
    from northstar_platform.run_recording import record_finished_runs

    run = platform.instance.create_run_for_job(
        fine_job,
        tags={
            "dagster/schedule_name": "nightly",
            "dagster/asset_partition_range_start": D1,
            "dagster/asset_partition_range_end": D2,
        },
    )
    platform.instance.report_run_canceling(run)
    platform.instance.report_run_canceled(run)
    warehouse = DuckDBWarehouse(path=str(platform.home / "warehouse.duckdb"))
    with warehouse.connect() as session:
        record_finished_runs(platform.instance, [run.run_id], session)
    row = platform.rows()[run.run_id]
    assert (row["status"], row["trigger"], row["partition_key"], row["error"]) == (
        "CANCELED",
        "schedule:nightly",
        f"{D1}..{D2}",
        None,
    )
    ops_tables = "select table_name from information_schema.tables where table_schema = 'ops'"
    assert platform.query(ops_tables) == [("pipeline_run_log",)]  # no alert was ever written


def test_the_sensor_requests_one_recording_run_for_daemon_runs_only(platform: Platform) -> None:
    from northstar_platform.defs.ops.sensors import (
        pipeline_run_log_sensor,
        record_pipeline_runs_job,
    )

    run_both(platform)  # recorded in process: tagged, so the sensor leaves them alone
    fine = fine_job.execute_in_process(instance=platform.instance, tags={"dagster/user": "ana"})
    broken = broken_job.execute_in_process(instance=platform.instance, raise_on_error=False)
    expected = [fine.run_id, broken.run_id]

    with dg.build_sensor_context(instance=platform.instance) as context:
        first = pipeline_run_log_sensor(context)
    assert isinstance(first, dg.SensorResult)
    [request] = first.run_requests or []
    ops = request.run_config["ops"]
    assert ops == {"record_pipeline_runs": {"config": {"run_ids": expected}}}

    warehouse = DuckDBWarehouse(path=str(platform.home / "warehouse.duckdb"))
    recorded = record_pipeline_runs_job.execute_in_process(
        run_config=request.run_config,
        instance=platform.instance,
        resources={"warehouse": warehouse},
    )
    assert recorded.success
    rows = platform.rows()
    assert (rows[fine.run_id]["status"], rows[fine.run_id]["trigger"]) == ("SUCCESS", "person:ana")
    assert (rows[broken.run_id]["job_name"], rows[broken.run_id]["error"]) == (
        "broken_job",
        "RuntimeError: disk full on the landing volume",
    )
    assert recorded.run_id not in rows
    assert platform.query(
        "select kind, asset_key, check_name from ops.pipeline_alert_log where run_id = ?",
        (broken.run_id,),
    ) == [("run_failed", "broken_job", "explode")]

    # Next tick: only the recording run finished since; it is never recorded (no loop).
    with dg.build_sensor_context(instance=platform.instance, cursor=first.cursor) as context:
        second = pipeline_run_log_sensor(context)
    assert isinstance(second, dg.SensorResult) and not second.run_requests
    # From scratch the same batch has the same run key: Dagster requests it once.
    with dg.build_sensor_context(instance=platform.instance) as context:
        again = pipeline_run_log_sensor(context)
    assert isinstance(again, dg.SensorResult)
    assert [r.run_key for r in again.run_requests or []] == [request.run_key]
    assert os.environ.get("NORTHSTAR_SLACK_WEBHOOK_URL") is None
