"""Core-update export and acknowledgement assets: remediation → patch files → acks from the core.

`remediation/core_update_exports` sends a reconciliation date's unsent updates as one patch
file in the landing zone (`lib/core_update_export`), recorded in the ledger. It depends on the
audit asset as well as on the remediation rows, so the blocking spike gate on the audit
(`export_checks`) stops it in the same run; because Dagster's blocking does not reach across
runs (DESIGN §2), it also evaluates the same gate itself before writing anything, so an
export started on its own (UI, retry of the step) cannot bypass it.

`remediation/core_update_acks` loads the core system's ack files into the ack log; its
blocking SLA check reports sent updates nobody acknowledged.
"""

import dagster as dg

from northstar_platform.defs.partitions import daily_partitions
from northstar_platform.layers import AUDIT_PREFERENCE_MISMATCHES, REMEDIATION_CORE_UPDATES
from northstar_platform.lib.core_update_acks import ack_files, load_ack_files
from northstar_platform.lib.core_update_export import export_core_updates, export_correction
from northstar_platform.lib.corrections import record_correction, trigger_from_tags
from northstar_platform.lib.export_gate import read_mismatch_gate
from northstar_platform.resources.landing import LandingResource
from northstar_platform.resources.warehouse import WarehouseResource
from northstar_platform.settings import get_settings, warehouse_kind

GROUP = "remediation"
CORE_UPDATE_EXPORTS = dg.AssetKey(["remediation", "core_update_exports"])
CORE_UPDATE_ACKS = dg.AssetKey(["remediation", "core_update_acks"])
GATE_CHECK = "mismatch_count_within_baseline_and_cap"


@dg.asset(
    key=CORE_UPDATE_EXPORTS,
    deps=[REMEDIATION_CORE_UPDATES.asset_key, AUDIT_PREFERENCE_MISMATCHES.asset_key],
    partitions_def=daily_partitions,
    backfill_policy=dg.BackfillPolicy.multi_run(max_partitions_per_run=1),
    group_name=GROUP,
    kinds={"csv", warehouse_kind()},
    pool="warehouse_write",
    description="The reconciliation date's core updates not sent before, as one CSV patch in "
    "the landing zone (exports/core_updates/<date>/patch-<id>.csv), recorded in "
    "remediation.core_update_ledger. A retry with the same payload sends nothing.",
)
def core_update_exports(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, landing: LandingResource
) -> dg.MaterializeResult:
    settings = get_settings()
    recon_date = context.partition_key
    zone = landing.get_zone()
    with warehouse.connect() as session:
        gate = read_mismatch_gate(
            session,
            recon_date,
            tolerance=settings.preference_spike_tolerance,
            cap=settings.preference_export_cap,
        )
        if not gate.passed:
            raise dg.Failure(
                description=f"export of {recon_date} withheld: {GATE_CHECK} fails, observed "
                f"{gate.observed} mismatches vs threshold {gate.threshold} ({gate.note})",
                metadata=gate.metadata(),
            )
        outcome = export_core_updates(session, zone, recon_date, context.run_id)
        trigger = trigger_from_tags(context.run.tags)
        correction = export_correction(session, zone, outcome, recon_date, context.run_id, trigger)
        if correction:  # DESIGN §5.4: every remediation export is an auditable correction
            record_correction(session, correction)
    if outcome.patch_key:
        context.log.info(f"sent {outcome.newly_sent} updates in {zone.uri(outcome.patch_key)}")
    return dg.MaterializeResult(metadata={**outcome.metadata(), "gate_threshold": gate.threshold})


class AckFilesConfig(dg.Config):
    """Which ack files a run loads."""

    ack_files: list[str] | None = None
    """Landing keys to (re)load; unset = every ack file in the zone; [] = none (the run only
    re-evaluates the SLA check: the schedule's runs)."""


@dg.asset(
    key=CORE_UPDATE_ACKS,
    deps=[CORE_UPDATE_EXPORTS],
    group_name=GROUP,
    kinds={"csv", warehouse_kind()},
    pool="warehouse_write",
    description="The core system's acknowledgements (exports/core_updates_acks/*.csv: "
    "update_hash, applied_at) in remediation.core_update_ack_log; a re-read file replaces "
    "its rows.",
)
def core_update_acks(
    context: dg.AssetExecutionContext,
    config: AckFilesConfig,
    warehouse: WarehouseResource,
    landing: LandingResource,
) -> dg.MaterializeResult:
    zone = landing.get_zone()
    listed = ack_files(zone)
    if config.ack_files is not None:
        wanted = set(config.ack_files)
        missing = sorted(wanted - {o.key for o in listed})
        if missing:  # removed since the sensor saw it: its rows stay, as the log's history
            context.log.warning(f"ack files no longer in the landing zone: {', '.join(missing)}")
        listed = [o for o in listed if o.key in wanted]
    with warehouse.connect() as session:
        loaded = load_ack_files(session, zone, listed)
    return dg.MaterializeResult(
        metadata={
            "files_read": len(listed),
            "acks_loaded": loaded,
            "files": ", ".join(o.key for o in listed) or "none (SLA re-check only)",
        }
    )
