"""The sync runs every 15 minutes (DESIGN §6: orders and payments cadence)."""

import dagster as dg

from northstar_platform.defs.sync.assets import SYNC_GROUP

sync_postgres_job = dg.define_asset_job(
    "sync_postgres_job",
    selection=dg.AssetSelection.groups(SYNC_GROUP),
    description="Export every configured PostgreSQL table's changes, stage them and merge "
    "them into FINAL. Set `full_refresh: true` in an export's config for a one-off reload.",
)

sync_postgres_job_schedule = dg.ScheduleDefinition(
    job=sync_postgres_job, cron_schedule="*/15 * * * *", execution_timezone="UTC"
)
