"""Orders checks: conservation of records from landing to staging, and the quarantine gate."""

import io

import pyarrow.parquet as pq

from asset_checks import (
    CheckContext,
    build_check_suite,
    conserves_records,
    matches_contract,
    max_rate,
    no_duplicates,
)
from northstar_platform.defs.orders.assets import orders_prefix
from northstar_platform.defs.partitions import daily_partitions
from northstar_platform.layers import QUARANTINE_ORDERS, RAW_ORDERS, STG_ORDERS
from northstar_platform.settings import get_settings

ROWS = "select count(*) from {table} where partition_key = ?"
RAW_DUPLICATES = (
    "select coalesce(sum(copies - 1), 0) from (select count(*) as copies from "
    "{table} where partition_key = ? and order_id is not null "
    "and updated_at is not null group by order_id, updated_at) as versions"
)


def _landed_rows(ctx: CheckContext) -> dict[str, int]:
    files = [
        o
        for o in ctx.zone.list(orders_prefix(ctx.partition_key or ""))
        if o.key.endswith(".parquet")
    ]
    return {
        "landed": sum(
            pq.ParquetFile(io.BytesIO(ctx.zone.read_bytes(o.key))).metadata.num_rows for o in files
        )
    }


def _raw_rows(ctx: CheckContext) -> dict[str, int]:
    return {"raw": ctx.count(ROWS.format(table=RAW_ORDERS.qualified), (ctx.partition_key,))}


def _staged_rows(ctx: CheckContext) -> dict[str, int]:
    pk = (ctx.partition_key,)
    return {
        "staged": ctx.count(ROWS.format(table=STG_ORDERS.qualified), pk),
        "quarantined": ctx.count(ROWS.format(table=QUARANTINE_ORDERS.qualified), pk),
        "duplicates": ctx.count(RAW_DUPLICATES.format(table=RAW_ORDERS.qualified), pk),
    }


def _quarantine_ratio(ctx: CheckContext) -> tuple[int, int]:
    held = ctx.count(ROWS.format(table=QUARANTINE_ORDERS.qualified), (ctx.partition_key,))
    return held, _raw_rows(ctx)["raw"]


ORDERS_CHECKS = [
    build_check_suite(
        "raw_orders_checks",
        [
            conserves_records(
                RAW_ORDERS.asset_key,
                description="Rows in the day's landed order files (parquet metadata) = rows in "
                "raw_orders.",
                inputs=_landed_rows,
                outputs=_raw_rows,
            ),
            matches_contract(RAW_ORDERS),
        ],
        partitions_def=daily_partitions,
        required_resource_keys={"landing", "warehouse"},
    ),
    build_check_suite(
        "stg_orders_checks",
        [
            conserves_records(
                STG_ORDERS.asset_key,
                description="raw_orders rows = staged + quarantined + collapsed duplicate "
                "versions.",
                inputs=_raw_rows,
                outputs=_staged_rows,
            ),
            max_rate(
                STG_ORDERS.asset_key,
                name="quarantine_rate_within_threshold",
                description="Quarantined rows / raw rows of the day stay at or under "
                "NORTHSTAR_QUARANTINE_MAX_RATE (default 5%); above it the day is not published.",
                ratio=_quarantine_ratio,
                threshold=lambda: get_settings().quarantine_max_rate,
            ),
            no_duplicates(
                STG_ORDERS, keys=["order_id", "updated_at"], name="no_duplicate_order_version"
            ),
            matches_contract(STG_ORDERS),
            matches_contract(QUARANTINE_ORDERS),
        ],
        partitions_def=daily_partitions,
        required_resource_keys={"warehouse"},
    ),
]
