"""Pure helpers of the checks, the range runner and the demo's detectors."""

import pytest

from asset_checks.schema import schema_differences, type_family
from northstar_platform.demo.detectors import detector_for
from northstar_platform.layers import RAW_ORDERS
from northstar_platform.runner import contiguous, days


def test_type_families_cover_duckdb_and_snowflake_names():
    assert type_family("VARCHAR") == type_family("TEXT") == "text"
    assert type_family("NUMBER(38,0)") == type_family("BIGINT") == "integer"
    assert type_family("TIMESTAMP_NTZ(9)") == type_family("TIMESTAMP") == "timestamp"


def test_schema_differences_name_every_problem():
    live = [(c.name, c.sql_type) for c in RAW_ORDERS.columns if c.name != "currency"]
    live = [(n, "VARCHAR" if n == "amount_cents" else t) for n, t in live] + [("extra", "TEXT")]
    assert schema_differences(RAW_ORDERS, live) == [
        "column currency is missing (expected text)",
        "column amount_cents is text, expected integer",
        "column extra is not in the contract",
    ]
    assert schema_differences(RAW_ORDERS, [(c.name, c.sql_type) for c in RAW_ORDERS.columns]) == []
    assert schema_differences(RAW_ORDERS, []) == ['"raw"."raw_orders" does not exist']


def test_days_and_contiguous_ranges():
    import datetime as dt

    assert days(dt.date(2026, 10, 30), dt.date(2026, 11, 2)) == [
        "2026-10-30",
        "2026-10-31",
        "2026-11-01",
        "2026-11-02",
    ]
    with pytest.raises(ValueError, match="before"):
        days(dt.date(2026, 11, 2), dt.date(2026, 11, 1))
    keys = ["2026-11-01", "2026-11-02", "2026-11-04", "2026-11-06", "2026-11-07"]
    assert contiguous(keys) == [
        ("2026-11-01", "2026-11-02"),
        ("2026-11-04", "2026-11-04"),
        ("2026-11-06", "2026-11-07"),
    ]
    assert contiguous([]) == []


def test_detectors_exist_only_for_what_is_built():
    assert detector_for("quarantine:orders:currency_known") is not None
    assert detector_for("audit_order_mismatches:DUPLICATE_ORDER") is not None
    assert detector_for("audit_order_mismatches:MISSING_PAYMENT") is not None
    assert detector_for("audit_revenue_variance:VARIANCE") is not None
    assert detector_for("referential:orders:customer_id_exists") is not None
    assert detector_for("remediation_core_updates:ROWS") is not None
    assert detector_for("quarantine:stripe:json_parses") is not None
    assert detector_for("duplicates:stripe:event_id") is not None
    assert detector_for("quarantine:wms:event_ts_parses") is not None
    assert detector_for("duplicates:wms:shipment_event") is not None
    assert detector_for("late_files:wms") is None
    assert detector_for("audit_preference_mismatches:STATE_DIFF") is not None
    assert detector_for("dsr_requests:SUBJECT_NOT_FOUND") is not None
