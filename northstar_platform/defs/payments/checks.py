"""Stripe checks: every delivered line is accounted for, and the quarantine gate (1%)."""

from collections.abc import Mapping
from typing import Any

import dagster as dg

from asset_checks import build_conservation_check, build_max_rate_check
from asset_checks.baseline import build_volume_spike_check
from northstar_platform.defs.partitions import daily_partitions
from northstar_platform.defs.payments.assets import split_lines, stripe_prefix
from northstar_platform.layers import QUARANTINE_STRIPE, RAW_STRIPE_EVENTS, STG_STRIPE_EVENTS
from northstar_platform.settings import get_settings

COUNT = "select count(*) from {table} where partition_key = ?"
COLLAPSED = (
    f"select coalesce(sum(copies - 1), 0) from {STG_STRIPE_EVENTS.qualified} "  # noqa: S608
    "where partition_key = ?"
)


def _count(resources: Mapping[str, Any], sql: str, partition_key: str) -> int:
    with resources["warehouse"].connect() as session:
        if not session.table_exists(STG_STRIPE_EVENTS.layer.value, STG_STRIPE_EVENTS.name):
            return 0
        row = session.fetchone(sql, (partition_key,))
    return int(row[0]) if row else 0


def _landed(context: dg.AssetCheckExecutionContext, resources: Mapping[str, Any]) -> dict[str, int]:
    zone = resources["landing"].get_zone()
    files = [o for o in zone.list(stripe_prefix(context.partition_key)) if o.key.endswith(".jsonl")]
    return {"landed_lines": sum(len(split_lines(zone.read_bytes(o.key))) for o in files)}


def _raw(context: dg.AssetCheckExecutionContext, resources: Mapping[str, Any]) -> dict[str, int]:
    with resources["warehouse"].connect() as session:
        row = session.fetchone(
            COUNT.format(table=RAW_STRIPE_EVENTS.qualified), (context.partition_key,)
        )
    return {"raw": int(row[0]) if row else 0}


def _outcomes(
    context: dg.AssetCheckExecutionContext, resources: Mapping[str, Any]
) -> dict[str, int]:
    pk = context.partition_key
    return {
        "staged": _count(resources, COUNT.format(table=STG_STRIPE_EVENTS.qualified), pk),
        "quarantined": _count(resources, COUNT.format(table=QUARANTINE_STRIPE.qualified), pk),
        "collapsed_retries": _count(resources, COLLAPSED, pk),
    }


def _quarantine_ratio(
    context: dg.AssetCheckExecutionContext, resources: Mapping[str, Any]
) -> tuple[int, int]:
    held = _count(resources, COUNT.format(table=QUARANTINE_STRIPE.qualified), context.partition_key)
    return held, _raw(context, resources)["raw"]


VOLUME_WINDOW = 14
"""Daily partitions in the volume baseline (issue 4: the last 14)."""

STRIPE_CHECKS = [
    build_volume_spike_check(
        RAW_STRIPE_EVENTS,
        window=VOLUME_WINDOW,
        tolerance=lambda: get_settings().landing_volume_tolerance,
        partitions_def=daily_partitions,
    ),
    build_conservation_check(
        RAW_STRIPE_EVENTS.asset_key,
        description="Lines in the day's landed Stripe files = rows in raw_stripe_events.",
        inputs=_landed,
        outputs=_raw,
        required_resource_keys={"landing", "warehouse"},
        partitions_def=daily_partitions,
    ),
    build_conservation_check(
        STG_STRIPE_EVENTS.asset_key,
        description="raw rows = staged events + quarantined lines + collapsed retry deliveries.",
        inputs=_raw,
        outputs=_outcomes,
        required_resource_keys={"warehouse"},
        partitions_def=daily_partitions,
    ),
    build_max_rate_check(
        STG_STRIPE_EVENTS.asset_key,
        name="quarantine_rate_within_threshold",
        description="Quarantined lines / raw lines of the day stay at or under "
        "NORTHSTAR_LANDING_QUARANTINE_MAX_RATE (default 1%).",
        ratio=_quarantine_ratio,
        max_rate=lambda: get_settings().landing_quarantine_max_rate,
        required_resource_keys={"warehouse"},
        partitions_def=daily_partitions,
    ),
]
