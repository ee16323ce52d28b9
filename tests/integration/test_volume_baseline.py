"""The Stripe volume gate: a day far from the trailing median is blocked, others flow."""

from pathlib import Path

import dagster as dg
import pytest

from northstar_platform.runner import RangeReport, materialize_range
from tests.stripe_cases import charge_succeeded

pytestmark = pytest.mark.integration

PAYMENTS = [
    dg.AssetKey(["raw", "raw_stripe_events"]),
    dg.AssetKey(["staging", "stg_stripe_events"]),
    dg.AssetKey(["staging", "quarantine_stripe"]),
]
DAYS = {"2026-10-01": 10, "2026-10-02": 12, "2026-10-03": 8, "2026-10-04": 30, "2026-10-05": 6}
"""Lines landed per day: the 4th is a spike (+200% of the median 10), the 5th a drop (-40%)."""


def _land(home: Path, day: str, lines: int) -> None:
    folder = home / "landing" / "stripe" / day.replace("-", "/")
    folder.mkdir(parents=True)
    events = [
        charge_succeeded(
            f"evt_{day}_{n}", charge_id=f"ch_{n}", order_id=f"o{n}", amount=100, created=1790000000
        )
        for n in range(lines)
    ]
    (folder / "events.jsonl").write_text("\n".join(events) + "\n")


def _volume_checks(
    home: Path, dsn: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> tuple[RangeReport, dict[str, tuple[bool, dict]]]:
    from northstar_platform.definitions import build_definitions

    no_sync = tmp_path / "no_sync.json"
    no_sync.write_text('{"tables": []}')
    monkeypatch.setenv("NORTHSTAR_SYNC_CONFIG", str(no_sync))
    monkeypatch.setenv("NORTHSTAR_SOURCE_DSN", dsn)
    for day, lines in DAYS.items():
        _land(home, day, lines)
    with dg.DagsterInstance.ephemeral() as instance:
        report = materialize_range(build_definitions(), instance, list(DAYS), PAYMENTS)
    return report, {
        c.partition: (c.passed, c.metadata)
        for c in report.checks
        if c.check == "volume_within_baseline"
    }


def test_spike_day_is_blocked_with_its_numbers(
    northstar_env: Path, fresh_pg_dsn: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    report, volume = _volume_checks(northstar_env, fresh_pg_dsn, monkeypatch, tmp_path)
    assert {day: passed for day, (passed, _) in volume.items()} == {
        "2026-10-01": True,
        "2026-10-02": True,
        "2026-10-03": True,
        "2026-10-04": False,
        "2026-10-05": True,
    }
    first, spike, after = volume["2026-10-01"][1], volume["2026-10-04"][1], volume["2026-10-05"][1]
    assert first["partitions_in_baseline"] == 0 and first["baseline_median"] == "none"
    assert (spike["rows"], spike["baseline_median"], spike["deviation"]) == (30, 10.0, 2.0)
    # Day 5's baseline is the median of 10, 12, 8, 30 = 11: 6 rows is a 45.45% drop, within 50%.
    assert (after["rows"], after["baseline_median"], after["deviation"]) == (6, 11.0, -0.4545)
    assert report.blocked == ["2026-10-04"]
    assert not any(
        c.partition == "2026-10-04" and c.asset == "staging/stg_stripe_events"
        for c in report.checks
    )


def test_a_per_asset_override_tunes_one_assets_gate(
    northstar_env: Path, fresh_pg_dsn: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # +200% passes under a tolerance of 2.0; a window of 2 makes day 5's baseline the median
    # of the two previous days (8, 30) = 19: 6 rows is -68.42%, within 200% too.
    monkeypatch.setenv("NORTHSTAR_BASELINE_OVERRIDES", "raw/raw_stripe_events:tolerance=2,window=2")
    report, volume = _volume_checks(northstar_env, fresh_pg_dsn, monkeypatch, tmp_path)
    assert all(passed for passed, _ in volume.values()) and report.blocked == []
    spike, after = volume["2026-10-04"][1], volume["2026-10-05"][1]
    assert (spike["tolerance"], spike["window"], spike["partitions_in_baseline"]) == (2.0, 2, 2)
    assert (spike["baseline_median"], spike["deviation"]) == (10.0, 2.0)  # median of 12, 8
    assert (after["baseline_median"], after["deviation"]) == (19.0, -0.6842)
