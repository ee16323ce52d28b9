"""Conservation check (DESIGN §5.1): every input row is accounted for in the outputs."""

from collections.abc import Callable, Mapping
from typing import Any

import dagster as dg

Counter = Callable[[dg.AssetCheckExecutionContext, Mapping[str, Any]], Mapping[str, int]]
"""Given the check's context and its resources, named row counts of one partition."""


def build_conservation_check(
    asset_key: dg.AssetKey,
    *,
    name: str = "conserves_records",
    description: str,
    inputs: Counter,
    outputs: Counter,
    required_resource_keys: set[str],
    partitions_def: dg.PartitionsDefinition | None = None,
) -> dg.AssetChecksDefinition:
    """A blocking check that passes when the input counts add up to the output counts.

    `inputs` and `outputs` are counted independently (e.g. landed rows from the files'
    metadata against rows in the table), so a step that drops rows cannot hide it.
    """

    @dg.asset_check(
        asset=asset_key,
        name=name,
        blocking=True,
        partitions_def=partitions_def,
        description=description,
        required_resource_keys=required_resource_keys,
    )
    def _check(context: dg.AssetCheckExecutionContext) -> dg.AssetCheckResult:
        resources = {key: getattr(context.resources, key) for key in required_resource_keys}
        counted_in = dict(inputs(context, resources))
        counted_out = dict(outputs(context, resources))
        total_in, total_out = sum(counted_in.values()), sum(counted_out.values())
        return dg.AssetCheckResult(
            passed=total_in == total_out,
            severity=dg.AssetCheckSeverity.ERROR,
            metadata={
                **{f"in_{k}": v for k, v in counted_in.items()},
                **{f"out_{k}": v for k, v in counted_out.items()},
                "unaccounted": total_in - total_out,
            },
        )

    return _check
