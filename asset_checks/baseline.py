"""Spike check: a partition's volume against the trailing median of earlier partitions.

Used for landing volumes (DESIGN §5.5: ±50% for daily files). The baseline is the median row
count of the last `window` earlier partitions that hold rows; a partition with no history yet
passes with a note, so a new source does not start blocked.
"""

import statistics
from collections.abc import Callable
from dataclasses import dataclass

from asset_checks import suite
from asset_checks.suite import Assertion, CheckContext
from northstar_platform.layers import Table


@dataclass(frozen=True)
class VolumeVerdict:
    """How a partition's volume compares with its baseline."""

    passed: bool
    baseline: float | None
    deviation: float | None
    note: str


def volume_verdict(
    current: int, history: list[int], tolerance: float, min_rows: int = 0
) -> VolumeVerdict:
    """Pass when |current - median(history)| / median(history) <= tolerance, or when the
    difference is at most `min_rows` rows (small partitions are noisy: 3 rows vs 6 is -50%)."""
    if not history:
        return VolumeVerdict(True, None, None, "no earlier partition with rows: nothing to compare")
    baseline = float(statistics.median(history))
    deviation = (current - baseline) / baseline
    if abs(current - baseline) <= min_rows and abs(deviation) > tolerance:
        note = f"within {min_rows} rows of the baseline: below the noise floor"
        return VolumeVerdict(True, baseline, round(deviation, 4), note)
    return VolumeVerdict(abs(deviation) <= tolerance, baseline, round(deviation, 4), "")


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
    history_sql = (
        f"select partition_key, count(*) from {table.qualified} "  # noqa: S608
        "where partition_key < ? and partition_key like ? "
        "group by partition_key order by partition_key desc limit ?"
    )
    current_sql = f"select count(*) from {table.qualified} where partition_key = ?"  # noqa: S608

    def evaluate(context: CheckContext) -> suite.Verdict:
        pk = context.partition_key or ""
        pattern = f"%{pk[-6:]}" if same_hour else "%"
        history = [int(n) for _, n in context.session.fetchall(history_sql, (pk, pattern, window))]
        current = context.count(current_sql, (pk,))
        limit = tolerance()
        verdict = volume_verdict(current, history, limit, min_rows)
        return verdict.passed, {
            "rows": current,
            "baseline_median": verdict.baseline if verdict.baseline is not None else "none",
            "deviation": verdict.deviation if verdict.deviation is not None else "none",
            "tolerance": limit,
            "noise_floor_rows": min_rows,
            "partitions_in_baseline": len(history),
            "note": verdict.note,
        }

    description = (
        f"Rows of the partition within the tolerance of the median of the last {window} "
        f"earlier partitions with rows{' at the same hour of day' if same_hour else ''}."
    )
    return Assertion(table.asset_key, name, description, evaluate)
