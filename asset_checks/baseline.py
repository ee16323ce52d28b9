"""Spike check: a partition's metric against the trailing median of earlier partitions.

The rule lives in `lib/baselines.py` (one rule for every spike check); this module reads the
history from the warehouse. Used for landing volumes (DESIGN §5.5: ±50% for daily files); any
asset can add a `metric_within_baseline` check, and `NORTHSTAR_BASELINE_OVERRIDES` tunes one
asset's tolerance, window or noise floor without a code change.
"""

from collections.abc import Callable

from asset_checks import suite
from asset_checks.suite import Assertion, CheckContext
from northstar_platform.layers import Table
from northstar_platform.lib.baselines import BaselinePolicy, judge, resolve
from northstar_platform.settings import get_settings


def volume_within_baseline(
    table: Table,
    *,
    window: int,
    tolerance: Callable[[], float],
    min_rows: int = 0,
    same_hour: bool = False,
    name: str = "volume_within_baseline",
) -> Assertion:
    """The partition's row count against the trailing median of earlier partitions.

    `same_hour` compares an hourly partition (`YYYY-MM-DD-HH:00`) with the same hour of
    earlier days, since volumes follow the time of day; `min_rows` is the noise floor.
    """
    return metric_within_baseline(
        table,
        metric="count(*)",
        policy=lambda: BaselinePolicy(tolerance(), window, min_rows),
        same_hour=same_hour,
        name=name,
        what="Rows",
    )


def metric_within_baseline(
    table: Table,
    *,
    metric: str,
    policy: Callable[[], BaselinePolicy],
    name: str,
    same_hour: bool = False,
    what: str = "The metric",
) -> Assertion:
    """`metric` (an aggregate SQL expression over the table's rows, trusted text from code,
    e.g. `count(*)` or `sum(amount_cents)`) of the partition against the trailing median of the
    last `window` earlier partitions that hold rows. `policy` is read at evaluation time, then
    `NORTHSTAR_BASELINE_OVERRIDES` for this asset applies."""
    asset = table.asset_key.to_user_string()

    def evaluate(context: CheckContext) -> suite.Verdict:
        # Named at run time: the schema depends on the environment (shadow mode).
        history_sql = (
            f"select partition_key, {metric} from {table.qualified} "  # noqa: S608
            "where partition_key < ? and partition_key like ? "
            "group by partition_key order by partition_key desc limit ?"
        )
        current_sql = f"select {metric} from {table.qualified} where partition_key = ?"  # noqa: S608
        pk = context.partition_key or ""
        pattern = f"%{pk[-6:]}" if same_hour else "%"
        rules = resolve(asset, policy(), get_settings().baseline_overrides)
        rows = context.session.fetchall(history_sql, (pk, pattern, rules.window))
        history = [float(n or 0) for _, n in rows]
        current_row = context.session.fetchone(current_sql, (pk,))
        current = float(current_row[0] or 0) if current_row else 0.0
        verdict = judge(current, history, rules)
        return verdict.passed, verdict.metadata("rows" if metric == "count(*)" else "value")

    description = (
        f"{what} of the partition within the tolerance of the median of the last earlier "
        f"partitions with rows{' at the same hour of day' if same_hour else ''} "
        "(lib/baselines.py; NORTHSTAR_BASELINE_OVERRIDES tunes it per asset)."
    )
    return Assertion(table.asset_key, name, description, evaluate)
