"""Payments: Stripe webhook files → raw_stripe_events → stg_stripe_events + quarantine_stripe.

Partitioned by landing day (the `stripe/YYYY/MM/DD/` folder): a file that lands late in an
old day's folder re-materializes that day (the sensor asks for it), and the partition is
rebuilt from every file in the folder, so the result does not depend on arrival order.

A day can hold millions of lines (issue 4: 8M, ~3 GB): both steps stream it, file by file
into raw and batch by batch out of raw, inside one transaction each, so memory follows the
largest batch and the day's parsed fields, never the day's text.
"""

import dagster as dg
import polars as pl

from northstar_platform.defs.partitions import daily_partitions
from northstar_platform.defs.staging import (
    staging_outs,
    staging_results,
    write_raw_partition,
    write_staged_partition,
)
from northstar_platform.layers import (
    QUARANTINE_STRIPE,
    RAW_STRIPE_EVENTS,
    STG_STRIPE_EVENTS,
    quote,
)
from northstar_platform.lib.landed_lines import lines_table
from northstar_platform.lib.loading import date_path, with_loader_columns
from northstar_platform.lib.stripe_staging import StripeDay
from northstar_platform.resources.landing import LandingObject, LandingResource, LandingZone
from northstar_platform.resources.warehouse import WarehouseResource
from northstar_platform.settings import warehouse_kind

BATCH_ROWS = 262_144
"""Raw rows parsed at a time."""

COLUMNS = ", ".join(quote(c) for c in RAW_STRIPE_EVENTS.column_names)
# Templates named at run time ({raw}): the schema depends on the environment (shadow mode).
RAW_ROWS = f"select {COLUMNS} from {{raw}} where partition_key = ?"  # noqa: S608
RAW_FILES = "select distinct source_file from {raw} where partition_key = ?"
RAW_LINES = "select line_no, record from {raw} where partition_key = ? and source_file = ?"


def stripe_prefix(partition_key: str) -> str:
    """The landing folder of one day's Stripe deliveries."""
    return f"stripe/{date_path(partition_key)}/"


def stripe_files(zone: LandingZone, partition_key: str) -> list[LandingObject]:
    """The day's Stripe files: every `*.jsonl` under its folder."""
    return [o for o in zone.list(stripe_prefix(partition_key)) if o.key.endswith(".jsonl")]


@dg.asset(
    key=RAW_STRIPE_EVENTS.asset_key,
    partitions_def=daily_partitions,
    group_name="payments",
    kinds={warehouse_kind()},
    pool="warehouse_write",
    description="Every line of every Stripe webhook file landed in the day's folder, exactly "
    "as delivered, with source_file, line_no, ingested_ts (file arrival) and run_id.",
)
def raw_stripe_events(
    context: dg.AssetExecutionContext, landing: LandingResource, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    zone = landing.get_zone()
    pk = context.partition_key
    files = stripe_files(zone, pk)
    landed = (
        with_loader_columns(
            lines_table(zone.read_bytes(obj.key)),
            partition_key=pk,
            source_file=obj.key,
            ingested_ts=obj.last_modified,
            run_id=context.run_id,
        )
        for obj in files
    )
    with warehouse.connect() as session:
        rows = write_raw_partition(session, RAW_STRIPE_EVENTS, pk, landed)
    return dg.MaterializeResult(metadata={"rows": rows, "files": len(files)})


@dg.multi_asset(
    outs=staging_outs(
        STG_STRIPE_EVENTS,
        QUARANTINE_STRIPE,
        "One valid event per Stripe event id; `copies` counts its deliveries.",
        "Stripe deliveries held back, with the rule they broke.",
    ),
    deps=[RAW_STRIPE_EVENTS.asset_key],
    partitions_def=daily_partitions,
    group_name="payments",
    pool="warehouse_write",
)
def stg_stripe_events(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource
) -> tuple[dg.MaterializeResult, dg.MaterializeResult]:
    """Parse, collapse retries on event id (earliest arrival kept) and validate one day."""
    pk = context.partition_key
    columns = [c.name for c in STG_STRIPE_EVENTS.columns]
    raw = RAW_STRIPE_EVENTS.qualified
    with warehouse.connect() as session:
        files = [str(name) for (name,) in session.fetchall(RAW_FILES.format(raw=raw), (pk,))]
        day = StripeDay(partition_key=pk, run_id=context.run_id, files=files)
        for batch in session.fetch_arrow_batches(RAW_ROWS.format(raw=raw), (pk,), BATCH_ROWS):
            day.add(pl.DataFrame(batch))

        def records(source_file: str, line_nos: list[int]) -> pl.DataFrame:
            rows = pl.DataFrame(session.fetch_arrow(RAW_LINES.format(raw=raw), (pk, source_file)))
            return rows.filter(pl.col("line_no").is_in(line_nos))

        staged, held, counts = day.finish(records)
        write_staged_partition(
            session,
            pk,
            (STG_STRIPE_EVENTS, (chunk.select(columns).to_arrow() for chunk in staged)),
            (QUARANTINE_STRIPE, held.to_arrow()),
        )
    return staging_results(STG_STRIPE_EVENTS, QUARANTINE_STRIPE, counts)
