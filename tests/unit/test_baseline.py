"""The shared spike rule (lib/baselines.py): median of the trailing partitions, tolerance both
ways, a noise floor, defaults by grain and per-asset overrides."""

import pytest

from northstar_platform.lib.baselines import (
    BaselinePolicy,
    default_policy,
    judge,
    parse_overrides,
    resolve,
)


def volume_verdict(current, history, tolerance, min_rows=0):
    return judge(current, history, BaselinePolicy(tolerance, 14, min_rows))


def test_no_history_passes_with_a_note():
    verdict = volume_verdict(1234, [], 0.5)
    assert verdict.passed
    assert verdict.baseline is None
    assert verdict.note == "no earlier partition with data: nothing to compare (passes)"
    assert verdict.metadata()["baseline_median"] == "none"


def test_median_not_mean_is_the_baseline():
    # The mean (340) would make 150 a 56% drop; the median (110) makes it +36%: within 50%.
    verdict = volume_verdict(150, [100, 90, 110, 1000, 400], 0.5)
    assert verdict.baseline == 110.0
    assert verdict.deviation == round(40 / 110, 4)
    assert verdict.passed


def test_spikes_and_drops_beyond_the_tolerance_fail():
    assert not volume_verdict(151, [100], 0.5).passed
    assert volume_verdict(150, [100], 0.5).passed
    assert volume_verdict(50, [100], 0.5).passed
    assert not volume_verdict(49, [100], 0.5).passed
    assert volume_verdict(0, [100, 100], 0.5).deviation == -1.0


def test_the_noise_floor_passes_small_absolute_swings_only():
    # 20 rows against a median of 50 is -60%, but only 30 rows: under a floor of 50 it passes.
    quiet = volume_verdict(20, [50, 48, 52], 0.5, min_rows=50)
    assert quiet.passed
    assert quiet.deviation == -0.6
    assert quiet.note == "within 50 of the baseline: below the noise floor"
    # 0 rows against a median of 51 is 51 rows away: beyond the floor, the ratio decides.
    assert not volume_verdict(0, [51, 50, 52], 0.5, min_rows=50).passed
    # A floor never fails what the ratio passes.
    assert volume_verdict(60, [50], 0.5, min_rows=5).passed
    assert volume_verdict(60, [50], 0.5, min_rows=5).note == ""


def test_defaults_are_20_percent_over_14_daily_or_3_monthly_partitions():
    assert default_policy("daily") == BaselinePolicy(0.2, 14, 0)
    assert default_policy("monthly") == BaselinePolicy(0.2, 3, 0)
    monthly = default_policy("monthly")
    assert judge(120, [100, 90, 110], monthly).passed  # median 100: +20% exactly
    assert not judge(121, [100, 90, 110], monthly).passed
    failed = judge(79, [100, 90, 110], monthly)
    assert failed.metadata() == {
        "rows": 79,
        "observed": -0.21,
        "threshold": 0.2,
        "baseline_median": 100.0,
        "deviation": -0.21,
        "tolerance": 0.2,
        "noise_floor": 0,
        "partitions_in_baseline": 3,
        "window": 3,
        "note": "",
    }


def test_overrides_are_parsed_per_asset_and_applied_over_the_check_default():
    text = " raw/raw_wms_shipments:tolerance=0.3,window=7 ; staging/stg_orders:noise_floor=20;"
    overrides = parse_overrides(text)
    assert overrides == {
        "raw/raw_wms_shipments": {"tolerance": 0.3, "window": 7.0},
        "staging/stg_orders": {"noise_floor": 20.0},
    }
    base = BaselinePolicy(0.5, 14, 50)
    assert resolve("raw/raw_wms_shipments", base, overrides) == BaselinePolicy(0.3, 7, 50)
    assert resolve("staging/stg_orders", base, overrides) == BaselinePolicy(0.5, 14, 20)
    assert resolve("raw/raw_orders", base, overrides) == base


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("raw_orders:tolerance=0.1", "expected <layer>/<table>:key=value"),
        ("raw/raw_orders:tol=0.1", "expected one of tolerance, window, noise_floor="),
        ("raw/raw_orders:tolerance=x", "'x' is not a number"),
        ("raw/raw_orders:window=2.5", "window: a whole number"),
        ("raw/raw_orders:tolerance=-1", "must be a non-negative number"),
    ],
)
def test_a_bad_override_names_the_part(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_overrides(text)
