"""Orders checks: conservation of records from landing to staging, and the quarantine gate."""

import io
from collections.abc import Mapping
from typing import Any

import dagster as dg
import pyarrow.parquet as pq

from asset_checks import build_conservation_check, build_max_rate_check
from northstar_platform.defs.orders.assets import orders_prefix
from northstar_platform.defs.partitions import daily_partitions
from northstar_platform.layers import QUARANTINE_ORDERS, RAW_ORDERS, STG_ORDERS
from northstar_platform.settings import get_settings

PARTITION_COUNT = "select count(*) from {table} where partition_key = ?"
RAW_DUPLICATES = (
    "select coalesce(sum(copies - 1), 0) from (select count(*) as copies from "  # noqa: S608
    f"{RAW_ORDERS.qualified} where partition_key = ? and order_id is not null "
    "and updated_at is not null group by order_id, updated_at) as versions"
)


def _count(resources: Mapping[str, Any], sql: str, partition_key: str) -> int:
    with resources["warehouse"].connect() as session:
        row = session.fetchone(sql, (partition_key,))
    return int(row[0]) if row else 0


def _landed_rows(
    context: dg.AssetCheckExecutionContext, resources: Mapping[str, Any]
) -> dict[str, int]:
    zone = resources["landing"].get_zone()
    files = [
        o for o in zone.list(orders_prefix(context.partition_key)) if o.key.endswith(".parquet")
    ]
    rows = sum(pq.ParquetFile(io.BytesIO(zone.read_bytes(o.key))).metadata.num_rows for o in files)
    return {"landed": rows}


def _raw_rows(
    context: dg.AssetCheckExecutionContext, resources: Mapping[str, Any]
) -> dict[str, int]:
    sql = PARTITION_COUNT.format(table=RAW_ORDERS.qualified)
    return {"raw": _count(resources, sql, context.partition_key)}


def _staged_rows(
    context: dg.AssetCheckExecutionContext, resources: Mapping[str, Any]
) -> dict[str, int]:
    pk = context.partition_key
    return {
        "staged": _count(resources, PARTITION_COUNT.format(table=STG_ORDERS.qualified), pk),
        "quarantined": _count(
            resources, PARTITION_COUNT.format(table=QUARANTINE_ORDERS.qualified), pk
        ),
        "duplicates": _count(resources, RAW_DUPLICATES, pk),
    }


def _quarantine_ratio(
    context: dg.AssetCheckExecutionContext, resources: Mapping[str, Any]
) -> tuple[int, int]:
    pk = context.partition_key
    held = _count(resources, PARTITION_COUNT.format(table=QUARANTINE_ORDERS.qualified), pk)
    return held, _raw_rows(context, resources)["raw"]


raw_orders_conserves_records = build_conservation_check(
    RAW_ORDERS.asset_key,
    description="Rows in the day's landed order files (parquet metadata) = rows in raw_orders.",
    inputs=_landed_rows,
    outputs=_raw_rows,
    required_resource_keys={"landing", "warehouse"},
    partitions_def=daily_partitions,
)

stg_orders_conserves_records = build_conservation_check(
    STG_ORDERS.asset_key,
    description="raw_orders rows = staged + quarantined + collapsed duplicate versions.",
    inputs=_raw_rows,
    outputs=_staged_rows,
    required_resource_keys={"warehouse"},
    partitions_def=daily_partitions,
)

stg_orders_quarantine_rate = build_max_rate_check(
    STG_ORDERS.asset_key,
    name="quarantine_rate_within_threshold",
    description="Quarantined rows / raw rows of the day stay at or under "
    "NORTHSTAR_QUARANTINE_MAX_RATE (default 5%); above it the day is not published.",
    ratio=_quarantine_ratio,
    max_rate=lambda: get_settings().quarantine_max_rate,
    required_resource_keys={"warehouse"},
    partitions_def=daily_partitions,
)

ORDERS_CHECKS = [
    raw_orders_conserves_records,
    stg_orders_conserves_records,
    stg_orders_quarantine_rate,
]
