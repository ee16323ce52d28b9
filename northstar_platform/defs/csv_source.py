"""Assets and checks of a landed CSV source (WMS drops, finance reports), built from its contract.

Both sources share one shape (`lib/csv_records`): raw keeps every physical line of the
partition's files; staging types, validates and de-duplicates them, holding bad lines (or whole
files) in the source's quarantine table in the same transaction. The partition is rebuilt
from every file in its folder, so the result does not depend on the order files arrived in.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import dagster as dg
import polars as pl

from asset_checks import (
    CheckContext,
    build_check_suite,
    conserves_records,
    matches_contract,
    max_rate,
    no_duplicates,
    volume_within_baseline,
)
from northstar_platform.defs.line_source_checks import VOLUME_WINDOW
from northstar_platform.defs.staging import (
    staging_outs,
    staging_results,
    write_raw_partition,
    write_staged_partition,
)
from northstar_platform.layers import Table
from northstar_platform.lib.csv_records import CsvContract, landed_row_count, lines_table, stage_csv
from northstar_platform.lib.quarantine import quarantine_rows
from northstar_platform.resources.landing import LandingResource, LandingZone
from northstar_platform.resources.warehouse import WarehouseResource
from northstar_platform.settings import get_settings, warehouse_kind


@dataclass(frozen=True)
class CsvSource:
    """Everything that differs between two CSV sources."""

    contract: CsvContract
    raw: Table
    staged: Table
    held: Table
    partitions_def: dg.PartitionsDefinition
    prefix_of: Callable[[str], str]
    """Partition key → its landing folder (`wms/2026/11/01/10/`)."""
    group: str
    duplicate_check: str
    """Name of the check that no key repeats after de-duplication."""
    derive: Callable[[pl.DataFrame], pl.DataFrame]
    """Columns the rules need beyond the typed values (e.g. lag after arrival)."""
    same_hour_baseline: bool = False
    """Compare an hour's volume with the same hour of earlier days (hourly sources)."""
    volume_noise_rows: int = 0
    """A volume this close to the baseline passes whatever the ratio (small partitions)."""

    def files(self, zone: LandingZone, partition_key: str) -> list[Any]:
        """The partition's landed CSV files: directly in its folder, as the sensor sees them
        (a sub-folder such as `archive/` is not part of the partition)."""
        prefix = self.prefix_of(partition_key)
        return [
            o
            for o in zone.list(prefix)
            if o.key.endswith(".csv") and "/" not in o.key.removeprefix(prefix)
        ]


def build_csv_assets(source: CsvSource) -> list[dg.AssetsDefinition]:
    """The raw asset and the staging multi-asset (staged rows + quarantine) of one source."""
    name = source.contract.source

    @dg.asset(
        key=source.raw.asset_key,
        partitions_def=source.partitions_def,
        group_name=source.group,
        kinds={warehouse_kind()},
        pool="warehouse_write",
        description=f"Every physical line of every {name} CSV landed in the partition's folder, "
        "header included, exactly as delivered, with source_file, line_no, has_line_end, "
        "ingested_ts (file arrival) and run_id.",
    )
    def _raw(
        context: dg.AssetExecutionContext, landing: LandingResource, warehouse: WarehouseResource
    ) -> dg.MaterializeResult:
        zone = landing.get_zone()
        files = source.files(zone, context.partition_key)
        landed = (
            lines_table(
                zone.read_bytes(obj.key),
                partition_key=context.partition_key,
                source_file=obj.key,
                ingested_ts=obj.last_modified,
                run_id=context.run_id,
            )
            for obj in files
        )
        with warehouse.connect() as session:
            rows = write_raw_partition(session, source.raw, context.partition_key, landed)
        return dg.MaterializeResult(metadata={"rows": rows, "files": len(files)})

    @dg.multi_asset(
        name=source.staged.name,
        outs=staging_outs(
            source.staged,
            source.held,
            f"Valid {name} rows, one per ({', '.join(source.contract.key)}); `copies` counts "
            "the landed rows collapsed into it.",
            f"{name} lines (or whole files) held back, with the rule they broke.",
        ),
        deps=[source.raw.asset_key],
        partitions_def=source.partitions_def,
        group_name=source.group,
        pool="warehouse_write",
    )
    def _staging(
        context: dg.AssetExecutionContext, warehouse: WarehouseResource
    ) -> tuple[dg.MaterializeResult, dg.MaterializeResult]:
        pk = context.partition_key
        with warehouse.connect() as session:
            raw = pl.from_arrow(session.fetch_partition(source.raw, pk))
            assert isinstance(raw, pl.DataFrame)
            result = stage_csv(source.contract, raw, source.derive)
            held = quarantine_rows(
                result.held,
                source=name,
                record_ref=source.contract.key[0],
                business_columns=["record"],
                run_id=context.run_id,
            )
            staged = result.staged.with_columns(run_id=pl.lit(context.run_id)).select(
                source.staged.column_names
            )
            write_staged_partition(
                session, pk, (source.staged, staged.to_arrow()), (source.held, held.to_arrow())
            )
        # A file held whole is a producer-side format change: say so in the run's log (the
        # alert sinks pick up warnings and failed checks), not only in the quarantine table.
        for row in held.filter(pl.col("held_rows") > 1).iter_rows(named=True):
            context.log.warning(f"{row['source_file']} held whole: {row['reason']}")
        counts = {
            "rows_in": raw.height,
            "headers": result.headers,
            "staged": staged.height,
            "quarantined": held.height,
            "held_rows": int(held["held_rows"].sum()) if held.height else 0,
            "duplicates_collapsed": result.collapsed,
        }
        return staging_results(source.staged, source.held, counts)

    return [_raw, _staging]


