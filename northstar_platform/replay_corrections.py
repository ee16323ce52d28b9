"""Backfills are corrections: a run that materializes a partition again is recorded in
`ops.audit_corrections` (DESIGN §5.4, seed 002's "SOX-relevant, auditable and reproducible").

A replay is any run that materializes an asset partition which had been materialized before
the run started — a Dagster backfill, a sensor's re-run after a late file, `northstar
materialize` over days already built, the demo's catch-up. First materializations are not
corrections. Each replayed asset gets one row: the partitions it replaced (`first..last` when
contiguous days or hours, else a comma list), the run's trigger, the code version, and
fingerprints of what it read (its warehouse parents, same partitions) and what it wrote.
"""

import functools
from collections.abc import Collection, Mapping

import dagster as dg
from dagster import DagsterEventType

from northstar_platform.layers import Layer, schema_of
from northstar_platform.lib.corrections import (
    Correction,
    CorrectionKind,
    record_correction,
    trigger_from_tags,
)
from northstar_platform.lib.fingerprints import RANGE_SEPARATOR, Fingerprint, fingerprint
from northstar_platform.resources.warehouse import WarehouseSession


def replayed_partitions(instance: dg.DagsterInstance, run_id: str) -> dict[dg.AssetKey, set[str]]:
    """Asset → partitions this run materialized that had been materialized before it started.

    Compared by time, not by storage id: a SQLite instance keeps each run's events in a
    database of its own, whose ids are not comparable with the index's."""
    record = instance.get_run_record_by_id(run_id)
    if record is None:
        return {}
    started = record.start_time or record.create_timestamp.timestamp()
    written: dict[dg.AssetKey, set[str]] = {}
    for entry in instance.all_logs(run_id, of_type=DagsterEventType.ASSET_MATERIALIZATION):
        materialization = entry.asset_materialization
        if materialization is not None and materialization.partition is not None:
            written.setdefault(materialization.asset_key, set()).add(materialization.partition)
    replayed = {}
    for key, partitions in written.items():
        earlier = _materialized_before(instance, key, partitions, started)
        if earlier:
            replayed[key] = earlier
    return replayed


def _materialized_before(
    instance: dg.DagsterInstance, key: dg.AssetKey, partitions: set[str], before: float
) -> set[str]:
    """Which of `partitions` of `key` had a materialization before the instant `before`."""
    found: set[str] = set()
    records_filter = dg.AssetRecordsFilter(
        asset_key=key, asset_partitions=sorted(partitions), before_timestamp=before
    )
    cursor = None
    while found != partitions:
        page = instance.fetch_materializations(records_filter, limit=500, cursor=cursor)
        found.update(r.partition_key for r in page.records if r.partition_key)
        if not page.has_more:
            break
        cursor = page.cursor
    return found


def span(partitions: set[str]) -> str:
    """`first..last` for the run's partitions (they are contiguous: one run covers one range
    of days, or one hour/day), the single key for one."""
    ordered = sorted(partitions)
    return ordered[0] if len(ordered) == 1 else f"{ordered[0]}{RANGE_SEPARATOR}{ordered[-1]}"


def _fingerprint(session: WarehouseSession, key: dg.AssetKey, partition: str) -> Fingerprint | None:
    """The warehouse relation of an asset key `[layer, name]`, or None when the asset is not
    a warehouse table of ours (landing files, the `bi` views over marts)."""
    if len(key.path) != 2 or key.path[0] not in {layer.value for layer in Layer}:
        return None
    layer, name = Layer(key.path[0]), key.path[1]
    schema = schema_of(layer, name)
    if not session.table_exists(schema, name):
        return None
    try:
        return fingerprint(session, schema, name, partition)
    except LookupError:  # no partition column: the whole relation is the input
        return fingerprint(session, schema, name)


def replay_corrections(
    instance: dg.DagsterInstance,
    run_id: str,
    session: WarehouseSession,
    parents: Mapping[dg.AssetKey, Collection[dg.AssetKey]] | None = None,
) -> list[Correction]:
    """The BACKFILL corrections of a finished run (empty for a first materialization);
    `parents` (asset → upstream assets, from the definitions' asset graph) names the inputs."""
    replayed = replayed_partitions(instance, run_id)
    if not replayed:
        return []
    run = instance.get_run_by_id(run_id)
    trigger = trigger_from_tags(run.tags if run else {})
    corrections = []
    for key, partitions in sorted(replayed.items(), key=lambda kv: kv[0].to_user_string()):
        partition = span(partitions)
        upstream = sorted((parents or {}).get(key, ()))
        inputs = [f for p in upstream if (f := _fingerprint(session, p, partition))]
        output = _fingerprint(session, key, partition)
        corrections.append(
            Correction(
                CorrectionKind.BACKFILL,
                key.to_user_string(),
                partition,
                run_id,
                trigger,
                inputs,
                [output] if output else [],
                f"{len(partitions)} partition(s) materialized again",
            )
        )
    return corrections


def record_replays(
    instance: dg.DagsterInstance,
    run_id: str,
    session: WarehouseSession,
    parents: Mapping[dg.AssetKey, Collection[dg.AssetKey]] | None = None,
) -> int:
    """Append the run's BACKFILL corrections; returns how many were recorded."""
    corrections = replay_corrections(instance, run_id, session, parents)
    for correction in corrections:
        record_correction(session, correction)
    return len(corrections)


def asset_parents(defs: dg.Definitions) -> dict[dg.AssetKey, set[dg.AssetKey]]:
    """Asset → its upstream assets, for `parents`."""
    graph = defs.resolve_asset_graph()
    return {key: set(graph.get(key).parent_keys) for key in graph.get_all_asset_keys()}


@functools.cache
def platform_parents() -> dict[dg.AssetKey, set[dg.AssetKey]]:
    """`asset_parents` of the code location's definitions (built once per process; imported
    late because the definitions import the recorder that calls this)."""
    from northstar_platform.definitions import defs

    return asset_parents(defs)
