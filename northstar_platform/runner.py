"""Materialize a date range the way DESIGN §7 says, and report what happened.

Assets that run per partition (Python ingestion and staging) get one run per day, so a day
whose blocking check fails stops only that day's downstream. Assets with a single-run
backfill policy (the dbt models) then get one run per contiguous range of days whose
upstream succeeded: one dbt invocation per range instead of one per day.
"""

import datetime as dt
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import dagster as dg

from northstar_platform.defs.partitions import hourly_partitions
from northstar_platform.defs.run_policy import AFTER_GATES, ON_DEMAND, RUNS_TAG
from northstar_platform.run_recording import RECORDED_BY_TAG, record_after_run

CONSOLE_QUIET = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}


@dataclass
class CheckOutcome:
    """One evaluated asset check in one run."""

    asset: str
    check: str
    partition: str
    passed: bool
    metadata: dict[str, object]
    severity: str = "ERROR"
    """ERROR checks block; WARN checks (e.g. dbt tests configured `severity: warn`) only warn."""

    @property
    def blocks(self) -> bool:
        """Whether this outcome is a failed ERROR check (one that gates its downstream)."""
        return not self.passed and self.severity == "ERROR"


@dataclass
class RangeReport:
    """Everything the runs of one `materialize_range` call did."""

    materialized: dict[str, int] = field(default_factory=dict)
    """asset → partitions materialized."""
    checks: list[CheckOutcome] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    """One line per failed step: asset/check, partition, why."""
    blocked: list[str] = field(default_factory=list)
    """Partitions whose downstream did not run."""

    @property
    def failed_checks(self) -> list[CheckOutcome]:
        """ERROR checks that did not pass (failed WARN checks are reported, not failures)."""
        return [c for c in self.checks if c.blocks]


def days(start: dt.date, end: dt.date) -> list[str]:
    """Daily partition keys from `start` to `end`, both included."""
    if end < start:
        raise ValueError(f"--to {end} is before --from {start}")
    return [(start + dt.timedelta(n)).isoformat() for n in range((end - start).days + 1)]


def contiguous(keys: list[str]) -> list[tuple[str, str]]:
    """Runs of consecutive days as (first, last) pairs."""
    ranges: list[tuple[str, str]] = []
    for key in keys:
        day = dt.date.fromisoformat(key)
        if ranges and dt.date.fromisoformat(ranges[-1][1]) + dt.timedelta(1) == day:
            ranges[-1] = (ranges[-1][0], key)
        else:
            ranges.append((key, key))
    return ranges


def collect_events(result: dg.ExecuteInProcessResult, partition: str, report: RangeReport) -> None:
    for event in result.all_events:
        if event.event_type_value == "ASSET_MATERIALIZATION" and event.asset_key:
            name = event.asset_key.to_user_string()
            report.materialized[name] = report.materialized.get(name, 0) + 1
        elif event.event_type_value == "ASSET_CHECK_EVALUATION":
            data = event.event_specific_data
            outcome = CheckOutcome(
                asset=data.asset_key.to_user_string(),
                check=data.check_name,
                partition=partition,
                passed=bool(data.passed),
                metadata={k: v.value for k, v in data.metadata.items()},
                severity=data.severity.value,
            )
            report.checks.append(outcome)
        elif event.event_type_value == "STEP_FAILURE":
            error = event.event_specific_data.error
            if error and error.cls_name == "DagsterAssetCheckFailedError":
                continue  # already reported as a failed check, with its metadata
            cause = (
                error.cause.message if error and error.cause else (error.message if error else "")
            )
            first_line = cause.strip().splitlines()[0] if cause.strip() else "failed"
            # "northstar_platform.errors.InputFileError: <message>" → "<message>"
            if first_line.startswith("northstar_platform.errors."):
                first_line = first_line.split(": ", 1)[-1]
            report.failures.append(f"{event.step_key} [{partition}]: {first_line}")


def _execute(
    job: Any,
    instance: dg.DagsterInstance,
    selection: list[dg.AssetKey],
    label: str,
    what: str,
    report: RangeReport,
    progress: Callable[[str], None],
    partition_key: str | None = None,
    tags: dict[str, str] | None = None,
) -> bool:
    """One in-process run; its events go into `report`; True when it succeeded."""
    started = time.monotonic()
    result = job.execute_in_process(
        partition_key=partition_key,
        instance=instance,
        asset_selection=selection,
        raise_on_error=False,
        run_config=CONSOLE_QUIET,
        tags={
            "northstar/trigger": "northstar materialize",
            RECORDED_BY_TAG: "in_process",
            **(tags or {}),
        },
    )
    # The run is over and holds no lock: its ops.pipeline_run_log row and run-level alerts.
    record_after_run(instance, result.run_id, progress)
    checks_before, failures_before = len(report.checks), len(report.failures)
    collect_events(result, label, report)
    state = "ok"
    if not result.success:
        gates = [f"{c.asset} {c.check}" for c in report.checks[checks_before:] if c.blocks]
        blocked_only = gates and len(report.failures) == failures_before
        state = f"BLOCKED by {', '.join(gates)}" if blocked_only else "FAILED"
    progress(f"{label}  {what}  {state}  {time.monotonic() - started:.1f}s")
    return result.success


