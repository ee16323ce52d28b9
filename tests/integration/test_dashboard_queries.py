"""The dashboard's reads give the same, exact panels on DuckDB and on Snowflake's dialect.

fakesnow runs the real Snowflake connector (through the warehouse resource) against its
emulator, so a read that only works on DuckDB fails here. The rows are few and the expected
panels are written out by hand.
"""

import datetime as dt
import json
from typing import Any

import pyarrow as pa
import pytest

from northstar_platform.dashboard import queries
from northstar_platform.dashboard.reader import Window
from northstar_platform.layers import (
    AUDIT_PREFERENCE_MISMATCHES,
    PIPELINE_ALERT_LOG,
    PIPELINE_RUN_LOG,
    QUARANTINE_WMS,
    RAW_WMS_SHIPMENTS,
    Column,
    Layer,
    Table,
)
from northstar_platform.lib.quarantine import refresh_quarantine_view
from northstar_platform.resources.warehouse import (
    WarehouseResource,
    WarehouseSession,
)

pytestmark = pytest.mark.integration

ORDER_MISMATCHES = Table(
    Layer.AUDIT,
    "audit_order_mismatches",
    (
        Column("business_date", "DATE"),
        Column("order_id", "VARCHAR"),
        Column("mismatch_type", "VARCHAR"),
        Column("is_cleared", "BOOLEAN"),
    ),
)
"""The columns of the dbt model the dashboard reads."""

WINDOW = Window(dt.date(2026, 3, 1), dt.date(2026, 3, 31))
T = dt.datetime(2026, 3, 10, 8, 30)


def run(run_id: str, ended: dt.datetime, env: str, rows: dict, checks: list) -> dict[str, Any]:
    return {"run_id": run_id, "job_name": "j", "status": "SUCCESS", "ended_at": ended,
            "trigger": "user:test", "assets_materialized": len(rows),
            "rows_written": json.dumps(rows), "checks_passed": 0, "checks_failed": 0,
            "check_results": json.dumps(checks), "code_version": "c", "dbt_manifest_hash": "h",
            "environment": env, "recorded_at": ended}  # fmt: skip


def result(check: str, passed: bool) -> dict[str, Any]:
    return {"asset": "raw/raw_wms_shipments", "check": check, "partition": "2026-03-10-05:00",
            "passed": passed, "severity": "ERROR"}  # fmt: skip


SEED: list[tuple[Table, list[dict[str, Any]]]] = [
    (PIPELINE_RUN_LOG, [
        run("r1", T, "production", {"raw/raw_wms_shipments": 40},
            [result("conserves_records", True), result("quarantine_rate_within_threshold", False)]),
        run("r2", T + dt.timedelta(days=1), "production", {"raw/raw_wms_shipments": 7}, []),
        run("r3", T, "shadow", {"raw/raw_wms_shipments": 99}, [result("conserves_records", False)]),
        run("r0", dt.datetime(2026, 2, 27), "production", {"raw/raw_wms_shipments": 1}, []),
    ]),
    (ORDER_MISMATCHES, [
        {"business_date": dt.date(2026, 3, 9), "order_id": "o1", "mismatch_type": "MISSING_PAYMENT",
         "is_cleared": False},
        {"business_date": dt.date(2026, 3, 9), "order_id": "o2", "mismatch_type": "MISSING_PAYMENT",
         "is_cleared": True},
        {"business_date": dt.date(2026, 3, 9), "order_id": "o3", "mismatch_type": "ORPHAN_PAYMENT",
         "is_cleared": False},
    ]),
    (AUDIT_PREFERENCE_MISMATCHES, [
        {"recon_date": dt.date(2026, 3, 9), "customer_key": "k1", "channel": "EMAIL",
         "mismatch_type": "STATE_DIFF"},
        {"recon_date": dt.date(2026, 4, 2), "customer_key": "k2", "channel": "EMAIL",
         "mismatch_type": "STATE_DIFF"},
    ]),
    (RAW_WMS_SHIPMENTS, [
        {"record": "x", "utf8_valid": True, "has_line_end": True, "partition_key": pk,
         "source_file": "f.csv", "line_no": n, "ingested_ts": T, "run_id": "r1"}
        for pk, rows in (("2026-03-10-05:00", 40), ("2026-03-10-06:00", 8), ("2026-02-10-06:00", 5))
        for n in range(rows)
    ]),
    (QUARANTINE_WMS, [
        {"source": "wms", "partition_key": "2026-03-10-05:00", "source_file": "f.csv",
         "line_no": n, "rule": "r", "reason": "why", "run_id": "r1", "quarantined_at": T,
         "held_rows": 1}
        for n in range(3)
    ]),
    (PIPELINE_ALERT_LOG, [
        {"alert_id": "a1", "raised_at": T, "kind": "check_failed",
         "asset_key": "raw/raw_wms_shipments", "partition_key": "2026-03-10-05:00",
         "check_name": "quarantine_rate_within_threshold", "observed": "0.075",
         "threshold": "0.01", "message": "m", "run_id": "r1", "run_url": "http://ui/runs/r1"},
    ]),
]  # fmt: skip

