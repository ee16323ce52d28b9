"""Run-log rules without a Dagster instance: partition labels, rows written per asset, error
lines, the row itself, and which alerts a finished run raises."""

import datetime as dt
import json

import pytest

from northstar_platform.lib.code_version import CodeVersion
from northstar_platform.lib.run_facts import (
    CheckFact,
    RunFacts,
    StepFailure,
    first_error_line,
    partition_label,
    rows_written,
    run_log_row,
)
from northstar_platform.run_recording import run_alerts

NOW = dt.datetime(2026, 3, 3, 12)
UI = "http://ui.example:3000"


@pytest.mark.parametrize(
    ("tags", "label"),
    [
        ({"dagster/partition": "2026-03-01"}, "2026-03-01"),
        ({"dagster/partition": "2026-03-01-07:00"}, "2026-03-01-07:00"),
        (
            {
                "dagster/asset_partition_range_start": "2026-03-01",
                "dagster/asset_partition_range_end": "2026-03-04",
            },
            "2026-03-01..2026-03-04",
        ),
        ({"dagster/asset_partition_range_start": "2026-03-01"}, None),
        ({}, None),
    ],
)
def test_partition_label(tags: dict[str, str], label: str | None) -> None:
    assert partition_label(tags) == label


@pytest.mark.parametrize(
    ("asset", "metadata", "rows"),
    [
        ("raw/raw_stripe_events", {"rows": 12, "files": 2}, 12),
        ("staging/stg_orders", {"rows_in": 10, "staged": 7, "quarantined": 2}, 7),
        ("staging/quarantine_orders", {"rows_in": 10, "staged": 7, "quarantined": 2}, 2),
        ("landing/customers", {"rows_exported": 40, "file": "x"}, 40),
        ("raw/raw_customers", {"files_loaded": 1, "rows_loaded": 40}, 40),
        ("curated/customers_latest", {"inserted": 30, "updated": 5, "unchanged": 5}, 35),
        ("remediation/core_update_exports", {"newly_sent": 9, "already_sent": 3}, 9),
        ("curated/orders_latest", {"dagster/row_count": 81, "rows": 3}, 81),
        ("curated/orders_latest", {"unique_id": "model.x", "Execution Duration": 1.2}, None),
        ("raw/raw_x", {"rows": True}, None),
    ],
)
def test_rows_written_from_what_each_step_reports(
    asset: str, metadata: dict[str, object], rows: int | None
) -> None:
    assert rows_written(asset, metadata) == rows


def test_first_error_line() -> None:
    assert first_error_line("\n  ValueError: bad\nmore") == "ValueError: bad"
    assert first_error_line("northstar_platform.errors.InputFileError: f.csv: bad header") == (
        "f.csv: bad header"
    )
    assert first_error_line(None) == "failed"


def facts(**changes: object) -> RunFacts:
    base: dict[str, object] = {
        "run_id": "run-1",
        "job_name": "__ASSET_JOB",
        "partition_key": "2026-03-01",
        "status": "SUCCESS",
        "started_at": dt.datetime(2026, 3, 1, 6, 0, 0),
        "ended_at": dt.datetime(2026, 3, 1, 6, 0, 2, 500000),
        "trigger": "schedule:daily",
        "assets": ("raw/raw_orders", "staging/stg_orders"),
        "rows_written": {"raw/raw_orders": 10, "staging/stg_orders": 9},
        "checks": (
            CheckFact("raw/raw_orders", "conserves_records", "2026-03-01", True, "ERROR"),
            CheckFact("curated/x", "relationships_x", "2026-03-01", False, "WARN"),
        ),
        "failed_steps": (),
        "run_error": None,
    }
    base.update(changes)
    return RunFacts(**base)  # type: ignore[arg-type]


