"""`lib.alerts`: one alert shape whatever metadata a check reports."""

import datetime as dt
import json

from northstar_platform.lib.alerts import check_failed_alert

NOW = dt.datetime(2026, 3, 3, 12, 0, 0)


def alert(metadata: dict, run_id: str = "run-1", partition: str | None = "2026-03-01"):
    return check_failed_alert(
        asset_key="staging/stg_orders",
        check_name="quarantine_rate_within_threshold",
        partition_key=partition,
        metadata=metadata,
        run_id=run_id,
        ui_url="http://ui.example:3000/",
        now=NOW,
    )


def test_observed_and_threshold_come_from_the_checks_own_keys() -> None:
    a = alert({"observed_rate": 0.1, "threshold": 0.05, "numerator": 10})
    assert (a.observed, a.threshold) == ("0.1", "0.05")
    assert a.message == (
        "quarantine_rate_within_threshold failed on staging/stg_orders [2026-03-01]: "
        "observed 0.1 vs threshold 0.05"
    )
    assert a.run_url == "http://ui.example:3000/runs/run-1"


def test_a_check_without_a_threshold_still_says_what_failed() -> None:
    a = alert({"unaccounted": 3, "note": "rows lost between raw and staging"}, partition=None)
    assert (a.observed, a.threshold) == ("3", None)
    assert a.message.endswith("observed 3 vs threshold None (rows lost between raw and staging)")
    assert "[" not in a.message


def test_the_id_is_stable_per_run_check_and_partition() -> None:
    assert alert({}).alert_id == alert({"observed": 1}).alert_id
    assert alert({}).alert_id != alert({}, run_id="run-2").alert_id
    assert alert({}).alert_id != alert({}, partition="2026-03-02").alert_id


def test_json_line_round_trips() -> None:
    a = alert({"observed": 0.2, "threshold": 0.1})
    record = json.loads(a.json_line())
    assert record["raised_at"] == "2026-03-03T12:00:00"
    assert record["message"] == a.message and record["kind"] == "check_failed"
