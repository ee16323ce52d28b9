"""Stripe checks: every delivered line is accounted for, the 1% quarantine gate, the volume."""

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
from northstar_platform.defs.payments.assets import stripe_prefix
from northstar_platform.layers import QUARANTINE_STRIPE, RAW_STRIPE_EVENTS, STG_STRIPE_EVENTS
from northstar_platform.lib.landed_lines import count_lines
from northstar_platform.settings import get_settings

COUNT = "select count(*) from {table} where partition_key = ?"
COLLAPSED = (
    f"select coalesce(sum(copies - 1), 0) from {STG_STRIPE_EVENTS.qualified} "  # noqa: S608
    "where partition_key = ?"
)
VOLUME_WINDOW = 14
"""Daily partitions in the volume baseline (issue 4: the last 14)."""


def _landed(ctx: CheckContext) -> dict[str, int]:
    files = [
        o for o in ctx.zone.list(stripe_prefix(ctx.partition_key or "")) if o.key.endswith(".jsonl")
    ]
    return {"landed_lines": sum(count_lines(ctx.zone.read_bytes(o.key)) for o in files)}


def _raw(ctx: CheckContext) -> dict[str, int]:
    return {"raw": ctx.count(COUNT.format(table=RAW_STRIPE_EVENTS.qualified), (ctx.partition_key,))}


def _outcomes(ctx: CheckContext) -> dict[str, int]:
    pk = (ctx.partition_key,)
    return {
        "staged": ctx.count(COUNT.format(table=STG_STRIPE_EVENTS.qualified), pk),
        "quarantined": ctx.count(COUNT.format(table=QUARANTINE_STRIPE.qualified), pk),
        "collapsed_retries": ctx.count(COLLAPSED, pk),
    }


def _quarantine_ratio(ctx: CheckContext) -> tuple[int, int]:
    held = ctx.count(COUNT.format(table=QUARANTINE_STRIPE.qualified), (ctx.partition_key,))
    return held, _raw(ctx)["raw"]


STRIPE_CHECKS = [
    build_check_suite(
        "raw_stripe_events_checks",
        [
            volume_within_baseline(
                RAW_STRIPE_EVENTS,
                window=VOLUME_WINDOW,
                tolerance=lambda: get_settings().landing_volume_tolerance,
            ),
            conserves_records(
                RAW_STRIPE_EVENTS.asset_key,
                description="Lines in the day's landed Stripe files = rows in raw_stripe_events.",
                inputs=_landed,
                outputs=_raw,
            ),
            matches_contract(RAW_STRIPE_EVENTS),
        ],
        partitions_def=daily_partitions,
        required_resource_keys={"landing", "warehouse"},
    ),
    build_check_suite(
        "stg_stripe_events_checks",
        [
            conserves_records(
                STG_STRIPE_EVENTS.asset_key,
                description="raw rows = staged events + quarantined lines + collapsed retry "
                "deliveries.",
                inputs=_raw,
                outputs=_outcomes,
            ),
            max_rate(
                STG_STRIPE_EVENTS.asset_key,
                name="quarantine_rate_within_threshold",
                description="Quarantined lines / raw lines of the day stay at or under "
                "NORTHSTAR_LANDING_QUARANTINE_MAX_RATE (default 1%).",
                ratio=_quarantine_ratio,
                threshold=lambda: get_settings().landing_quarantine_max_rate,
            ),
            no_duplicates(STG_STRIPE_EVENTS, keys=["event_id"], name="no_duplicate_event_id"),
            matches_contract(STG_STRIPE_EVENTS),
            matches_contract(QUARANTINE_STRIPE),
        ],
        partitions_def=daily_partitions,
        required_resource_keys={"warehouse"},
    ),
]
