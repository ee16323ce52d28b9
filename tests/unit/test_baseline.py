"""The volume verdict: median of the trailing partitions, tolerance both ways."""

from asset_checks.baseline import volume_verdict


def test_no_history_passes_with_a_note():
    verdict = volume_verdict(1234, [], 0.5)
    assert verdict.passed
    assert verdict.baseline is None
    assert verdict.note == "no earlier partition with rows: nothing to compare"


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
    assert quiet.note == "within 50 rows of the baseline: below the noise floor"
    # 0 rows against a median of 51 is 51 rows away: beyond the floor, the ratio decides.
    assert not volume_verdict(0, [51, 50, 52], 0.5, min_rows=50).passed
    # A floor never fails what the ratio passes.
    assert volume_verdict(60, [50], 0.5, min_rows=5).passed
    assert volume_verdict(60, [50], 0.5, min_rows=5).note == ""
