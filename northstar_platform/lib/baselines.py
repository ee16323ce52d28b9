"""Spike checks against a baseline: a partition's metric vs the trailing median of earlier ones.

One rule for every "is this partition unusual?" check (DESIGN §5.5, seed 004's row-count
assertions): the baseline is the median of the metric over the last N earlier partitions that
hold data (the median, not the mean, so one earlier incident does not move it), and the
partition passes when it deviates from it by at most the tolerance, either way. Defaults:
±20%, N = 14 partitions for daily and hourly assets, 3 for monthly ones. A first partition
without history passes with a note, so a new source does not start blocked. A noise floor
(absolute) lets small partitions swing: 3 rows vs 6 is -50% and means nothing.

Per-asset settings come from the checks that use this module and can be overridden per asset
with `NORTHSTAR_BASELINE_OVERRIDES` (`parse_overrides`).
"""

import dataclasses
import statistics
from collections.abc import Mapping
from dataclasses import dataclass

DEFAULT_TOLERANCE = 0.2
DEFAULT_WINDOWS = {"hourly": 14, "daily": 14, "monthly": 3}
"""Earlier partitions in the baseline, by partition grain (hourly: the same hour of the last
14 days)."""
OVERRIDABLE = ("tolerance", "window", "noise_floor")


@dataclass(frozen=True)
class BaselinePolicy:
    """How one asset's metric is judged against its history."""

    tolerance: float = DEFAULT_TOLERANCE
    """Largest allowed |current - median| / median."""
    window: int = DEFAULT_WINDOWS["daily"]
    """How many earlier partitions with data make the baseline."""
    noise_floor: float = 0
    """A deviation of at most this much (in the metric's unit) always passes."""


def default_policy(grain: str) -> BaselinePolicy:
    """±20% over the grain's default window (`hourly`, `daily` or `monthly`)."""
    return BaselinePolicy(window=DEFAULT_WINDOWS[grain])


@dataclass(frozen=True)
class BaselineVerdict:
    """How a partition's metric compares with its baseline."""

    passed: bool
    current: float
    baseline: float | None
    deviation: float | None
    partitions_in_baseline: int
    policy: BaselinePolicy
    note: str

    def metadata(self, unit: str = "rows") -> dict[str, object]:
        """Check metadata; `observed` and `threshold` are what an alert names."""
        whole = float(self.current).is_integer()
        return {
            unit: int(self.current) if whole else self.current,
            "observed": self.deviation if self.deviation is not None else "none",
            "threshold": self.policy.tolerance,
            "baseline_median": self.baseline if self.baseline is not None else "none",
            "deviation": self.deviation if self.deviation is not None else "none",
            "tolerance": self.policy.tolerance,
            "noise_floor": self.policy.noise_floor,
            "partitions_in_baseline": self.partitions_in_baseline,
            "window": self.policy.window,
            "note": self.note,
        }


def judge(current: float, history: list[float], policy: BaselinePolicy) -> BaselineVerdict:
    """Pass when |current - median(history)| / median(history) <= tolerance, or when the
    difference is at most the noise floor; no history passes with a note."""
    if not history:
        note = "no earlier partition with data: nothing to compare (passes)"
        return BaselineVerdict(True, current, None, None, 0, policy, note)
    baseline = float(statistics.median(history))
    gap = current - baseline
    deviation = gap / baseline if baseline else (0.0 if gap == 0 else float("inf"))
    passed = abs(deviation) <= policy.tolerance
    note = ""
    if not passed and abs(gap) <= policy.noise_floor:
        passed = True
        note = f"within {policy.noise_floor:g} of the baseline: below the noise floor"
    return BaselineVerdict(
        passed, current, baseline, round(deviation, 4), len(history), policy, note
    )


def parse_overrides(text: str) -> dict[str, dict[str, float]]:
    """`asset:key=value,key=value;asset:...` → {asset: {key: value}}.

    e.g. `raw/raw_wms_shipments:tolerance=0.3,window=7;staging/stg_orders:noise_floor=20`.
    Raises ValueError naming the bad part.
    """
    overrides: dict[str, dict[str, float]] = {}
    for part in filter(None, (p.strip() for p in text.split(";"))):
        asset, sep, settings = part.partition(":")
        if not sep or "/" not in asset:
            raise ValueError(f"{part!r}: expected <layer>/<table>:key=value[,key=value]")
        values: dict[str, float] = {}
        for item in settings.split(","):
            key, eq, value = item.strip().partition("=")
            if key not in OVERRIDABLE or not eq:
                raise ValueError(f"{item!r} in {part!r}: expected one of {', '.join(OVERRIDABLE)}=")
            try:
                number = float(value)
            except ValueError:
                raise ValueError(f"{item!r} in {part!r}: {value!r} is not a number") from None
            if number < 0 or (key == "window" and (number < 1 or number != int(number))):
                raise ValueError(
                    f"{item!r} in {part!r}: must be a non-negative number "
                    "(window: a whole number ≥ 1)"
                )
            values[key] = number
        overrides[asset.strip()] = values
    return overrides


def resolve(
    asset: str, policy: BaselinePolicy, overrides: Mapping[str, Mapping[str, float]]
) -> BaselinePolicy:
    """`policy` with the asset's overrides applied (window as a whole number)."""
    changes = dict(overrides.get(asset, {}))
    if "window" in changes:
        changes["window"] = int(changes["window"])
    return dataclasses.replace(policy, **changes)
