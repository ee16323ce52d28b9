"""A new Stripe file in the landing zone (folder or bucket) materializes its day."""

import dagster as dg

from northstar_platform.defs.landing_sensor import build_landing_sensor, daily_partition_of

ingest_stripe_job = dg.define_asset_job(
    "ingest_stripe_job",
    selection=dg.AssetSelection.groups("payments"),
    description="Load, validate and de-duplicate one landing day of Stripe webhook files.",
)

stripe_partition = daily_partition_of("stripe", "jsonl")
"""The landing day of a Stripe file key, or None for keys that are not Stripe files."""

stripe_files_sensor = build_landing_sensor(
    name="stripe_files_sensor",
    source="stripe",
    partition_of=stripe_partition,
    job=ingest_stripe_job,
)
