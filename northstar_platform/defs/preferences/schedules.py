"""The daily preference reconciliation: dbt models, spike gate and export, one date per run.

Seed 000 runs the reconciliation at 06:00 UTC with `max_active_runs=1`: two runs of it at the
same time could both read the ledger before either records its hashes and send a patch
twice. The job's runs carry the tag `northstar/concurrency: reconcile_preferences`, limited to
one active run by `dagster.yaml`'s `run_queue.tag_concurrency_limits`.
"""

import datetime as dt

import dagster as dg

from northstar_platform.defs.partitions import daily_partitions
from northstar_platform.defs.preferences.export_assets import CORE_UPDATE_EXPORTS

CONCURRENCY_TAG = "northstar/concurrency"
RECONCILE_PREFERENCES = "reconcile_preferences"

reconcile_preferences_job = dg.define_asset_job(
    "reconcile_preferences_job",
    selection=dg.AssetSelection.from_string("tag:preferences and kind:dbt")
    | dg.AssetSelection.assets(CORE_UPDATE_EXPORTS),
    partitions_def=daily_partitions,
    tags={CONCURRENCY_TAG: RECONCILE_PREFERENCES},
    description="Reconcile one date's privacy and core preferences (scope seed, latest "
    "states, mismatch audit, remediation), gate on the mismatch spike check and export the "
    "unsent core updates.",
)


@dg.schedule(
    job=reconcile_preferences_job,
    cron_schedule="0 6 * * *",
    execution_timezone="UTC",
    name="reconcile_preferences_job_schedule",
)
def reconcile_preferences_job_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    """Yesterday's date: its privacy landing day is complete by 06:00 UTC. The run key makes a
    tick that is evaluated twice start one run."""
    day = (context.scheduled_execution_time - dt.timedelta(days=1)).strftime("%Y-%m-%d")
    return dg.RunRequest(run_key=f"reconcile_preferences:{day}", partition_key=day)
