"""dbt models as Dagster assets: curated, audit and marts, partitioned by day.

Dagster hands the partition window to dbt as `--vars` (min_date, max_date); each model
replaces that window (plus its lookback) so reruns converge. A single run covers a whole
partition range: one dbt invocation costs ≈15 s, so it is paid once per backfill, not per day.
"""

import json
import os
from collections.abc import Iterator, Mapping
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, dbt_assets

from northstar_platform.defs.dbt_project import dbt_project
from northstar_platform.defs.partitions import daily_partitions
from northstar_platform.resources.warehouse import DuckDBWarehouse, WarehouseResource


class LayerTranslator(DagsterDbtTranslator):
    """Asset key = [schema, model] and group = schema: the layer naming of STYLE.md."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            return super().get_asset_key(dbt_resource_props)
        return dg.AssetKey([dbt_resource_props["schema"], dbt_resource_props["name"]])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        return dbt_resource_props.get("schema") or None


def dbt_vars(start: str, end: str) -> str:
    """The `--vars` JSON of a partition window [start, end)."""
    return json.dumps({"min_date": start, "max_date": end})


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    dagster_dbt_translator=LayerTranslator(),
    partitions_def=daily_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    pool="warehouse_write",
)
def northstar_dbt_models(
    context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource
) -> Iterator[Any]:
    window = context.partition_time_window
    if isinstance(warehouse, DuckDBWarehouse):
        # dbt runs as a separate process: it finds the same DuckDB file through this variable
        # (not a NORTHSTAR_* setting, so it cannot leak into a later `get_settings()`).
        os.environ["DBT_DUCKDB_PATH"] = warehouse.path
    args = ["build", "--vars", dbt_vars(f"{window.start:%Y-%m-%d}", f"{window.end:%Y-%m-%d}")]
    yield from dbt.cli(args, context=context).stream()
