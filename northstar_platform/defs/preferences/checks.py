"""Privacy checks: every delivered line is accounted for, the 1% quarantine gate, the volume.

Counted the Stripe way: landed lines are counted from the files again (not from what the
asset wrote), so a step that drops lines cannot hide it; held lines are summed from
`held_rows`, so a record standing for several raw rows still balances.
"""

from asset_checks import (
    CheckContext,
    build_check_suite,
    conserves_records,
    matches_contract,
    max_rate,
    no_duplicates,
    volume_within_baseline,
)
from northstar_platform.defs.partitions import daily_partitions
from northstar_platform.defs.preferences.assets import landed_privacy_files
from northstar_platform.layers import QUARANTINE_PRIVACY, RAW_PRIVACY_EVENTS, STG_PRIVACY_EVENTS
from northstar_platform.lib.landed_lines import count_lines
from northstar_platform.settings import get_settings

VOLUME_WINDOW = 14
"""Daily partitions in the volume baseline (issue 4: the last 14)."""

ROWS = f"select count(*) from {RAW_PRIVACY_EVENTS.qualified} where partition_key = ?"  # noqa: S608
STAGED = f"select count(*) from {STG_PRIVACY_EVENTS.qualified} where partition_key = ?"  # noqa: S608
HELD = f"select coalesce(sum(held_rows), 0) from {QUARANTINE_PRIVACY.qualified} where partition_key = ?"  # noqa: S608, E501
COLLAPSED = f"select coalesce(sum(copies - 1), 0) from {STG_PRIVACY_EVENTS.qualified} where partition_key = ?"  # noqa: S608, E501


def _landed(ctx: CheckContext) -> dict[str, int]:
    files = landed_privacy_files(ctx.zone, ctx.partition_key or "")
    return {"landed_lines": sum(count_lines(ctx.zone.read_bytes(o.key)) for o in files)}


def _raw(ctx: CheckContext) -> dict[str, int]:
    return {"raw": ctx.count(ROWS, (ctx.partition_key,))}


def _outcomes(ctx: CheckContext) -> dict[str, int]:
    pk = (ctx.partition_key,)
    return {
        "staged": ctx.count(STAGED, pk),
        "quarantined": ctx.count(HELD, pk),
        "collapsed_copies": ctx.count(COLLAPSED, pk),
    }


def _quarantine_ratio(ctx: CheckContext) -> tuple[int, int]:
    pk = (ctx.partition_key,)
    return ctx.count(HELD, pk), ctx.count(ROWS, pk)


PRIVACY_CHECKS = [
    build_check_suite(
        "raw_privacy_events_checks",
        [
            volume_within_baseline(
                RAW_PRIVACY_EVENTS,
                window=VOLUME_WINDOW,
                tolerance=lambda: get_settings().landing_volume_tolerance,
            ),
            conserves_records(
                RAW_PRIVACY_EVENTS.asset_key,
                description="Lines in the day's landed privacy files = rows in raw_privacy_events.",
                inputs=_landed,
                outputs=_raw,
            ),
            matches_contract(RAW_PRIVACY_EVENTS),
        ],
        partitions_def=daily_partitions,
        required_resource_keys={"landing", "warehouse"},
    ),
    build_check_suite(
        "stg_privacy_events_checks",
        [
            conserves_records(
                STG_PRIVACY_EVENTS.asset_key,
                description="raw rows = staged records + quarantined lines (sum of held_rows) + "
                "collapsed copies of re-sent records.",
                inputs=_raw,
                outputs=_outcomes,
            ),
            max_rate(
                STG_PRIVACY_EVENTS.asset_key,
                name="quarantine_rate_within_threshold",
                description="Quarantined lines / raw lines of the day stay at or under "
                "NORTHSTAR_LANDING_QUARANTINE_MAX_RATE (default 1%).",
                ratio=_quarantine_ratio,
                threshold=lambda: get_settings().landing_quarantine_max_rate,
            ),
            no_duplicates(
                STG_PRIVACY_EVENTS, keys=["source_record_id"], name="no_duplicate_source_record_id"
            ),
            matches_contract(STG_PRIVACY_EVENTS),
            matches_contract(QUARANTINE_PRIVACY),
        ],
        partitions_def=daily_partitions,
        required_resource_keys={"warehouse"},
    ),
]
"""The privacy slice's checks, in two suites: after the raw load and after staging."""
