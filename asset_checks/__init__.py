"""Reusable asset-check builders: schema, duplicates, conservation, rates.

Every builder returns a partition-aware, blocking `@asset_check` that reads the warehouse
through the `warehouse` resource and reports the offending values as metadata, so a failure
in the UI already says what to look at. `build_defs()` is the one public entry that wires the
checks every Python-written table gets from its contract.
"""

import dagster as dg

from asset_checks.conservation import build_conservation_check
from asset_checks.duplicates import build_no_duplicates_check
from asset_checks.rates import build_max_rate_check
from asset_checks.schema import build_schema_check
from northstar_platform.defs.partitions import daily_partitions, hourly_partitions
from northstar_platform.layers import (
    QUARANTINE_FINANCE,
    QUARANTINE_ORDERS,
    QUARANTINE_PRIVACY,
    QUARANTINE_STRIPE,
    QUARANTINE_WMS,
    RAW_FINANCE_REVENUE,
    RAW_ORDERS,
    RAW_PRIVACY_EVENTS,
    RAW_STRIPE_EVENTS,
    RAW_WMS_SHIPMENTS,
    STG_FINANCE_REVENUE,
    STG_ORDERS,
    STG_PRIVACY_EVENTS,
    STG_STRIPE_EVENTS,
    STG_WMS_SHIPMENTS,
)

__all__ = [
    "build_conservation_check",
    "build_defs",
    "build_max_rate_check",
    "build_no_duplicates_check",
    "build_schema_check",
]


def build_defs() -> dg.Definitions:
    """Schema and duplicate checks of every table Python writes, from its contract."""
    checks = [
        build_schema_check(table, partitions_def=daily_partitions)
        for table in (
            RAW_ORDERS,
            STG_ORDERS,
            QUARANTINE_ORDERS,
            RAW_STRIPE_EVENTS,
            STG_STRIPE_EVENTS,
            QUARANTINE_STRIPE,
            RAW_FINANCE_REVENUE,
            STG_FINANCE_REVENUE,
            QUARANTINE_FINANCE,
            RAW_PRIVACY_EVENTS,
            STG_PRIVACY_EVENTS,
            QUARANTINE_PRIVACY,
        )
    ]
    checks += [
        build_schema_check(table, partitions_def=hourly_partitions)
        for table in (RAW_WMS_SHIPMENTS, STG_WMS_SHIPMENTS, QUARANTINE_WMS)
    ]
    checks.append(
        build_no_duplicates_check(
            STG_ORDERS,
            keys=["order_id", "updated_at"],
            name="no_duplicate_order_version",
            partitions_def=daily_partitions,
        )
    )
    checks.append(
        build_no_duplicates_check(
            STG_STRIPE_EVENTS,
            keys=["event_id"],
            name="no_duplicate_event_id",
            partitions_def=daily_partitions,
        )
    )
    checks.append(
        build_no_duplicates_check(
            STG_WMS_SHIPMENTS,
            keys=["shipment_id", "event_ts"],
            name="no_duplicate_shipment_event",
            partitions_def=hourly_partitions,
        )
    )
    checks.append(
        build_no_duplicates_check(
            STG_FINANCE_REVENUE,
            keys=["business_date", "currency"],
            name="no_duplicate_revenue_row",
            partitions_def=daily_partitions,
        )
    )
    checks.append(
        build_no_duplicates_check(
            STG_PRIVACY_EVENTS,
            keys=["source_record_id"],
            name="no_duplicate_source_record_id",
            partitions_def=daily_partitions,
        )
    )
    return dg.Definitions(asset_checks=checks)
