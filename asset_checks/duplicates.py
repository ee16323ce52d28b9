"""Duplicate check: no key appears twice in a partition."""

import dagster as dg

from northstar_platform.layers import Table, quote
from northstar_platform.resources.warehouse import WarehouseResource

SAMPLE = 20


def build_no_duplicates_check(
    table: Table,
    *,
    keys: list[str],
    name: str,
    partitions_def: dg.PartitionsDefinition | None = None,
) -> dg.AssetChecksDefinition:
    """A blocking check that fails when any `keys` value repeats within the partition."""
    key_sql = ", ".join(quote(k) for k in keys)
    where = "where partition_key = ?" if partitions_def else ""
    sql = (
        f"select {key_sql}, count(*) as copies from {table.qualified} {where} "  # noqa: S608
        f"group by {key_sql} having count(*) > 1 order by copies desc, {key_sql}"
    )

    @dg.asset_check(
        asset=table.asset_key,
        name=name,
        blocking=True,
        partitions_def=partitions_def,
        description=f"No ({', '.join(keys)}) appears twice in {table.qualified}.",
    )
    def _check(
        context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource
    ) -> dg.AssetCheckResult:
        params = (context.partition_key,) if partitions_def else ()
        with warehouse.connect() as session:
            repeated = session.fetchall(sql, params)
        return dg.AssetCheckResult(
            passed=not repeated,
            severity=dg.AssetCheckSeverity.ERROR,
            metadata={
                "duplicated_keys": len(repeated),
                "sample": [" | ".join(str(v) for v in row[:-1]) for row in repeated[:SAMPLE]],
            },
        )

    return _check
