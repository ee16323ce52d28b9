"""Assets of the PostgreSQL sync, one set per configured table: export → staging → final.

Unpartitioned on purpose: the watermark in FINAL, not a date, says what to export next, so
every run picks up exactly what changed since the last merge, whenever that was. The raw rows
still carry their landing day (`partition_key`) for replay and lineage.
"""

import datetime as dt

import dagster as dg

from northstar_platform.layers import Layer
from northstar_platform.lib.sync_config import SyncTable
from northstar_platform.lib.sync_export import export_table
from northstar_platform.lib.sync_merge import merge_pending
from northstar_platform.lib.sync_stage import stage_files
from northstar_platform.resources.landing import LandingResource
from northstar_platform.resources.source_db import SourceDatabaseResource
from northstar_platform.resources.warehouse import WarehouseResource
from northstar_platform.settings import warehouse_kind

SYNC_GROUP = "sync"


class SyncExportConfig(dg.Config):
    """Run configuration of an export."""

    full_refresh: bool = False
    """Reload the whole table this once; the next run is incremental again."""


def sync_keys(table: SyncTable) -> dict[str, dg.AssetKey]:
    """Asset keys of one synced table: export, staging, final and its dead letters."""
    return {
        "export": dg.AssetKey([Layer.LANDING.value, table.name]),
        "staging": dg.AssetKey([Layer.RAW.value, f"raw_{table.name}"]),
        "final": dg.AssetKey([Layer.CURATED.value, f"{table.name}_latest"]),
        "dead_letters": dg.AssetKey([Layer.STAGING.value, f"quarantine_{table.name}"]),
    }


def build_sync_assets(table: SyncTable) -> list[dg.AssetsDefinition]:
    """The three steps of one table's sync as assets."""
    keys = sync_keys(table)
    source = f"{table.source_schema}.{table.source_table}"

    @dg.asset(
        key=keys["export"],
        group_name=SYNC_GROUP,
        kinds={"postgres", "parquet"},
        pool="source_read",
        retry_policy=dg.RetryPolicy(max_retries=2, delay=2, backoff=dg.Backoff.EXPONENTIAL),
        description=f"Rows of {source} with {table.watermark_col} >= the watermark in FINAL, "
        f"exported with COPY to `{table.name}/YYYY/MM/DD/HH/run-<id>.parquet`.",
    )
    def export(
        context: dg.AssetExecutionContext,
        config: SyncExportConfig,
        source_db: SourceDatabaseResource,
        landing: LandingResource,
        warehouse: WarehouseResource,
    ) -> dg.MaterializeResult:
        with warehouse.connect() as session:
            result = export_table(
                source_db,
                landing.get_zone(),
                session,
                table,
                run_id=context.run_id,
                full_refresh=config.full_refresh,
                now=dt.datetime.now(dt.UTC),
            )
        return dg.MaterializeResult(
            metadata={
                "rows_exported": result.rows,
                "file": result.key,
                "mode": result.mode,
                "watermark_from": str(result.watermark_from or "1970-01-01 (full backfill)"),
                "new_columns": ", ".join(result.new_columns) or "none",
            }
        )

    @dg.asset(
        key=keys["staging"],
        deps=[keys["export"]],
        group_name=SYNC_GROUP,
        kinds={warehouse_kind()},
        pool="warehouse_write",
        description=f"STAGING of {source}: every exported row, append-only, as landed.",
    )
    def stage(
        context: dg.AssetExecutionContext,
        landing: LandingResource,
        warehouse: WarehouseResource,
    ) -> dg.MaterializeResult:
        with warehouse.connect() as session:
            loaded = stage_files(
                landing.get_zone(),
                session,
                table,
                run_id=context.run_id,
                now=dt.datetime.now(dt.UTC),
            )
        return dg.MaterializeResult(
            metadata={"files_loaded": len(loaded), "rows_loaded": sum(loaded.values())}
        )

    @dg.multi_asset(
        name=f"merge_{table.name}",
        outs={
            "final": dg.AssetOut(
                key=keys["final"],
                description=f"FINAL of {source}: one row per "
                f"({', '.join(table.primary_keys)}), soft deletes flagged in is_deleted.",
                kinds={warehouse_kind()},
            ),
            "dead_letters": dg.AssetOut(
                key=keys["dead_letters"],
                description=f"Rows of {source} that could not be merged (no key or watermark).",
                kinds={warehouse_kind()},
            ),
        },
        deps=[keys["staging"]],
        group_name=SYNC_GROUP,
        pool="warehouse_write",
    )
    def merge(
        context: dg.AssetExecutionContext, warehouse: WarehouseResource
    ) -> tuple[dg.MaterializeResult, dg.MaterializeResult]:
        with warehouse.connect() as session:
            result = merge_pending(
                session, table, run_id=context.run_id, now=dt.datetime.now(dt.UTC)
            )
        accounting = {
            "files": result.files,
            "rows_in": result.rows_in,
            "inserted": result.inserted,
            "updated": result.updated,
            "unchanged": result.unchanged,
            "superseded": result.superseded,
            "dead_lettered": result.dead_lettered,
            "final_rows": result.final_rows_after,
            "mode": "full" if result.full_refresh else "incremental",
        }
        return (
            dg.MaterializeResult(asset_key=keys["final"], metadata=accounting),
            dg.MaterializeResult(
                asset_key=keys["dead_letters"], metadata={"dead_lettered": result.dead_lettered}
            ),
        )

    return [export, stage, merge]
