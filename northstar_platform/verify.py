"""`northstar verify-reproducible`: rebuild one stored partition from its inputs and compare.

SOX asks whether a stored result can be reproduced from its inputs by the recorded code. The
target asset's relations are rebuilt for one partition into scratch schemas (`<schema>_verify`)
while every input still resolves to the stored (production or shadow) schemas; then the
partition's rows of both sides are fingerprinted (lib/fingerprints.py: rows + sha256 of the
business columns, run bookkeeping excluded) and the scratch relations are dropped.

A Python asset is rebuilt in process with its relations redirected (layers.redirected) and
nothing but the asset selected: no checks, hence no alerts, and an ephemeral Dagster instance,
so production's asset history does not see the rebuild. A dbt model is rebuilt by `dbt run
--select <model>` with the vars of the stored run and `verify_models` naming it, which
`generate_schema_name` sends to the scratch schema while its refs keep reading production.
"""

import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from typing import Any

import dagster as dg

from northstar_platform.defs.dbt import dbt_vars
from northstar_platform.defs.dbt_project import DBT_DIR, dbt_project
from northstar_platform.errors import NorthstarError
from northstar_platform.layers import QUARANTINE_TABLES, QUARANTINE_VIEW_NAME, Layer, redirected
from northstar_platform.lib.code_version import CodeVersion, current
from northstar_platform.resources.warehouse import DuckDBWarehouse
from northstar_platform.runner import CONSOLE_QUIET
from northstar_platform.settings import Settings
from northstar_platform.verify_compare import (
    Comparison,
    VerifyUsageError,
    compare,
    drop_scratch,
)


class RebuildError(NorthstarError):
    """The rebuild itself failed (a step or dbt error), so nothing could be compared."""


@dataclass(frozen=True)
class Target:
    """What one verification rebuilds: the asset's step outputs for one partition."""

    asset_key: dg.AssetKey
    partition: str
    relations: tuple[tuple[str, str], ...]
    """(layer, relation) pairs the step writes and the verdict compares."""
    stored_run_id: str
    dbt_model: str | None = None
    """The dbt model's name (its relation is the asset key's), None for a Python asset."""

    @property
    def redirect(self) -> list[tuple[Layer, str]]:
        """Relations sent to the scratch schemas: the outputs, plus the quarantine view that a
        staging step recreates over its quarantine table (production's must not move)."""
        python = [(Layer(layer), name) for layer, name in self.relations]
        if any(
            layer is t.layer and name == t.name for layer, name in python for t in QUARANTINE_TABLES
        ):
            python.append((Layer.STAGING, QUARANTINE_VIEW_NAME))
        return python


@dataclass(frozen=True)
class Verification:
    """The verdict of one verification, with the code version the rebuild ran under."""

    target: Target
    comparisons: list[Comparison]
    code_version: CodeVersion

    @property
    def reproducible(self) -> bool:
        """Every relation of the partition rebuilt to the same fingerprint."""
        return all(c.matches for c in self.comparisons)


def verify(settings: Settings, asset: str, partition: str) -> Verification:
    """Rebuild `asset`'s `partition` into scratch schemas, compare, drop the scratch schemas."""
    from northstar_platform import launch
    from northstar_platform.definitions import build_definitions

    launch.prepare_environment(settings)
    defs = build_definitions(settings)
    with dg.DagsterInstance.get() as instance:
        target = resolve_target(defs, instance, asset, partition)
    warehouse = defs.resources["warehouse"]
    layers = [layer for layer, _ in target.relations]
    with warehouse.connect() as session:
        drop_scratch(session, layers)  # a crashed earlier run's leftovers: start empty
    try:
        if target.dbt_model:
            rebuild_dbt(target, settings, warehouse_path(warehouse))
        else:
            rebuild_python(target, settings)
        with warehouse.connect() as session:
            comparisons = compare(session, target.relations, target.partition)
    finally:
        with warehouse.connect() as session:
            drop_scratch(session, layers)
    return Verification(target, comparisons, current())


