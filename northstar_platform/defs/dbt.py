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
from northstar_platform.layers import (
    CUSTOMERS_LATEST_KEYS,
    DBT_SOURCE_TABLES,
    PREFERENCE_SOURCE_TABLES,
    SHADOW_SUFFIX,
    Table,
)
from northstar_platform.resources.warehouse import DuckDBWarehouse, WarehouseResource
from northstar_platform.settings import Settings, get_settings


class LayerTranslator(DagsterDbtTranslator):
    """Asset key = [schema, relation name] and group = schema: the layer naming of STYLE.md.

    The relation name is the model's alias when it has one: the BI views `bi.fct_orders` are
    models named `bi_fct_orders` (dbt model names are unique per project) aliased to the name
    dashboards query. The layer is the configured `+schema`, not the resolved schema: a shadow
    build (`curated_shadow`) or a verify rebuild materializes the same asset keys.
    """

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            return super().get_asset_key(dbt_resource_props)
        name = dbt_resource_props.get("alias") or dbt_resource_props["name"]
        return dg.AssetKey([_layer(dbt_resource_props), name])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        return _layer(dbt_resource_props) or None


def _layer(dbt_resource_props: Mapping[str, Any]) -> str:
    """The node's layer: its `+schema` config, else (no config) the schema dbt resolved."""
    config = dbt_resource_props.get("config") or {}
    return str(config.get("schema") or dbt_resource_props.get("schema") or "")


def dbt_vars(start: str, end: str, run_id: str, settings: Settings) -> str:
    """The `--vars` JSON: partition window [start, end), the Dagster run, the gate settings,
    and the schema suffix of shadow mode (`generate_schema_name` and the sources read it)."""
    return json.dumps(
        {
            "min_date": start,
            "max_date": end,
            "run_id": run_id,
            **settings.reconciliation_vars(),
            **schema_vars(settings),
        }
    )


def schema_vars(settings: Settings) -> dict[str, str]:
    """`schema_suffix`: `_shadow` in shadow mode, so every model, seed, test and source
    resolves to `<layer>_shadow` exactly as layers.py names Python's tables."""
    return {"schema_suffix": SHADOW_SUFFIX if settings.shadow else ""}


def _build(
    context: dg.AssetExecutionContext,
    dbt: DbtCliResource,
    warehouse: WarehouseResource,
    sources: tuple[Table, ...],
) -> Iterator[Any]:
    """`dbt build` of the selected models for the run's partition window."""
    window = context.partition_time_window
    with warehouse.connect() as session:
        for table in sources:
            session.ensure_table(table)
    if isinstance(warehouse, DuckDBWarehouse):
        # dbt runs as a separate process: it finds the same DuckDB file through this variable
        # (not a NORTHSTAR_* setting, so it cannot leak into a later `get_settings()`).
        os.environ["DBT_DUCKDB_PATH"] = warehouse.path
    # Run a dbt test only when every model it reads is selected: the relationships test of
    # payments_latest must not run in a subset that builds orders_latest alone.
    os.environ["DBT_INDIRECT_SELECTION"] = "cautious"
    start, end = f"{window.start:%Y-%m-%d}", f"{window.end:%Y-%m-%d}"
    args = ["build", "--vars", dbt_vars(start, end, context.run_id, get_settings())]
    yield from dbt.cli(args, context=context).stream()


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    dagster_dbt_translator=LayerTranslator(),
    exclude="tag:preferences",
    partitions_def=daily_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    pool="warehouse_write",
)
def northstar_dbt_models(
    context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource
) -> Iterator[Any]:
    """Order reconciliation: curated state, audits, gates, marts, bi views (ranged runs)."""
    yield from _build(context, dbt, warehouse, (*DBT_SOURCE_TABLES, CUSTOMERS_LATEST_KEYS))


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    dagster_dbt_translator=LayerTranslator(),
    select="tag:preferences",
    partitions_def=daily_partitions,
    backfill_policy=dg.BackfillPolicy.multi_run(max_partitions_per_run=1),
    pool="warehouse_write",
)
def preference_reconciliation_models(
    context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource
) -> Iterator[Any]:
    """Preference reconciliation, one run per reconciliation date (its audit is as of that
    day): scope seed, privacy_latest, core_latest, audit, remediation."""
    yield from _build(context, dbt, warehouse, PREFERENCE_SOURCE_TABLES)
