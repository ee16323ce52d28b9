"""The checks of a JSON-lines landing source (Stripe, privacy), in two suites.

After the raw load: the day's volume against the trailing median, landed lines (counted from
the files again, not from what the asset wrote, so a step that drops lines cannot hide it)
= raw rows, and the contract. After staging: raw rows = staged records + quarantined lines
(sum of `held_rows`) + collapsed copies, the quarantine rate, no repeated key, and the
contracts of both outputs.
"""

from collections.abc import Callable

import dagster as dg

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
from northstar_platform.layers import Table
from northstar_platform.lib.landed_lines import count_lines
from northstar_platform.resources.landing import LandingObject, LandingZone
from northstar_platform.settings import get_settings

VOLUME_WINDOW = 14
"""Daily partitions in the volume baseline (issue 4: the last 14)."""


def build_line_source_checks(
    *,
    source: str,
    raw: Table,
    staged: Table,
    held: Table,
    key: str,
    files: Callable[[LandingZone, str], list[LandingObject]],
    copies_label: str,
) -> list[dg.AssetChecksDefinition]:
    """The two check suites of one daily JSON-lines source.

    `files` lists the partition's landed files (the set its raw asset reads); `copies_label`
    names the collapsed deliveries in the conservation metadata (`collapsed_<label>`).
    """
    # Templates named at run time: the schemas depend on the environment (shadow mode).
    rows = "select count(*) from {raw} where partition_key = ?"
    staged_rows = "select count(*) from {staged} where partition_key = ?"
    held_rows = "select coalesce(sum(held_rows), 0) from {held} where partition_key = ?"
    collapsed = "select coalesce(sum(copies - 1), 0) from {staged} where partition_key = ?"

    def named(template: str) -> str:
        return template.format(raw=raw.qualified, staged=staged.qualified, held=held.qualified)

    def landed(ctx: CheckContext) -> dict[str, int]:
        found = files(ctx.zone, ctx.partition_key or "")
        return {"landed_lines": sum(count_lines(ctx.zone.read_bytes(o.key)) for o in found)}

    def raw_count(ctx: CheckContext) -> dict[str, int]:
        return {"raw": ctx.count(named(rows), (ctx.partition_key,))}

    def outcomes(ctx: CheckContext) -> dict[str, int]:
        pk = (ctx.partition_key,)
        return {
            "staged": ctx.count(named(staged_rows), pk),
            "quarantined": ctx.count(named(held_rows), pk),
            f"collapsed_{copies_label}": ctx.count(named(collapsed), pk),
        }

    def quarantine_ratio(ctx: CheckContext) -> tuple[int, int]:
        pk = (ctx.partition_key,)
        return ctx.count(named(held_rows), pk), ctx.count(named(rows), pk)

    after_raw = [
        volume_within_baseline(
            raw, window=VOLUME_WINDOW, tolerance=lambda: get_settings().landing_volume_tolerance
        ),
        conserves_records(
            raw.asset_key,
            description=f"Lines in the day's landed {source} files = rows in "
            f"{raw.layer.value}.{raw.name}.",
            inputs=landed,
            outputs=raw_count,
        ),
        matches_contract(raw),
    ]
    after_staging = [
        conserves_records(
            staged.asset_key,
            description="raw rows = staged records + quarantined lines (sum of held_rows) + "
            f"collapsed {copies_label}.",
            inputs=raw_count,
            outputs=outcomes,
        ),
        max_rate(
            staged.asset_key,
            name="quarantine_rate_within_threshold",
            description="Quarantined lines / raw lines of the day stay at or under "
            "NORTHSTAR_LANDING_QUARANTINE_MAX_RATE (default 1%).",
            ratio=quarantine_ratio,
            threshold=lambda: get_settings().landing_quarantine_max_rate,
        ),
        no_duplicates(staged, keys=[key], name=f"no_duplicate_{key}"),
        matches_contract(staged),
        matches_contract(held),
    ]
    return [
        build_check_suite(
            f"{raw.name}_checks",
            after_raw,
            partitions_def=daily_partitions,
            required_resource_keys={"landing", "warehouse"},
        ),
        build_check_suite(
            f"{staged.name}_checks",
            after_staging,
            partitions_def=daily_partitions,
            required_resource_keys={"warehouse"},
        ),
    ]
