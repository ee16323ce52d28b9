"""Blocking checks of the core-update export: the spike gate before it, the ack SLA after it.

- `mismatch_count_within_baseline_and_cap` on `audit/audit_preference_mismatches`, per
  reconciliation date (`lib/export_gate`): a spike or a count above the cap fails, and the
  export of that date (downstream of the audit) does not run in that run.
- `sent_patches_acknowledged_within_sla` on `remediation/core_update_acks`: every update sent
  more than `NORTHSTAR_PREFERENCE_ACK_SLA_HOURS` ago has an ack from the core system. Acks
  for hashes the ledger never sent are reported, not failed: the core system may apply
  updates from elsewhere, and refusing its acks would hide nothing of ours.

Both are suites (`asset_checks.suite`), so a failure raises an alert naming the observed
value and the threshold.
"""

import datetime as dt
from collections.abc import Callable

import dagster as dg

from asset_checks.suite import Assertion, CheckContext, Verdict, build_check_suite
from northstar_platform.defs.partitions import daily_partitions
from northstar_platform.defs.preferences.export_assets import CORE_UPDATE_ACKS, GATE_CHECK
from northstar_platform.layers import AUDIT_PREFERENCE_MISMATCHES
from northstar_platform.lib.core_update_acks import LISTED, ack_status
from northstar_platform.lib.export_gate import BASELINE_DATES, NOISE_FLOOR_ROWS, read_mismatch_gate
from northstar_platform.settings import get_settings

Clock = Callable[[], dt.datetime]


def utc_now() -> dt.datetime:
    """The wall clock as naive UTC, the way the warehouse stores timestamps."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def mismatch_gate(context: CheckContext) -> Verdict:
    """The run's reconciliation date against its trailing median and the export cap."""
    settings = get_settings()
    gate = read_mismatch_gate(
        context.session,
        context.partition_key or "",
        tolerance=settings.preference_spike_tolerance,
        cap=settings.preference_export_cap,
    )
    return gate.passed, gate.metadata()


def acknowledged_within_sla(clock: Clock = utc_now) -> Callable[[CheckContext], Verdict]:
    """Fails while any ledger row older than the SLA has no ack (`clock` for tests)."""

    def evaluate(context: CheckContext) -> Verdict:
        sla_hours = get_settings().preference_ack_sla_hours
        status = ack_status(context.session, clock() - dt.timedelta(hours=sla_hours))
        overdue = [
            {"update_hash": h, "patch_key": k, "sent_at": s.isoformat(sep=" ")}
            for h, k, s in status.overdue_listed
        ]
        patch_files = sorted({row["patch_key"] for row in overdue})
        note = ""
        if status.overdue:
            note = (
                f"{status.overdue} sent updates without an ack after {sla_hours:g} h, e.g. "
                + ", ".join(f"{r['update_hash'][:12]}… in {r['patch_key']}" for r in overdue[:3])
            )
        elif status.unknown:
            note = f"{status.unknown} acked hashes were never sent by this platform"
        return status.overdue == 0, {
            "observed": status.overdue,
            "threshold": 0,
            "sla_hours": sla_hours,
            "overdue": dg.MetadataValue.json(overdue),
            "overdue_patch_files": ", ".join(patch_files) or "none",
            "acknowledged": status.acknowledged,
            "awaiting_within_sla": status.awaiting,
            "unknown_acked_hashes": status.unknown,
            "unknown_acked_sample": dg.MetadataValue.json(status.unknown_listed),
            "listed_at_most": LISTED,
            "note": note,
        }

    return evaluate


def build_export_gate() -> dg.AssetChecksDefinition:
    """The spike gate suite on the audit asset, per reconciliation date."""
    return build_check_suite(
        "preference_export_gate",
        [
            Assertion(
                AUDIT_PREFERENCE_MISMATCHES.asset_key,
                GATE_CHECK,
                f"The date's mismatches <= the export cap (NORTHSTAR_PREFERENCE_EXPORT_CAP, "
                f"50,000) and not a spike: above the median of the last {BASELINE_DATES} "
                f"earlier dates with rows by more than NORTHSTAR_PREFERENCE_SPIKE_TOLERANCE "
                f"(50%) and by >= {NOISE_FLOOR_ROWS} rows fails. Blocks the export.",
                mismatch_gate,
            )
        ],
        partitions_def=daily_partitions,
        required_resource_keys={"warehouse"},
    )


def build_ack_checks(clock: Clock = utc_now) -> dg.AssetChecksDefinition:
    """The acknowledgement SLA suite on the ack asset (`clock` is the SLA's "now")."""
    return build_check_suite(
        "core_update_ack_checks",
        [
            Assertion(
                CORE_UPDATE_ACKS,
                "sent_patches_acknowledged_within_sla",
                "Every update_hash sent more than NORTHSTAR_PREFERENCE_ACK_SLA_HOURS (24) ago "
                "has an ack from the core system; acks of unknown hashes are reported.",
                acknowledged_within_sla(clock),
            )
        ],
        partitions_def=None,
        required_resource_keys={"warehouse"},
    )


PREFERENCE_EXPORT_CHECKS = [build_export_gate(), build_ack_checks()]