def test_the_row_of_a_run() -> None:
    row = run_log_row(facts(), CodeVersion("abc123", "f" * 64), "production", NOW)
    assert row == {
        "run_id": "run-1",
        "job_name": "__ASSET_JOB",
        "partition_key": "2026-03-01",
        "status": "SUCCESS",
        "started_at": dt.datetime(2026, 3, 1, 6, 0, 0),
        "ended_at": dt.datetime(2026, 3, 1, 6, 0, 2, 500000),
        "duration_s": 2.5,
        "trigger": "schedule:daily",
        "assets_materialized": 2,
        "rows_written": '{"raw/raw_orders": 10, "staging/stg_orders": 9}',
        "checks_passed": 1,
        "checks_failed": 1,
        "check_results": json.dumps(
            [
                {
                    "asset": "raw/raw_orders",
                    "check": "conserves_records",
                    "partition": "2026-03-01",
                    "passed": True,
                    "severity": "ERROR",
                },
                {
                    "asset": "curated/x",
                    "check": "relationships_x",
                    "partition": "2026-03-01",
                    "passed": False,
                    "severity": "WARN",
                },
            ]
        ),
        "error": None,
        "code_version": "abc123",
        "dbt_manifest_hash": "f" * 64,
        "environment": "production",
        "recorded_at": NOW,
    }


FAILED_TEST = CheckFact(
    "curated/orders_latest", "unique_orders_latest_order_id", "2026-03-01", False, "ERROR",
    {"dagster_dbt/failed_row_count": 3},
)  # fmt: skip
STEP = StepFailure("northstar_dbt_models", ("curated/orders_latest",), "dbt build failed")


def test_a_success_with_only_warn_failures_raises_nothing() -> None:
    assert run_alerts(facts(), set(), UI, NOW) == []


def test_a_failed_error_check_alerts_once_unless_already_alerted() -> None:
    run = facts(checks=(FAILED_TEST,), status="FAILURE")
    [alert] = run_alerts(run, set(), UI, NOW)
    assert (alert.kind, alert.asset_key, alert.check_name, alert.observed, alert.threshold) == (
        "check_failed",
        "curated/orders_latest",
        "unique_orders_latest_order_id",
        "3",
        None,
    )
    assert (
        run_alerts(run, {("curated/orders_latest", "unique_orders_latest_order_id")}, UI, NOW) == []
    )


def test_a_failed_step_raises_one_run_failed_alert() -> None:
    run = facts(status="FAILURE", failed_steps=(STEP, StepFailure("other", (), "also broken")))
    [alert] = run_alerts(run, set(), UI, NOW)
    assert (alert.kind, alert.asset_key, alert.partition_key, alert.check_name) == (
        "run_failed",
        "curated/orders_latest",
        "2026-03-01",
        "northstar_dbt_models",
    )
    assert (alert.observed, alert.threshold, alert.run_url) == (
        "dbt build failed",
        None,
        "http://ui.example:3000/runs/run-1",
    )


def test_a_failure_outside_any_step_names_the_run_and_its_planned_assets() -> None:
    planned = ("a/one", "a/two", "a/three", "a/four")
    run = facts(status="FAILURE", run_error="worker died", planned_assets=planned, checks=())
    [alert] = run_alerts(run, set(), UI, NOW)
    assert (alert.asset_key, alert.check_name, alert.observed) == (
        "a/one, a/two, a/three (+1 more)",
        "run",
        "worker died",
    )


def test_a_run_blocked_only_by_checks_is_alerted_by_the_checks_alone() -> None:
    run = facts(status="FAILURE", checks=(FAILED_TEST,), run_error="Steps failed: ['x']")
    assert [a.kind for a in run_alerts(run, set(), UI, NOW)] == ["check_failed"]
    assert run.error == (
        "blocked by failed checks: curated/orders_latest unique_orders_latest_order_id"
    )


def test_a_canceled_run_raises_nothing() -> None:
    run = facts(status="CANCELED", checks=(FAILED_TEST,), failed_steps=(STEP,))
    assert run_alerts(run, set(), UI, NOW) == []
