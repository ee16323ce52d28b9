"""Conservation (DESIGN §5.1): every input row is accounted for in the outputs."""

from collections.abc import Callable, Mapping

import dagster as dg

from asset_checks.suite import Assertion, CheckContext, Verdict

Counter = Callable[[CheckContext], Mapping[str, int]]
"""Named row counts of one partition."""


def conserves_records(
    asset_key: dg.AssetKey,
    *,
    description: str,
    inputs: Counter,
    outputs: Counter,
    name: str = "conserves_records",
) -> Assertion:
    """Passes when the input counts add up to the output counts.

    `inputs` and `outputs` are counted independently (e.g. landed rows from the files
    against rows in the table), so a step that drops rows cannot hide it.
    """

    def evaluate(context: CheckContext) -> Verdict:
        counted_in, counted_out = dict(inputs(context)), dict(outputs(context))
        total_in, total_out = sum(counted_in.values()), sum(counted_out.values())
        return total_in == total_out, {
            **{f"in_{k}": v for k, v in counted_in.items()},
            **{f"out_{k}": v for k, v in counted_out.items()},
            "unaccounted": total_in - total_out,
        }

    return Assertion(asset_key, name, description, evaluate)
