"""Orders: source PostgreSQL → landing parquet → raw_orders → stg_orders + quarantine_orders.

Each asset replaces exactly one daily partition in one transaction, so reruns and backfills
in any order give the same rows. The partition of an order version is the UTC day of its
`updated_at`: the day the change happened.
"""

import io
import uuid

import dagster as dg
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from northstar_platform.defs.partitions import daily_partitions
from northstar_platform.defs.staging import staging_outs, staging_results, write_staged_partition
from northstar_platform.errors import InputFileError
from northstar_platform.layers import (
    ORDER_COLUMNS,
    QUARANTINE_ORDERS,
    RAW_ORDERS,
    STG_ORDERS,
    Layer,
)
from northstar_platform.lib.loading import (
    collapse_duplicates,
    date_path,
    partition_window,
    with_loader_columns,
)
from northstar_platform.lib.orders import ORDER_DEDUP_KEY, ORDER_RULES
from northstar_platform.lib.quarantine import quarantine_rows
from northstar_platform.lib.validation import validate_rows
from northstar_platform.resources.landing import LandingResource
from northstar_platform.resources.source_db import SourceDatabaseResource
from northstar_platform.resources.warehouse import WarehouseResource
from northstar_platform.settings import warehouse_kind

ORDERS_ARROW_SCHEMA = pa.schema(
    [
        ("order_id", pa.string()),
        ("customer_id", pa.string()),
        ("status", pa.string()),
        ("currency", pa.string()),
        ("amount_cents", pa.int64()),
        ("created_at", pa.timestamp("us")),
        ("updated_at", pa.timestamp("us")),
        ("is_deleted", pa.bool_()),
    ]
)
LANDING_ORDERS_KEY = dg.AssetKey([Layer.LANDING.value, "orders"])
EXPORT_SQL = (
    # `::timestamp` makes `timestamptz` columns naive UTC (the session runs in UTC); it is a
    # no-op on `timestamp` columns, which hold UTC already.
    "select order_id, customer_id, status, currency, amount_cents, "
    "created_at::timestamp as created_at, updated_at::timestamp as updated_at, "
    "is_deleted from public.orders where updated_at >= %s and updated_at < %s "
    "order by order_id, updated_at"
)


def orders_prefix(partition_key: str) -> str:
    """The landing folder of one day's order exports."""
    return f"orders/{date_path(partition_key)}/"


@dg.asset(
    key=LANDING_ORDERS_KEY,
    partitions_def=daily_partitions,
    group_name="orders",
    kinds={"postgres", "parquet"},
    pool="source_read",
    description="Order versions updated on the partition's day, exported from the source "
    "PostgreSQL with COPY into `orders/YYYY/MM/DD/HH/run-<uuid>.parquet` in the landing zone.",
)
def landing_orders(
    context: dg.AssetExecutionContext,
    source_db: SourceDatabaseResource,
    landing: LandingResource,
) -> dg.MaterializeResult:
    start, end = partition_window(context.partition_key)
    exported = source_db.copy_to_arrow(EXPORT_SQL, (start, end), ORDERS_ARROW_SCHEMA)
    buffer = io.BytesIO()
    pq.write_table(exported, buffer)
    run = uuid.UUID(context.run_id) if _is_uuid(context.run_id) else uuid.uuid4()
    key = f"{orders_prefix(context.partition_key)}00/run-{run}.parquet"
    stored = landing.get_zone().write_bytes(key, buffer.getvalue())
    return dg.MaterializeResult(
        metadata={"rows_exported": exported.num_rows, "file": stored.key, "bytes": stored.size}
    )


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def read_order_file(data: bytes, uri: str) -> pa.Table:
    """One landed parquet file as the orders contract; a clear error names what is wrong."""
    try:
        table = pq.read_table(io.BytesIO(data))
    except (pa.ArrowInvalid, OSError) as exc:
        raise InputFileError(f"{uri} is not a readable parquet file: {exc}") from None
    missing = [c.name for c in ORDER_COLUMNS if c.name not in table.column_names]
    if missing:
        expected = ", ".join(ORDERS_ARROW_SCHEMA.names)
        raise InputFileError(f"{uri} lacks column(s) {', '.join(missing)}; expected {expected}")
    try:
        return table.select(ORDERS_ARROW_SCHEMA.names).cast(ORDERS_ARROW_SCHEMA)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise InputFileError(
            f"{uri} has columns of the wrong type ({exc}); expected {ORDERS_ARROW_SCHEMA}"
        ) from None


@dg.asset(
    key=RAW_ORDERS.asset_key,
    deps=[LANDING_ORDERS_KEY],
    partitions_def=daily_partitions,
    group_name="orders",
    kinds={warehouse_kind()},
    pool="warehouse_write",
    description="Every landed order export of the day, exactly as it arrived, with its "
    "source_file, line_no, ingested_ts (file arrival) and run_id. Append-only history: "
    "the partition is replaced as a whole from the files in its landing folder.",
)
def raw_orders(
    context: dg.AssetExecutionContext,
    landing: LandingResource,
    warehouse: WarehouseResource,
) -> dg.MaterializeResult:
    zone = landing.get_zone()
    files = [
        o for o in zone.list(orders_prefix(context.partition_key)) if o.key.endswith(".parquet")
    ]
    tables = [
        with_loader_columns(
            read_order_file(zone.read_bytes(o.key), zone.uri(o.key)),
            partition_key=context.partition_key,
            source_file=o.key,
            ingested_ts=o.last_modified,
            run_id=context.run_id,
        )
        for o in files
    ]
    landed = pa.concat_tables(tables) if tables else ORDERS_ARROW_SCHEMA.empty_table()
    with warehouse.connect() as session:
        session.ensure_table(RAW_ORDERS)
        with session.transaction():
            rows = session.replace_partition(RAW_ORDERS, context.partition_key, landed)
    return dg.MaterializeResult(metadata={"rows": rows, "files": len(files)})


@dg.multi_asset(
    outs=staging_outs(
        STG_ORDERS,
        QUARANTINE_ORDERS,
        "Valid, de-duplicated order versions of the day.",
        "Order rows held back from staging, with the rule they broke.",
    ),
    deps=[RAW_ORDERS.asset_key],
    partitions_def=daily_partitions,
    group_name="orders",
    pool="warehouse_write",
)
def stg_orders(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource
) -> tuple[dg.MaterializeResult, dg.MaterializeResult]:
    """Validate and de-duplicate one day of raw orders; staging and quarantine commit together."""
    pk = context.partition_key
    with warehouse.connect() as session:
        raw = pl.from_arrow(session.fetch_partition(RAW_ORDERS, pk))
        assert isinstance(raw, pl.DataFrame)
        kept, duplicates = collapse_duplicates(raw, list(ORDER_DEDUP_KEY))
        result = validate_rows(kept, ORDER_RULES, f"{RAW_ORDERS.layer.value}.{RAW_ORDERS.name}")
        held = quarantine_rows(
            result.quarantined,
            source="orders",
            record_ref="order_id",
            business_columns=[c.name for c in ORDER_COLUMNS],
            run_id=context.run_id,
        )
        staged = result.valid.with_columns(run_id=pl.lit(context.run_id))
        write_staged_partition(
            session, pk, (STG_ORDERS, staged.to_arrow()), (QUARANTINE_ORDERS, held.to_arrow())
        )
    counts = {
        "rows_in": raw.height,
        "staged": result.valid.height,
        "quarantined": held.height,
        "duplicates_collapsed": duplicates,
    }
    return staging_results(STG_ORDERS, QUARANTINE_ORDERS, counts)
