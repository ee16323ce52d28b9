"""Rate check: a share of a partition's rows (e.g. quarantined) stays under a threshold."""

from collections.abc import Callable, Mapping
from typing import Any

import dagster as dg

Ratio = Callable[[dg.AssetCheckExecutionContext, Mapping[str, Any]], tuple[int, int]]
"""Given the check's context and resources: (numerator, denominator) of one partition."""


def build_max_rate_check(
    asset_key: dg.AssetKey,
    *,
    name: str,
    description: str,
    ratio: Ratio,
    max_rate: Callable[[], float],
    required_resource_keys: set[str],
    partitions_def: dg.PartitionsDefinition | None = None,
) -> dg.AssetChecksDefinition:
    """A blocking check that fails when numerator / denominator exceeds `max_rate()`.

    `max_rate` is read when the check runs, so a changed setting applies without reloading.
    An empty partition (denominator 0) passes with a note.
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
        numerator, denominator = ratio(context, resources)
        threshold = max_rate()
        rate = numerator / denominator if denominator else 0.0
        return dg.AssetCheckResult(
            passed=rate <= threshold,
            severity=dg.AssetCheckSeverity.ERROR,
            metadata={
                "observed_rate": round(rate, 6),
                "threshold": threshold,
                "numerator": numerator,
                "denominator": denominator,
                "note": "empty partition" if not denominator else "",
            },
        )

    return _check
