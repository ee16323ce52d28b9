"""What one finished run did, as `ops.pipeline_run_log` records it (pure: no Dagster import).

`run_recording.py` reads a run's record and event log into `RunFacts`; the rules that turn
tags, materialization metadata and errors into the row's columns live here, where they can be
tested without a Dagster instance.
"""

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from northstar_platform.lib.code_version import CodeVersion

RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"
PARTITION_TAG = "dagster/partition"

ROW_COUNT_KEYS = (
    "dagster/row_count",
    "rows",
    "staged",
    "rows_loaded",
    "rows_exported",
    "acks_loaded",
    "newly_sent",
    "dead_lettered",
)
"""Materialization metadata that says how many rows a step wrote, first match wins: `rows`
(raw loads), `staged` (staging steps), `rows_loaded` / `rows_exported` (the sync's staging and
export), `acks_loaded`, `newly_sent` (preference export), `dead_lettered`; `dagster/row_count`
for anything that reports Dagster's standard key. dagster-dbt reports no row count unless
asked to run a count query per model, so dbt models are left out rather than guessed."""


@dataclass(frozen=True)
class CheckFact:
    """One evaluated asset check of the run."""

    asset: str
    check: str
    partition: str | None
    passed: bool
    severity: str
    metadata: Mapping[str, Any] = field(default_factory=dict, compare=False)

    @property
    def blocks(self) -> bool:
        """A failed ERROR check (one that alerts and stops its downstream)."""
        return not self.passed and self.severity == "ERROR"

    def as_json(self) -> dict[str, Any]:
        """The entry of the row's `check_results` list."""
        return {
            "asset": self.asset,
            "check": self.check,
            "partition": self.partition,
            "passed": self.passed,
            "severity": self.severity,
        }


@dataclass(frozen=True)
class StepFailure:
    """A step that failed for a reason other than a failed blocking check."""

    step_key: str
    assets: tuple[str, ...]
    error: str


@dataclass(frozen=True)
class RunFacts:
    """One finished run, as recorded."""

    run_id: str
    job_name: str
    partition_key: str | None
    status: str
    """Dagster's run status: SUCCESS, FAILURE or CANCELED."""
    started_at: dt.datetime | None
    ended_at: dt.datetime | None
    trigger: str
    assets: tuple[str, ...]
    """Assets materialized, sorted."""
    rows_written: Mapping[str, int]
    checks: tuple[CheckFact, ...]
    failed_steps: tuple[StepFailure, ...]
    run_error: str | None
    """First line of the run's own failure message (a failure outside any step)."""
    planned_assets: tuple[str, ...] = ()
    tags: Mapping[str, str] = field(default_factory=dict, compare=False)

    @property
    def duration_s(self) -> float | None:
        """Wall time from start to end, when both are known."""
        if self.started_at is None or self.ended_at is None:
            return None
        return (self.ended_at - self.started_at).total_seconds()

    @property
    def error(self) -> str | None:
        """The first error line of the first failed step; else, for a run stopped by failed
        blocking checks, which ones; else the run's own failure line."""
        if self.failed_steps:
            return self.failed_steps[0].error
        blocking = [f"{c.asset} {c.check}" for c in self.checks if c.blocks]
        if blocking:
            return f"blocked by failed checks: {', '.join(blocking)}"
        return self.run_error


def partition_label(tags: Mapping[str, str]) -> str | None:
    """The run's partition: a day or an hour, or `first..last` of a ranged run (as
    `northstar materialize` and the check suites' alerts spell it)."""
    if tags.get(PARTITION_TAG):
        return tags[PARTITION_TAG]
    start, end = tags.get(RANGE_START_TAG), tags.get(RANGE_END_TAG)
    if start and end:
        return f"{start}..{end}"
    return None


def rows_written(asset: str, metadata: Mapping[str, Any]) -> int | None:
    """Rows one materialization of `asset` wrote, from its metadata; None when unknown.

    A staging step reports one accounting for its two outputs: the quarantine table wrote
    `quarantined` rows, the staged table `staged`. A sync merge wrote `inserted + updated`.
    """

    def count(key: str) -> int | None:
        value = metadata.get(key)
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    if asset.rsplit("/", 1)[-1].startswith("quarantine_") and count("quarantined") is not None:
        return count("quarantined")
    for key in ROW_COUNT_KEYS:
        if count(key) is not None:
            return count(key)
    inserted, updated = count("inserted"), count("updated")
    if inserted is not None and updated is not None:
        return inserted + updated
    return None


def first_error_line(text: str | None) -> str:
    """The first non-empty line of an error, without a `northstar_platform.errors.X: ` prefix
    (our errors already name the file, table or column)."""
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    if not lines:
        return "failed"
    line = lines[0]
    if line.startswith("northstar_platform.errors."):
        line = line.split(": ", 1)[-1]
    return line[:1000]


def run_log_row(
    facts: RunFacts, version: CodeVersion, environment: str, recorded_at: dt.datetime
) -> dict[str, Any]:
    """The `ops.pipeline_run_log` row of `facts`, by column name."""
    return {
        "run_id": facts.run_id,
        "job_name": facts.job_name,
        "partition_key": facts.partition_key,
        "status": facts.status,
        "started_at": facts.started_at,
        "ended_at": facts.ended_at,
        "duration_s": facts.duration_s,
        "trigger": facts.trigger,
        "assets_materialized": len(facts.assets),
        "rows_written": json.dumps(dict(facts.rows_written), sort_keys=True),
        "checks_passed": sum(1 for c in facts.checks if c.passed),
        "checks_failed": sum(1 for c in facts.checks if not c.passed),
        "check_results": json.dumps([c.as_json() for c in facts.checks]),
        "error": facts.error,
        "code_version": version.commit,
        "dbt_manifest_hash": version.dbt_manifest_hash,
        "environment": environment,
        "recorded_at": recorded_at,
    }