def build_csv_checks(source: CsvSource) -> list[dg.AssetChecksDefinition]:
    """Two suites, all blocking. After raw: landed = raw, the contract. After staging:
    raw = accepted headers + staged + collapsed + held rows, the quarantine rate, no duplicate
    key, the volume against the trailing median, and the contracts of both outputs."""
    # Templates named at run time: the schemas depend on the environment (shadow mode).
    count_raw = "select count(*) from {raw} where partition_key = ?"
    accepted_headers = (
        "select count(*) from {raw} where partition_key = ? and line_no = 1 "
        "and source_file not in (select source_file from {held} "
        "where partition_key = ? and rule = 'header_matches')"
    )
    staged_rows = "select count(*) from {staged} where partition_key = ?"
    collapsed = "select coalesce(sum(copies - 1), 0) from {staged} where partition_key = ?"
    held_rows = "select coalesce(sum(held_rows), 0) from {held} where partition_key = ?"

    def named(template: str) -> str:
        return template.format(
            raw=source.raw.qualified, staged=source.staged.qualified, held=source.held.qualified
        )

    def landed(ctx: CheckContext) -> dict[str, int]:
        files = source.files(ctx.zone, ctx.partition_key or "")
        return {"landed_rows": sum(landed_row_count(ctx.zone.read_bytes(o.key)) for o in files)}

    def raw(ctx: CheckContext) -> dict[str, int]:
        return {"raw": ctx.count(named(count_raw), (ctx.partition_key,))}

    def outcomes(ctx: CheckContext) -> dict[str, int]:
        pk = ctx.partition_key
        return {
            "headers": ctx.count(named(accepted_headers), (pk, pk)),
            "staged": ctx.count(named(staged_rows), (pk,)),
            "collapsed_duplicates": ctx.count(named(collapsed), (pk,)),
            "held_rows": ctx.count(named(held_rows), (pk,)),
        }

    def held_ratio(ctx: CheckContext) -> tuple[int, int]:
        pk = ctx.partition_key
        return ctx.count(named(held_rows), (pk,)), ctx.count(named(count_raw), (pk,))

    name = source.contract.source
    after_raw = [
        conserves_records(
            source.raw.asset_key,
            description=f"Lines in the partition's landed {name} files = rows in "
            f"{source.raw.layer.value}.{source.raw.name} "
            "(a 0-byte file counts as one row).",
            inputs=landed,
            outputs=raw,
        ),
        matches_contract(source.raw),
    ]
    after_staging = [
        conserves_records(
            source.staged.asset_key,
            description="raw rows = accepted header lines + staged rows + collapsed duplicates "
            "+ held rows (a file held whole counts all its rows).",
            inputs=raw,
            outputs=outcomes,
        ),
        max_rate(
            source.staged.asset_key,
            name="quarantine_rate_within_threshold",
            description="Held rows / raw rows of the partition stay at or under "
            "NORTHSTAR_LANDING_QUARANTINE_MAX_RATE (default 1%).",
            ratio=held_ratio,
            threshold=lambda: get_settings().landing_quarantine_max_rate,
        ),
        no_duplicates(source.staged, keys=source.contract.key, name=source.duplicate_check),
        # On staging, not raw: a re-sent file doubles the raw lines of its hour but not the
        # distinct records that flow on, and it is the records the gate protects.
        volume_within_baseline(
            source.staged,
            window=VOLUME_WINDOW,
            tolerance=lambda: get_settings().landing_volume_tolerance,
            min_rows=source.volume_noise_rows,
            same_hour=source.same_hour_baseline,
        ),
        matches_contract(source.staged),
        matches_contract(source.held),
    ]
    return [
        build_check_suite(
            f"{source.raw.name}_checks",
            after_raw,
            partitions_def=source.partitions_def,
            required_resource_keys={"landing", "warehouse"},
        ),
        build_check_suite(
            f"{source.staged.name}_checks",
            after_staging,
            partitions_def=source.partitions_def,
            required_resource_keys={"warehouse"},
        ),
    ]
