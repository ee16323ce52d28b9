"""Alerts: what a failed blocking check or a failed run says, in one shape for every sink.

An alert names the asset, the partition, the check, the observed value and the threshold, and
links to the run in the Dagster UI. The always-on sinks are the warehouse table
`ops.pipeline_alert_log` (written by a run, DESIGN §3) and a JSON-lines file under the
Northstar home; the Slack and email sinks (lib/alert_sinks.py) read the same `Alert`.
"""

import datetime as dt
import hashlib
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

OBSERVED_KEYS = (
    "observed",
    "observed_rate",
    "observed_rows",
    "unaccounted",
    "dagster_dbt/failed_row_count",
)
THRESHOLD_KEYS = ("threshold", "limit", "max_rate")
DETAIL_KEYS = ("withheld_dates", "note")


@dataclass(frozen=True)
class Alert:
    """One alert; `alert_id` is stable for a (run, asset, check, partition), so a retried
    write of the same alert is recognisable."""

    alert_id: str
    raised_at: dt.datetime
    kind: str
    asset_key: str
    partition_key: str | None
    check_name: str
    observed: str | None
    threshold: str | None
    message: str
    run_id: str
    run_url: str

    def json_line(self) -> str:
        """The alert as one JSON line (ISO timestamps)."""
        record = asdict(self)
        record["raised_at"] = self.raised_at.isoformat()
        return json.dumps(record, sort_keys=True) + "\n"


def _first(metadata: Mapping[str, Any], keys: tuple[str, ...]) -> str | None:
    for key in keys:
        if metadata.get(key) not in (None, ""):
            return str(metadata[key])
    return None


def alert_id(run_id: str, asset_key: str, check_name: str, partition_key: str | None) -> str:
    """The stable id of the alert of one (run, asset, check, partition)."""
    key = "|".join((run_id, asset_key, check_name, partition_key or ""))
    return hashlib.sha256(key.encode()).hexdigest()[:32]


def run_url(ui_url: str, run_id: str) -> str:
    """The run's page in the Dagster UI."""
    return f"{ui_url.rstrip('/')}/runs/{run_id}"


def check_failed_alert(
    *,
    asset_key: str,
    check_name: str,
    partition_key: str | None,
    metadata: Mapping[str, Any],
    run_id: str,
    ui_url: str,
    now: dt.datetime,
) -> Alert:
    """The alert of one failed blocking check, from the metadata the check reported."""
    observed = _first(metadata, OBSERVED_KEYS)
    threshold = _first(metadata, THRESHOLD_KEYS)
    where = f"{asset_key} [{partition_key}]" if partition_key else asset_key
    message = f"{check_name} failed on {where}"
    if observed is not None or threshold is not None:
        message += f": observed {observed} vs threshold {threshold}"
    detail = _first(metadata, DETAIL_KEYS)
    if detail:
        message += f" ({detail})"
    return Alert(
        alert_id=alert_id(run_id, asset_key, check_name, partition_key),
        raised_at=now,
        kind="check_failed",
        asset_key=asset_key,
        partition_key=partition_key,
        check_name=check_name,
        observed=observed,
        threshold=threshold,
        message=message,
        run_id=run_id,
        run_url=run_url(ui_url, run_id),
    )


def run_failed_alert(
    *,
    job_name: str,
    asset_key: str,
    step: str,
    partition_key: str | None,
    error: str,
    run_id: str,
    ui_url: str,
    now: dt.datetime,
) -> Alert:
    """The alert of a failed run: `step` is the failed step's key (`run` when the run failed
    outside any step), `asset_key` the asset(s) that step was materializing, `observed` the
    first line of the error. No threshold: a crash has none."""
    where = f"{asset_key} [{partition_key}]" if partition_key else asset_key
    return Alert(
        alert_id=alert_id(run_id, asset_key, step, partition_key),
        raised_at=now,
        kind="run_failed",
        asset_key=asset_key,
        partition_key=partition_key,
        check_name=step,
        observed=error,
        threshold=None,
        message=f"run of {job_name} failed in {step} on {where}: {error}",
        run_id=run_id,
        run_url=run_url(ui_url, run_id),
    )


def append_json_lines(path: Path, alerts: list[Alert]) -> None:
    """Append `alerts` to the JSON-lines sink (created with its folder on first use)."""
    if not alerts:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as sink:
        sink.writelines(alert.json_line() for alert in alerts)
