"""New ack files from the core system → a run that loads them and re-checks the ack SLA.

The same cursor as the landing sensors (`lib/landing_cursor`): newest arrival seen plus the
`key:etag` of the files at that instant, so a replaced file is seen again and identical
content landed again starts no run. Ack files are not partitioned: every new or replaced file
of one tick goes into one run, named in its config. Like every sensor here it reads only the
landing zone, never the warehouse (DESIGN §3).
"""

import dagster as dg

from northstar_platform.defs.preferences.export_assets import CORE_UPDATE_ACKS, AckFilesConfig
from northstar_platform.lib.core_update_acks import ACK_PREFIX, is_ack_file
from northstar_platform.lib.landing_cursor import Cursor, requests_by_partition, unseen
from northstar_platform.resources.landing import LandingResource

ACKS_OP = CORE_UPDATE_ACKS.to_python_identifier()

ingest_core_update_acks_job = dg.define_asset_job(
    "ingest_core_update_acks_job",
    selection=dg.AssetSelection.assets(CORE_UPDATE_ACKS),
    description="Load the core system's ack files into remediation.core_update_ack_log and "
    "check that every patch sent more than the SLA ago was acknowledged.",
)


def ack_run_config(keys: list[str]) -> dg.RunConfig:
    """Run config that loads exactly `keys` ([] = none: only the SLA check is evaluated)."""
    return dg.RunConfig(ops={ACKS_OP: AckFilesConfig(ack_files=keys)})


@dg.sensor(
    name="core_update_acks_sensor",
    job=ingest_core_update_acks_job,
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=f"New or replaced ack files under `{ACK_PREFIX}` → one run loading them.",
)
def core_update_acks_sensor(
    context: dg.SensorEvaluationContext, landing: LandingResource
) -> dg.SensorResult:
    cursor = Cursor.from_json(context.cursor)
    new, advanced = unseen(landing.get_zone().list(ACK_PREFIX), cursor)
    files = sorted(o.key for o in new if is_ack_file(o.key))
    # One pseudo-partition for all ack files: the helper's run key hashes every key:etag.
    run_keys = requests_by_partition(new, lambda key: "acks" if is_ack_file(key) else None)
    runs = [
        dg.RunRequest(run_key=run_key, run_config=ack_run_config(files))
        for run_key in run_keys.values()
    ]
    return dg.SensorResult(run_requests=runs, cursor=advanced.to_json())


@dg.schedule(
    job=ingest_core_update_acks_job,
    cron_schedule="30 * * * *",
    execution_timezone="UTC",
    name="ingest_core_update_acks_job_schedule",
)
def ingest_core_update_acks_job_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    """Hourly SLA re-check without loading anything: when the core system goes silent no ack
    file arrives, so the sensor alone would never evaluate the SLA."""
    return dg.RunRequest(run_key=None, run_config=ack_run_config([]))