def resolve_target(
    defs: dg.Definitions, instance: dg.DagsterInstance, asset: str, partition: str
) -> Target:
    """The target of `asset` (`layer/table`) and `partition`, or a `VerifyUsageError` naming
    what is wrong: unknown asset, not a warehouse relation, no such partition, never built."""
    key = dg.AssetKey.from_user_string(asset)
    graph = defs.resolve_asset_graph()
    if key not in graph.get_all_asset_keys():
        raise VerifyUsageError(f"unknown asset {asset!r}; give a key such as staging/stg_orders")
    node = graph.get(key)
    if node.partitions_def is None:
        raise VerifyUsageError(
            f"{asset} is not partitioned; verify-reproducible rebuilds one partition"
        )
    if not node.partitions_def.has_partition_key(partition):
        example = node.partitions_def.get_first_partition_key()
        raise VerifyUsageError(
            f"{partition!r} is not a partition of {asset} (partition keys look like {example})"
        )
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=key, asset_partitions=[partition]), limit=1
    ).records
    if not records:
        raise VerifyUsageError(
            f"{asset} was never materialized for partition {partition} (Dagster instance at "
            f"{os.environ.get('DAGSTER_HOME', 'DAGSTER_HOME')}): nothing stored to verify"
        )
    if "dagster/kind/dbt" in node.tags:
        model = _dbt_model(key)
        return Target(key, partition, ((key.path[0], key.path[1]),), records[0].run_id, model)
    warehouse = {m.value for m in Layer} - {Layer.LANDING.value}
    outputs = tuple(
        (k.path[0], k.path[1])
        for k in sorted(node.assets_def.keys)
        if len(k.path) == 2 and k.path[0] in warehouse
    )
    if not outputs:
        raise VerifyUsageError(
            f"{asset} writes landing files, not warehouse relations: verify its raw asset"
        )
    return Target(key, partition, outputs, records[0].run_id)


def _dbt_model(key: dg.AssetKey) -> str:
    """The dbt model whose relation is `key` (`[layer, alias or name]`, as LayerTranslator)."""
    manifest = json.loads(dbt_project.manifest_path.read_text())
    for node in manifest["nodes"].values():
        if node["resource_type"] not in ("model", "seed"):
            continue
        layer = (node.get("config") or {}).get("schema") or node["schema"]
        if [layer, node.get("alias") or node["name"]] == list(key.path):
            return str(node["name"])
    raise VerifyUsageError(
        f"{key.to_user_string()} has no dbt model in {dbt_project.manifest_path}"
    )


def rebuild_python(target: Target, settings: Settings) -> None:
    """Materialize the target asset alone for its partition, its outputs redirected."""
    from northstar_platform.definitions import build_definitions

    with redirected(target.redirect):
        defs = build_definitions(settings)  # every SQL string named inside the redirect
        keys = defs.resolve_asset_graph().get(target.asset_key).assets_def.keys
        # The step alone: no checks (they would raise alerts about a scratch copy).
        job = defs.resolve_implicit_global_asset_job_def().get_subset(
            asset_selection=set(keys), asset_check_selection=set()
        )
        with dg.DagsterInstance.ephemeral() as instance:
            result = job.execute_in_process(
                instance=instance,
                partition_key=target.partition,
                raise_on_error=False,
                run_config=CONSOLE_QUIET,
                tags={"northstar/trigger": "northstar verify-reproducible"},
            )
    if not result.success:
        failures = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
        error = failures[0].event_specific_data.error if failures else None
        cause = (error.cause or error) if error else None
        message = cause.message.strip().splitlines()[0] if cause else "the run failed"
        raise RebuildError(f"rebuilding {target.asset_key.to_user_string()} failed: {message}")


def rebuild_dbt(target: Target, settings: Settings, warehouse_path: str | None) -> None:
    """`dbt run` of the target model alone (no tests) for its partition, into the scratch
    schema, with the vars of the stored run (window, run id, thresholds, schema suffix)."""
    day = dt.date.fromisoformat(target.partition)
    variables = json.loads(
        dbt_vars(
            day.isoformat(), (day + dt.timedelta(1)).isoformat(), target.stored_run_id, settings
        )
    )
    variables["verify_models"] = [target.dbt_model]
    env = dict(os.environ)
    if warehouse_path:
        env["DBT_DUCKDB_PATH"] = warehouse_path
    dbt = os.path.join(os.path.dirname(sys.executable), "dbt")
    with tempfile.TemporaryDirectory(prefix="northstar-verify-") as target_path:
        # A fixed argv: the venv's dbt and a model name found in the manifest.
        done = subprocess.run(
            [
                dbt,
                "run",
                "--select",
                str(target.dbt_model),
                "--vars",
                json.dumps(variables),
                "--project-dir",
                str(DBT_DIR),
                "--profiles-dir",
                str(DBT_DIR),
                "--target",
                settings.dbt_target,
                "--target-path",
                target_path,
            ],
            capture_output=True,
            text=True,
            env=env,
            check=False,
        )
    if done.returncode != 0:
        tail = " | ".join(line.strip() for line in done.stdout.strip().splitlines()[-6:])
        raise RebuildError(f"dbt run of {target.dbt_model} into its scratch schema failed: {tail}")


def warehouse_path(warehouse: Any) -> str | None:
    """The DuckDB file dbt must open (the embedded warehouse), None on Snowflake."""
    return warehouse.path if isinstance(warehouse, DuckDBWarehouse) else None
