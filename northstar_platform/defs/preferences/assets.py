"""Preferences: privacy-system drops → raw_privacy_events → stg_privacy_events + quarantine_privacy.

Partitioned by landing day (the `privacy/YYYY/MM/DD/` folder), as the Stripe slice: a file
landing late in an old day's folder re-materializes that day (the sensor asks for it), and
the partition is rebuilt from every file in the folder, so the result does not depend on
arrival order. Only files the sensor would ask for (`*.jsonl` directly in the day's folder)
are read, so what the sensor sees and what the day holds are the same set.
"""

import dagster as dg
import polars as pl

from northstar_platform.defs.landing_sensor import daily_partition_of
from northstar_platform.defs.partitions import daily_partitions
from northstar_platform.defs.staging import (
    staging_outs,
    staging_results,
    write_raw_partition,
    write_staged_partition,
)
from northstar_platform.layers import QUARANTINE_PRIVACY, RAW_PRIVACY_EVENTS, STG_PRIVACY_EVENTS
from northstar_platform.lib.landed_lines import lines_table
from northstar_platform.lib.loading import date_path, with_loader_columns
from northstar_platform.lib.privacy_events import stage_events
from northstar_platform.lib.quarantine import quarantine_rows
from northstar_platform.resources.landing import LandingObject, LandingResource, LandingZone
from northstar_platform.resources.warehouse import WarehouseResource
from northstar_platform.settings import warehouse_kind

GROUP = "preferences"
RAW_LABEL = f"{RAW_PRIVACY_EVENTS.layer.value}.{RAW_PRIVACY_EVENTS.name}"
"""How quarantine reasons name the table a rule read (`raw.raw_privacy_events`)."""

privacy_partition = daily_partition_of("privacy", "jsonl")
"""The landing day of a privacy file key, or None for keys that are not privacy drops."""


def privacy_prefix(partition_key: str) -> str:
    """The landing folder of one day's privacy drops."""
    return f"privacy/{date_path(partition_key)}/"


def landed_privacy_files(zone: LandingZone, partition_key: str) -> list[LandingObject]:
    """The day's privacy files, by key: the ones the sensor maps to this partition."""
    listed = zone.list(privacy_prefix(partition_key))
    return [o for o in listed if privacy_partition(o.key) == partition_key]


@dg.asset(
    key=RAW_PRIVACY_EVENTS.asset_key,
    partitions_def=daily_partitions,
    group_name=GROUP,
    kinds={warehouse_kind()},
    pool="warehouse_write",
    description="Every line of every privacy-system preference file landed in the day's "
    "folder, exactly as delivered, with source_file, line_no, ingested_ts (file arrival) "
    "and run_id.",
)
def raw_privacy_events(
    context: dg.AssetExecutionContext, landing: LandingResource, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    zone = landing.get_zone()
    files = landed_privacy_files(zone, context.partition_key)
    landed = (
        with_loader_columns(
            lines_table(zone.read_bytes(obj.key)),
            partition_key=context.partition_key,
            source_file=obj.key,
            ingested_ts=obj.last_modified,
            run_id=context.run_id,
        )
        for obj in files
    )
    with warehouse.connect() as session:
        rows = write_raw_partition(session, RAW_PRIVACY_EVENTS, context.partition_key, landed)
    return dg.MaterializeResult(metadata={"rows": rows, "files": len(files)})


@dg.multi_asset(
    outs=staging_outs(
        STG_PRIVACY_EVENTS,
        QUARANTINE_PRIVACY,
        "One valid preference event per source_record_id (earliest delivery kept, also when "
        "a later delivery differs); `copies` counts its deliveries; event_ts in UTC.",
        "Privacy-system lines held back, with the rule they broke.",
    ),
    deps=[RAW_PRIVACY_EVENTS.asset_key],
    partitions_def=daily_partitions,
    group_name=GROUP,
    pool="warehouse_write",
)
def stg_privacy_events(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource
) -> tuple[dg.MaterializeResult, dg.MaterializeResult]:
    """Parse, collapse re-sent records on source_record_id and validate one day.

    The earliest delivery of a source_record_id is the record, later ones count in `copies`
    even when their content differs (see `lib/privacy_events.stage_events`).
    """
    pk = context.partition_key
    with warehouse.connect() as session:
        raw = pl.from_arrow(session.fetch_partition(RAW_PRIVACY_EVENTS, pk))
        assert isinstance(raw, pl.DataFrame)
        split = stage_events(raw, RAW_LABEL)
        held = quarantine_rows(
            split.held,
            source="privacy",
            record_ref="source_record_id",
            business_columns=["record"],
            run_id=context.run_id,
        )
        staged = split.staged.with_columns(
            event_ts=pl.col("event_ts_utc"), run_id=pl.lit(context.run_id)
        ).select(STG_PRIVACY_EVENTS.column_names)
        write_staged_partition(
            session,
            pk,
            (STG_PRIVACY_EVENTS, staged.to_arrow()),
            (QUARANTINE_PRIVACY, held.to_arrow()),
        )
    counts = {
        "rows_in": raw.height,
        "staged": staged.height,
        "quarantined": held.height,
        "duplicates_collapsed": split.collapsed,
    }
    return staging_results(STG_PRIVACY_EVENTS, QUARANTINE_PRIVACY, counts)
