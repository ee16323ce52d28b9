"""Payments: Stripe webhook files → raw_stripe_events → stg_stripe_events + quarantine_stripe.

Partitioned by landing day (the `stripe/YYYY/MM/DD/` folder): a file that lands late in an
old day's folder re-materializes that day (the sensor asks for it), and the partition is
rebuilt from every file in the folder, so the result does not depend on arrival order.

A day can hold millions of lines (issue 4: 8M, ~3 GB): raw is written file by file inside
its one transaction, so memory follows the largest file, not the day.
"""

import dagster as dg
import polars as pl
import pyarrow as pa

from northstar_platform.defs.partitions import daily_partitions
from northstar_platform.defs.staging import staging_outs, staging_results, write_staged_partition
from northstar_platform.layers import (
    QUARANTINE_STRIPE,
    RAW_STRIPE_EVENTS,
    STG_STRIPE_EVENTS,
)
from northstar_platform.lib.landed_lines import lines_table, split_lines
from northstar_platform.lib.loading import collapse_duplicates, date_path, with_loader_columns
from northstar_platform.lib.quarantine import quarantine_rows
from northstar_platform.lib.stripe_events import STRIPE_RULES, parse_records
from northstar_platform.lib.validation import validate_rows
from northstar_platform.resources.landing import LandingResource
from northstar_platform.resources.warehouse import WarehouseResource

__all__ = ["raw_stripe_events", "split_lines", "stg_stripe_events", "stripe_prefix"]


def stripe_prefix(partition_key: str) -> str:
    """The landing folder of one day's Stripe deliveries."""
    return f"stripe/{date_path(partition_key)}/"


@dg.asset(
    key=RAW_STRIPE_EVENTS.asset_key,
    partitions_def=daily_partitions,
    group_name="payments",
    kinds={"duckdb"},
    pool="warehouse_write",
    description="Every line of every Stripe webhook file landed in the day's folder, exactly "
    "as delivered, with source_file, line_no, ingested_ts (file arrival) and run_id.",
)
def raw_stripe_events(
    context: dg.AssetExecutionContext, landing: LandingResource, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    zone = landing.get_zone()
    pk = context.partition_key
    files = [o for o in zone.list(stripe_prefix(pk)) if o.key.endswith(".jsonl")]
    rows = 0
    with warehouse.connect() as session:
        session.ensure_table(RAW_STRIPE_EVENTS)
        with session.transaction():
            session.replace_partition(RAW_STRIPE_EVENTS, pk, pa.table({}))
            for obj in files:
                landed = with_loader_columns(
                    lines_table(zone.read_bytes(obj.key)),
                    partition_key=pk,
                    source_file=obj.key,
                    ingested_ts=obj.last_modified,
                    run_id=context.run_id,
                )
                rows += session.insert_arrow(RAW_STRIPE_EVENTS, landed)
    # Arrow keeps the freed pages of ~3 GB of text for reuse; staging allocates elsewhere.
    pa.default_memory_pool().release_unused()
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
    with warehouse.connect() as session:
        raw = pl.from_arrow(session.fetch_partition(RAW_STRIPE_EVENTS, pk))
        assert isinstance(raw, pl.DataFrame)
        parsed = parse_records(raw)
        unparsed = parsed.filter(pl.col("parse_rule").is_not_null()).with_columns(
            rule=pl.col("parse_rule"), reason=pl.col("parse_reason")
        )
        events = parsed.filter(pl.col("parse_rule").is_null())
        copies = events.filter(pl.col("event_id").is_not_null()).group_by("event_id").len("copies")
        kept, _ = collapse_duplicates(events, ["event_id"])
        kept = kept.join(copies, on="event_id", how="left").with_columns(
            pl.col("copies").fill_null(1).cast(pl.Int64)
        )
        result = validate_rows(kept, STRIPE_RULES, "raw.raw_stripe_events")
        # A held event holds every delivery of it: retries count as collapsed only into a
        # staged event (`copies`), so raw = staged + quarantined + sum(copies - 1) holds.
        held_ids = result.quarantined.filter(pl.col("event_id").is_not_null())
        held_events = pl.concat(
            [
                events.join(held_ids.select("event_id", "rule", "reason"), on="event_id"),
                result.quarantined.filter(pl.col("event_id").is_null()),
            ],
            how="diagonal_relaxed",
        )
        duplicates = int(result.valid["copies"].sum() - result.valid.height)
        held = quarantine_rows(
            pl.concat([unparsed, held_events], how="diagonal_relaxed"),
            source="stripe",
            record_ref="event_id",
            business_columns=["record"],
            run_id=context.run_id,
        )
        staged = result.valid.with_columns(
            created_at=pl.from_epoch("created", time_unit="s").cast(pl.Datetime("us")),
            run_id=pl.lit(context.run_id),
        ).select([c.name for c in STG_STRIPE_EVENTS.columns])
        write_staged_partition(
            session,
            pk,
            (STG_STRIPE_EVENTS, staged.to_arrow()),
            (QUARANTINE_STRIPE, held.to_arrow()),
        )
    counts = {
        "rows_in": raw.height,
        "staged": staged.height,
        "quarantined": held.height,
        "duplicates_collapsed": duplicates,
    }
    return staging_results(STG_STRIPE_EVENTS, QUARANTINE_STRIPE, counts)
