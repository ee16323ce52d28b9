"""A new Stripe file in the landing zone (folder or bucket) materializes its day."""

import datetime as dt
import re

import dagster as dg

from northstar_platform.lib.landing_cursor import Cursor, requests_by_partition, unseen
from northstar_platform.resources.landing import LandingResource

STRIPE_KEY = re.compile(r"^stripe/(\d{4})/(\d{2})/(\d{2})/[^/]+\.jsonl$")

ingest_stripe_job = dg.define_asset_job(
    "ingest_stripe_job",
    selection=dg.AssetSelection.groups("payments"),
    description="Load, validate and de-duplicate one landing day of Stripe webhook files.",
)


def stripe_partition(key: str) -> str | None:
    """The landing day of a Stripe file key, or None for keys that are not Stripe files."""
    match = STRIPE_KEY.match(key)
    if not match:
        return None
    try:
        return dt.date(*(int(part) for part in match.groups())).isoformat()
    except ValueError:
        return None


@dg.sensor(
    job=ingest_stripe_job,
    minimum_interval_seconds=30,
    # On from the start: a file dropped while `dagster dev` runs is ingested without a click.
    default_status=dg.DefaultSensorStatus.RUNNING,
)
def stripe_files_sensor(
    context: dg.SensorEvaluationContext, landing: LandingResource
) -> dg.SensorResult:
    """One run per landing day that received new or replaced files since the last tick.

    Reads only the landing zone, never the warehouse (DuckDB admits one writer process).
    """
    cursor = Cursor.from_json(context.cursor)
    new, advanced = unseen(landing.get_zone().list("stripe/"), cursor)
    runs = [
        dg.RunRequest(run_key=run_key, partition_key=partition)
        for partition, run_key in requests_by_partition(new, stripe_partition).items()
    ]
    return dg.SensorResult(run_requests=runs, cursor=advanced.to_json())