EXPECTED = {
    "rows": {
        "points": [
            {"asset": "raw/raw_wms_shipments", "day": "2026-03-10", "rows": 40},
            {"asset": "raw/raw_wms_shipments", "day": "2026-03-11", "rows": 7},
        ],
        "unreadable_runs": 0,
    },
    "checks": {
        "days": [{"day": "2026-03-10", "passed": 1, "failed": 1, "pass_rate": 0.5}],
        "failing": [
            {"asset": "raw/raw_wms_shipments", "check": "quarantine_rate_within_threshold",
             "severity": "ERROR", "failures": 1, "partitions": ["2026-03-10-05:00"],
             "last_day": "2026-03-10"},
        ],
        "unreadable_runs": 0,
    },
    "mismatches": {
        "orders": [
            {"date": "2026-03-09", "mismatch_type": "MISSING_PAYMENT", "open": 1},
            {"date": "2026-03-09", "mismatch_type": "ORPHAN_PAYMENT", "open": 1},
        ],
        "preferences": [{"date": "2026-03-09", "mismatch_type": "STATE_DIFF", "mismatches": 1}],
    },
    "quarantine": {
        "partitions": [
            {"source": "wms", "partition": "2026-03-10-05:00", "held_rows": 3, "raw_rows": 40,
             "rate": 0.075},
            {"source": "wms", "partition": "2026-03-10-06:00", "held_rows": 0, "raw_rows": 8,
             "rate": 0.0},
        ]
    },
    "alerts": {
        "latest": [
            {"raised_at": "2026-03-10 08:30:00", "kind": "check_failed",
             "asset_key": "raw/raw_wms_shipments", "partition_key": "2026-03-10-05:00",
             "check_name": "quarantine_rate_within_threshold", "observed": "0.075",
             "threshold": "0.01", "message": "m", "run_id": "r1", "run_url": "http://ui/runs/r1"},
        ],
        "per_day": [{"day": "2026-03-10", "alerts": 1}],
        "total": 1,
    },
}  # fmt: skip


def seed(session: WarehouseSession) -> None:
    for table, rows in SEED:
        session.ensure_table(table)
        data = {c: [row.get(c) for row in rows] for c in table.column_names}
        types = {c.name: TYPES[c.sql_type] for c in table.columns}
        session.insert_arrow(table, pa.table({c: pa.array(v, types[c]) for c, v in data.items()}))
    refresh_quarantine_view(session)


TYPES = {
    "VARCHAR": pa.string(),
    "BIGINT": pa.int64(),
    "DOUBLE": pa.float64(),
    "BOOLEAN": pa.bool_(),
    "DATE": pa.date32(),
    "TIMESTAMP": pa.timestamp("us"),
}


def test_every_panel_reads_the_same_exact_rows_on_both_dialects(
    either_warehouse: WarehouseResource,
) -> None:
    with either_warehouse.connect() as session:
        for read in queries.PANELS.values():  # before anything exists: empty, no error
            assert not any(read(session, WINDOW).get(k) for k in ("points", "days", "latest"))
        seed(session)
        panels = {name: read(session, WINDOW) for name, read in queries.PANELS.items()}
        run = queries.run_record(session, "r1")
    assert panels == EXPECTED
    assert run is not None and run["rows_written"] == {"raw/raw_wms_shipments": 40}
