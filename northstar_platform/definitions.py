"""The one entry point of the code location: every domain's assets, check suites, jobs and sensors.

Platform-wide policy lives here once: the in-process executor (DuckDB admits one writer
process, DESIGN §3) and the resources bound from the settings.
"""

import dagster as dg

from northstar_platform.defs.dbt import northstar_dbt_models, preference_reconciliation_models
from northstar_platform.defs.dsr.assets import dsr_discovery
from northstar_platform.defs.dsr.checks import DSR_CHECKS
from northstar_platform.defs.dsr.jobs import (
    check_dsr_sla_job,
    discover_dsr_job,
    erase_dsr_subject_job,
)
from northstar_platform.defs.dsr.sensors import check_dsr_sla_job_schedule, dsr_requests_sensor
from northstar_platform.defs.finance.assets import raw_finance_revenue, stg_finance_revenue
from northstar_platform.defs.finance.checks import FINANCE_CHECKS
from northstar_platform.defs.finance.sensors import finance_files_sensor, ingest_finance_job
from northstar_platform.defs.fulfillment.assets import raw_wms_shipments, stg_wms_shipments
from northstar_platform.defs.fulfillment.checks import WMS_CHECKS
from northstar_platform.defs.fulfillment.sensors import ingest_wms_job, wms_files_sensor
from northstar_platform.defs.ops.parity_assets import check_shadow_parity_job, parity_report
from northstar_platform.defs.ops.parity_checks import shadow_matches_production
from northstar_platform.defs.ops.retention import apply_retention_job, apply_retention_job_schedule
from northstar_platform.defs.ops.root_cause import audit_root_cause
from northstar_platform.defs.ops.sensors import pipeline_run_log_sensor, record_pipeline_runs_job
from northstar_platform.defs.orders.assets import landing_orders, raw_orders, stg_orders
from northstar_platform.defs.orders.checks import ORDERS_CHECKS
from northstar_platform.defs.orders.schedules import (
    materialize_orders_job,
    materialize_orders_job_schedule,
)
from northstar_platform.defs.payments.assets import raw_stripe_events, stg_stripe_events
from northstar_platform.defs.payments.checks import STRIPE_CHECKS
from northstar_platform.defs.payments.sensors import ingest_stripe_job, stripe_files_sensor
from northstar_platform.defs.preferences.assets import raw_privacy_events, stg_privacy_events
from northstar_platform.defs.preferences.checks import PRIVACY_CHECKS
from northstar_platform.defs.preferences.export_assets import core_update_acks, core_update_exports
from northstar_platform.defs.preferences.export_checks import PREFERENCE_EXPORT_CHECKS
from northstar_platform.defs.preferences.export_sensors import (
    core_update_acks_sensor,
    ingest_core_update_acks_job,
    ingest_core_update_acks_job_schedule,
)
from northstar_platform.defs.preferences.schedules import (
    reconcile_preferences_job,
    reconcile_preferences_job_schedule,
)
from northstar_platform.defs.preferences.sensors import ingest_privacy_job, privacy_files_sensor
from northstar_platform.defs.reconciliation.checks import RECONCILIATION_CHECKS
from northstar_platform.defs.resources import build_resources
from northstar_platform.defs.sync.assets import build_sync_assets
from northstar_platform.defs.sync.checks import build_sync_checks
from northstar_platform.defs.sync.schedules import sync_postgres_job, sync_postgres_job_schedule
from northstar_platform.lib.sync_config import load_sync_tables
from northstar_platform.settings import Settings, get_settings


def build_definitions(settings: Settings | None = None) -> dg.Definitions:
    """Every asset, check, job, schedule and resource of the platform."""
    settings = settings or get_settings()
    synced = load_sync_tables(settings.sync_config)
    return dg.Definitions(
        assets=[
            landing_orders,
            raw_orders,
            stg_orders,
            raw_stripe_events,
            stg_stripe_events,
            raw_wms_shipments,
            stg_wms_shipments,
            raw_finance_revenue,
            stg_finance_revenue,
            raw_privacy_events,
            stg_privacy_events,
            northstar_dbt_models,
            audit_root_cause,
            preference_reconciliation_models,
            core_update_exports,
            core_update_acks,
            parity_report,
            dsr_discovery,
            *(a for table in synced for a in build_sync_assets(table)),
        ],
        asset_checks=[
            *ORDERS_CHECKS,
            *STRIPE_CHECKS,
            *WMS_CHECKS,
            *FINANCE_CHECKS,
            *PRIVACY_CHECKS,
            *RECONCILIATION_CHECKS,
            *PREFERENCE_EXPORT_CHECKS,
            shadow_matches_production,
            *DSR_CHECKS,
            *(c for table in synced for c in build_sync_checks(table)),
        ],
        jobs=[
            materialize_orders_job,
            sync_postgres_job,
            ingest_stripe_job,
            ingest_wms_job,
            ingest_finance_job,
            ingest_privacy_job,
            reconcile_preferences_job,
            ingest_core_update_acks_job,
            check_shadow_parity_job,
            record_pipeline_runs_job,
            discover_dsr_job,
            check_dsr_sla_job,
            erase_dsr_subject_job,
            apply_retention_job,
        ],
        sensors=[
            stripe_files_sensor,
            wms_files_sensor,
            finance_files_sensor,
            privacy_files_sensor,
            core_update_acks_sensor,
            pipeline_run_log_sensor,
            dsr_requests_sensor,
        ],
        schedules=[
            materialize_orders_job_schedule,
            sync_postgres_job_schedule,
            reconcile_preferences_job_schedule,
            ingest_core_update_acks_job_schedule,
            check_dsr_sla_job_schedule,
            apply_retention_job_schedule,
        ],
        resources=build_resources(settings),
        executor=dg.in_process_executor,
    )


defs = build_definitions()
