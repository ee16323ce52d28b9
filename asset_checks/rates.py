"""Rate check: a share of a partition's rows (e.g. quarantined) stays under a threshold."""

from collections.abc import Callable

import dagster as dg

from asset_checks.suite import Assertion, CheckContext, Verdict

Ratio = Callable[[CheckContext], tuple[int, int]]
"""(numerator, denominator) of one partition."""


def max_rate(
    asset_key: dg.AssetKey,
    *,
    name: str,
    description: str,
    ratio: Ratio,
    threshold: Callable[[], float],
) -> Assertion:
    """Fails when numerator / denominator exceeds `threshold()`.

    `threshold` is read when the check runs, so a changed setting applies without reloading.
    An empty partition (denominator 0) passes with a note.
    """

    def evaluate(context: CheckContext) -> Verdict:
        numerator, denominator = ratio(context)
        limit = threshold()
        rate = numerator / denominator if denominator else 0.0
        return rate <= limit, {
            "observed_rate": round(rate, 6),
            "threshold": limit,
            "numerator": numerator,
            "denominator": denominator,
            "note": "empty partition" if not denominator else "",
        }

    return Assertion(asset_key, name, description, evaluate)
