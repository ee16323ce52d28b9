"""`apply_retention_job`: the daily purge of landed files past 90 days and warehouse
partitions past 2 years (`northstar_platform/retention.py`), scheduled at 03:00 UTC.

An op job, not an asset: it produces nothing to look at, it only removes. Its run shows what
it removed (metadata) and each purged table is a RETENTION_PURGE row in ops.audit_corrections.
"""

import datetime as dt

import dagster as dg

from northstar_platform.lib.corrections import trigger_from_tags
from northstar_platform.resources.landing import LandingResource
from northstar_platform.resources.warehouse import WarehouseResource
from northstar_platform.retention import run_retention
from northstar_platform.settings import get_settings


class RetentionConfig(dg.Config):
    """`dry_run: true` lists what would go and removes nothing."""

    dry_run: bool = False


@dg.op(
    description="Delete landed files past the landing retention and warehouse partitions "
    "past the warehouse retention; record each purged table in ops.audit_corrections.",
    pool="warehouse_write",
)
def apply_retention(
    context: dg.OpExecutionContext,
    config: RetentionConfig,
    warehouse: WarehouseResource,
    landing: LandingResource,
) -> dg.Output[int]:
    done = run_retention(
        landing.get_zone(),
        warehouse,
        get_settings().retention,
        dt.datetime.now(dt.UTC),
        run_id=context.run_id,
        trigger=trigger_from_tags(context.run.tags),
        dry_run=config.dry_run,
    )
    verb = "would remove" if config.dry_run else "removed"
    context.log.info(
        f"{verb} {len(done.files)} landed files that arrived before {done.landing_cutoff} and "
        f"{done.rows} rows of {len(done.tables)} tables before {done.warehouse_cutoff}"
    )
    return dg.Output(
        done.rows,
        metadata={
            "dry_run": config.dry_run,
            "landed_files": len(done.files),
            "landed_bytes": sum(f.size for f in done.files),
            "warehouse_rows": {f"{t.schema}.{t.table}": t.removed.rows for t in done.tables},
            "warehouse_cutoff": done.warehouse_cutoff,
        },
    )


@dg.job(
    description="Retention (seed 002): landed files 90 days, warehouse partitions 2 years "
    "(NORTHSTAR_RETENTION_*). Set `dry_run: true` in the op config to only list them."
)
def apply_retention_job() -> None:
    apply_retention()


apply_retention_job_schedule = dg.ScheduleDefinition(
    job=apply_retention_job, cron_schedule="0 3 * * *", execution_timezone="UTC"
)
