"""Orders run every 15 minutes on today's partition (DESIGN §6)."""

import dagster as dg

from northstar_platform.defs.partitions import daily_partitions

materialize_orders_job = dg.define_asset_job(
    "materialize_orders_job",
    selection=dg.AssetSelection.groups("orders").downstream(),
    partitions_def=daily_partitions,
    description="Export today's order changes and carry them through staging, curated, "
    "audit and marts.",
)


@dg.schedule(job=materialize_orders_job, cron_schedule="*/15 * * * *", execution_timezone="UTC")
def materialize_orders_job_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    """Today's partition; a late change to an older day is picked up by the marts' lookback."""
    day = context.scheduled_execution_time.strftime("%Y-%m-%d")
    return dg.RunRequest(run_key=None, partition_key=day)