def materialize_range(
    defs: dg.Definitions,
    instance: dg.DagsterInstance,
    keys: list[str],
    selection: Iterable[dg.AssetKey] | None = None,
    progress: Callable[[str], None] = lambda _: None,
) -> RangeReport:
    """Materialize `selection` (default: every asset but the on-demand ones) for each daily
    partition in `keys`.

    Unpartitioned assets (the watermark sync) run once first; then hourly assets (WMS) one run
    per hour of every day; then per-day assets one run per day; then single-run assets once per
    contiguous range of days whose runs succeeded, and after them, in a run of their own, the
    single-run assets tagged `northstar/runs: after_gates` (diagnostics such as the root-cause
    counts, which a failed publication gate must not skip: that is when they are needed).
    """
    job = defs.resolve_implicit_global_asset_job_def()
    graph = defs.resolve_asset_graph()
    selected = (
        set(selection)
        if selection is not None
        else {k for k in graph.get_all_asset_keys() if _runs(graph, k) != ON_DEMAND[RUNS_TAG]}
    )
    singles = sorted(k for k in selected if _is_single_run(graph, k))
    after_gates = [k for k in singles if _runs(graph, k) == AFTER_GATES[RUNS_TAG]]
    ranged = [k for k in singles if k not in after_gates]
    unpartitioned = sorted(k for k in selected if graph.get(k).partitions_def is None)
    hourly = sorted(k for k in selected - set(singles) if _is_hourly(graph, k))
    # Per-request assets (DSR, dynamic partitions) run from their sensor, never by date.
    dynamic = {k for k in selected if _is_dynamic(graph, k)}
    per_day = sorted(selected - set(singles) - set(unpartitioned) - set(hourly) - dynamic)
    report = RangeReport()
    if unpartitioned:
        _execute(job, instance, unpartitioned, "-", "PostgreSQL sync", report, progress)
    # A failed hour holds back its day's single-run models only when they read hourly assets.
    hours_feed_ranged = bool(set(hourly) & _ancestors(graph, ranged))
    held_back: set[str] = set()
    for key in keys if hourly else []:
        failed_hours = _execute_hours(job, instance, hourly, key, report, progress)
        report.blocked.extend(failed_hours)
        if failed_hours and hours_feed_ranged:
            held_back.add(key)
    passed = []
    for key in keys:
        ok = not per_day or _execute(
            job, instance, per_day, key, "ingest + stage", report, progress, key
        )
        if not ok:
            report.blocked.append(key)
        if ok and key not in held_back:
            passed.append(key)
    for first, last in contiguous(passed) if singles else []:
        window = {
            "dagster/asset_partition_range_start": first,
            "dagster/asset_partition_range_end": last,
        }
        label = f"{first}..{last}"
        if ranged:
            _execute(job, instance, ranged, label, "dbt models", report, progress, tags=window)
        if after_gates:
            _execute(
                job, instance, after_gates, label, "diagnostics", report, progress, tags=window
            )
    return report


def run_partition(
    job: Any,
    instance: dg.DagsterInstance,
    selection: Iterable[dg.AssetKey],
    partition_key: str,
    progress: Callable[[str], None] = lambda _: None,
) -> RangeReport:
    """One run of `selection` for one partition (a day or an hour), as a sensor's run would."""
    report = RangeReport()
    if not _execute(
        job, instance, sorted(selection), partition_key, "re-run", report, progress, partition_key
    ):
        report.blocked.append(partition_key)
    return report


def _execute_hours(
    job: Any,
    instance: dg.DagsterInstance,
    selection: list[dg.AssetKey],
    day: str,
    report: RangeReport,
    progress: Callable[[str], None],
) -> list[str]:
    """One run per hour of `day` for the hourly assets; returns the hours that failed."""
    started = time.monotonic()
    failed = []
    for hour in range(24):
        key = f"{day}-{hour:02d}:00"
        if not _execute(job, instance, selection, key, "hour", report, lambda _: None, key):
            failed.append(key)
    state = f"BLOCKED {', '.join(k[-5:] for k in failed)}" if failed else "ok"
    progress(f"{day}  24 hourly runs (WMS)  {state}  {time.monotonic() - started:.1f}s")
    return failed


def _runs(graph: Any, key: dg.AssetKey) -> str | None:
    """The asset's `northstar/runs` tag: `on_demand` (never in a default materialize) or
    `after_gates` (its own run after the single-run models of each range)."""
    return (graph.get(key).tags or {}).get(RUNS_TAG)


def _is_dynamic(graph: Any, key: dg.AssetKey) -> bool:
    return isinstance(graph.get(key).partitions_def, dg.DynamicPartitionsDefinition)


def _is_hourly(graph: Any, key: dg.AssetKey) -> bool:
    return graph.get(key).partitions_def == hourly_partitions


def _ancestors(graph: Any, keys: Iterable[dg.AssetKey]) -> set[dg.AssetKey]:
    """Every asset upstream of `keys`."""
    seen: set[dg.AssetKey] = set()
    todo = list(keys)
    while todo:
        for parent in graph.get(todo.pop()).parent_keys:
            if parent not in seen:
                seen.add(parent)
                todo.append(parent)
    return seen


def _is_single_run(graph: Any, key: dg.AssetKey) -> bool:
    policy = graph.get(key).backfill_policy
    return policy is not None and policy.max_partitions_per_run is None
