"""Privacy checks: every delivered line is accounted for, the 1% quarantine gate, the volume.

Counted the Stripe way: landed lines are counted from the files again (not from what the
asset wrote), so a step that drops lines cannot hide it; held lines are summed from
`held_rows`, so a record standing for several raw rows still balances.
"""

from collections.abc import Mapping
from typing import Any

import dagster as dg

from asset_checks import build_conservation_check, build_max_rate_check
from asset_checks.baseline import build_volume_spike_check
from northstar_platform.defs.partitions import daily_partitions
from northstar_platform.defs.payments.assets import split_lines
from northstar_platform.defs.preferences.assets import landed_privacy_files
from northstar_platform.layers import (
    QUARANTINE_PRIVACY,
    RAW_PRIVACY_EVENTS,
    STG_PRIVACY_EVENTS,
    Table,
)
from northstar_platform.settings import get_settings

VOLUME_WINDOW = 14
"""Daily partitions in the volume baseline (issue 4: the last 14)."""

ROWS = "select count(*) from {table} where partition_key = ?"
HELD = "select coalesce(sum(held_rows), 0) from {table} where partition_key = ?"
COLLAPSED = "select coalesce(sum(copies - 1), 0) from {table} where partition_key = ?"


def _count(resources: Mapping[str, Any], table: Table, sql: str, partition_key: str) -> int:
    """One number about one partition of `table`; 0 when the table was never written."""
    with resources["warehouse"].connect() as session:
        if not session.table_exists(table.layer.value, table.name):
            return 0
        row = session.fetchone(sql.format(table=table.qualified), (partition_key,))
    return int(row[0]) if row and row[0] is not None else 0


def _landed(context: dg.AssetCheckExecutionContext, resources: Mapping[str, Any]) -> dict[str, int]:
    zone = resources["landing"].get_zone()
    files = landed_privacy_files(zone, context.partition_key)
    return {"landed_lines": sum(len(split_lines(zone.read_bytes(o.key))) for o in files)}


def _raw(context: dg.AssetCheckExecutionContext, resources: Mapping[str, Any]) -> dict[str, int]:
    return {"raw": _count(resources, RAW_PRIVACY_EVENTS, ROWS, context.partition_key)}


def _outcomes(
    context: dg.AssetCheckExecutionContext, resources: Mapping[str, Any]
) -> dict[str, int]:
    pk = context.partition_key
    return {
        "staged": _count(resources, STG_PRIVACY_EVENTS, ROWS, pk),
        "quarantined": _count(resources, QUARANTINE_PRIVACY, HELD, pk),
        "collapsed_copies": _count(resources, STG_PRIVACY_EVENTS, COLLAPSED, pk),
    }


def _quarantine_ratio(
    context: dg.AssetCheckExecutionContext, resources: Mapping[str, Any]
) -> tuple[int, int]:
    pk = context.partition_key
    held = _count(resources, QUARANTINE_PRIVACY, HELD, pk)
    return held, _count(resources, RAW_PRIVACY_EVENTS, ROWS, pk)


PRIVACY_CHECKS = [
    build_volume_spike_check(
        RAW_PRIVACY_EVENTS,
        window=VOLUME_WINDOW,
        tolerance=lambda: get_settings().landing_volume_tolerance,
        partitions_def=daily_partitions,
    ),
    build_conservation_check(
        RAW_PRIVACY_EVENTS.asset_key,
        description="Lines in the day's landed privacy files = rows in raw_privacy_events.",
        inputs=_landed,
        outputs=_raw,
        required_resource_keys={"landing", "warehouse"},
        partitions_def=daily_partitions,
    ),
    build_conservation_check(
        STG_PRIVACY_EVENTS.asset_key,
        description="raw rows = staged records + quarantined lines (sum of held_rows) + "
        "collapsed copies of re-sent records.",
        inputs=_raw,
        outputs=_outcomes,
        required_resource_keys={"warehouse"},
        partitions_def=daily_partitions,
    ),
    build_max_rate_check(
        STG_PRIVACY_EVENTS.asset_key,
        name="quarantine_rate_within_threshold",
        description="Quarantined lines / raw lines of the day stay at or under "
        "NORTHSTAR_LANDING_QUARANTINE_MAX_RATE (default 1%).",
        ratio=_quarantine_ratio,
        max_rate=lambda: get_settings().landing_quarantine_max_rate,
        required_resource_keys={"warehouse"},
        partitions_def=daily_partitions,
    ),
]
"""The privacy slice's own checks; schema and duplicate checks come from `asset_checks`."""
