"""The run recorder: one `ops.pipeline_run_log` row per finished run, and its run-level alerts.

Given the Dagster instance and run ids, it reads each run's record and event log (job, tags,
start and end, materializations with their row counts, check evaluations, failed steps),
writes one row per run (delete + insert by run_id, so recording a run again keeps one row)
and raises, through the one alert path (`asset_checks.alerting.record_alerts`):

- one `run_failed` alert per failed run that a step failure (or a failure outside any step)
  explains; a run that failed only because blocking checks failed is already alerted by
  those checks;
- one `check_failed` alert per failed ERROR-severity check that has none yet in the alert log
  (dbt tests; the check suites alert from inside the run). WARN failures and canceled runs
  raise nothing.

It is called by the run that writes the rows (DESIGN §3): `runner.py` right after each
in-process run, and the `record_pipeline_runs_job` that `pipeline_run_log_sensor` starts for
runs the Dagster daemon launched (defs/ops/sensors.py).
"""

import datetime as dt
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import dagster as dg
from dagster import AssetCheckEvaluation, DagsterEvent

from asset_checks.alerting import Log, record_alerts
from northstar_platform.defs.resources import build_warehouse
from northstar_platform.layers import PIPELINE_ALERT_LOG, PIPELINE_RUN_LOG
from northstar_platform.lib.alerts import Alert, check_failed_alert, run_failed_alert
from northstar_platform.lib.code_version import current as current_code_version
from northstar_platform.lib.corrections import trigger_from_tags
from northstar_platform.lib.run_facts import (
    CheckFact,
    RunFacts,
    StepFailure,
    first_error_line,
    partition_label,
    rows_written,
    run_log_row,
)
from northstar_platform.replay_corrections import platform_parents, record_replays
from northstar_platform.resources.warehouse import WarehouseSession
from northstar_platform.settings import get_settings

logger = logging.getLogger(__name__)

FINISHED = (dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED)

RECORDED_BY_TAG = "northstar/run_log"
"""Set to `in_process` on runs whose caller records them itself (`runner.py`): the sensor
leaves them alone, so a run is not recorded twice and no recording run competes with the
caller for the DuckDB file."""

E = dg.DagsterEventType
EVENT_TYPES = {
    E.ASSET_MATERIALIZATION_PLANNED,
    E.ASSET_CHECK_EVALUATION_PLANNED,
    E.ASSET_MATERIALIZATION,
    E.ASSET_CHECK_EVALUATION,
    E.STEP_FAILURE,
    E.RUN_FAILURE,
}
CHECK_FAILED_ERROR = "DagsterAssetCheckFailedError"
"""The error of a step that failed only because a blocking check failed (alerted as a check)."""


def _utc(timestamp: float | None) -> dt.datetime | None:
    if timestamp is None:
        return None
    return dt.datetime.fromtimestamp(timestamp, dt.UTC).replace(tzinfo=None)


def _assets_label(assets: Sequence[str]) -> str:
    """`a, b, c` — or the first three and how many more (a dbt step builds dozens)."""
    shown = ", ".join(assets[:3])
    return f"{shown} (+{len(assets) - 3} more)" if len(assets) > 3 else shown


def _values(metadata: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value.value for key, value in metadata.items()}


def _check_fact(data: AssetCheckEvaluation, partition: str | None) -> CheckFact:
    return CheckFact(
        asset=data.asset_key.to_user_string(),
        check=data.check_name,
        partition=data.partition or partition,
        passed=bool(data.passed),
        severity=data.severity.value,
        metadata=_values(data.metadata),
    )


def _step_error(event: DagsterEvent) -> str | None:
    """The first error line of a failed step; None when only a blocking check failed."""
    error = event.step_failure_data.error
    if error is not None and error.cls_name == CHECK_FAILED_ERROR:
        return None
    return first_error_line((error.cause or error).message if error else None)


def read_run_facts(instance: dg.DagsterInstance, run_id: str) -> RunFacts | None:
    """What the finished run `run_id` did; None when it is unknown or still going."""
    record = instance.get_run_record_by_id(run_id)
    if record is None or record.dagster_run.status not in FINISHED:
        return None
    run = record.dagster_run
    partition = partition_label(run.tags)
    step_assets: dict[str, list[str]] = {}
    rows: dict[str, int] = {}
    materialized: set[str] = set()
    checks: list[CheckFact] = []
    failures: list[StepFailure] = []
    run_error = None
    for entry in instance.all_logs(run_id, of_type=EVENT_TYPES):
        event = entry.dagster_event
        if event is None:
            continue
        kind, step = event.event_type, event.step_key or "run"
        if kind in (E.ASSET_MATERIALIZATION_PLANNED, E.ASSET_CHECK_EVALUATION_PLANNED):
            key = (
                event.asset_materialization_planned_data.asset_key
                if kind is E.ASSET_MATERIALIZATION_PLANNED
                else event.asset_check_planned_data.asset_key
            )
            planned = step_assets.setdefault(step, [])
            if key.to_user_string() not in planned:
                planned.append(key.to_user_string())
        elif kind is E.ASSET_MATERIALIZATION and event.asset_key is not None:
            asset = event.asset_key.to_user_string()
            materialized.add(asset)
            metadata = _values(event.step_materialization_data.materialization.metadata)
            count = rows_written(asset, metadata)
            if count is not None:
                rows[asset] = rows.get(asset, 0) + count
        elif kind is E.ASSET_CHECK_EVALUATION:
            checks.append(_check_fact(event.asset_check_evaluation_data, partition))
        elif kind is E.STEP_FAILURE and (error := _step_error(event)) is not None:
            failures.append(StepFailure(step, tuple(step_assets.get(step, ())), error))
        elif kind is E.RUN_FAILURE:
            failure = event.job_failure_data.error
            run_error = first_error_line(failure.message if failure else event.message)
    return RunFacts(
        run_id=run_id,
        job_name=run.job_name,
        partition_key=partition,
        status=run.status.value,
        started_at=_utc(record.start_time),
        ended_at=_utc(record.end_time),
        trigger=trigger_from_tags(run.tags),
        assets=tuple(sorted(materialized)),
        rows_written=rows,
        checks=tuple(checks),
        failed_steps=tuple(failures),
        run_error=run_error,
        planned_assets=tuple(a for assets in step_assets.values() for a in assets),
        tags=dict(run.tags),
    )


def run_alerts(
    facts: RunFacts, alerted_checks: set[tuple[str, str]], ui_url: str, now: dt.datetime
) -> list[Alert]:
    """The alerts the recorder raises for one run (see the module docstring);
    `alerted_checks` are the (asset, check) pairs of the run already in the alert log."""
    if facts.status == dg.DagsterRunStatus.CANCELED.value:
        return []
    alerts = [
        check_failed_alert(
            asset_key=c.asset,
            check_name=c.check,
            partition_key=c.partition,
            metadata=c.metadata,
            run_id=facts.run_id,
            ui_url=ui_url,
            now=now,
        )
        for c in facts.checks
        if c.blocks and (c.asset, c.check) not in alerted_checks
    ]
    if facts.status != dg.DagsterRunStatus.FAILURE.value:
        return alerts
    failed_checks = any(c.blocks for c in facts.checks)
    if facts.failed_steps:
        step = facts.failed_steps[0]
        where, name, error = list(step.assets), step.step_key, step.error
    elif facts.run_error and not failed_checks:
        where, name, error = list(facts.planned_assets), "run", facts.run_error
    else:
        return alerts  # failed only because blocking checks failed: alerted as checks
    alerts.append(
        run_failed_alert(
            job_name=facts.job_name,
            asset_key=_assets_label(where) or facts.job_name,
            step=name,
            partition_key=facts.partition_key,
            error=error,
            run_id=facts.run_id,
            ui_url=ui_url,
            now=now,
        )
    )
    return alerts


def _alerted_checks(session: WarehouseSession, run_id: str) -> set[tuple[str, str]]:
    session.ensure_table(PIPELINE_ALERT_LOG)
    rows = session.fetchall(
        f"select asset_key, check_name from {PIPELINE_ALERT_LOG.qualified} "  # noqa: S608
        "where run_id = ? and kind = 'check_failed'",
        (run_id,),
    )
    return {(str(a), str(c)) for a, c in rows}


def write_run_log(session: WarehouseSession, facts: Sequence[RunFacts]) -> None:
    """Replace the `ops.pipeline_run_log` rows of `facts`' runs, in one transaction."""
    settings = get_settings()
    version = current_code_version()
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    columns = PIPELINE_RUN_LOG.column_names
    insert = (
        f"insert into {PIPELINE_RUN_LOG.qualified} ({', '.join(columns)}) "  # noqa: S608
        f"values ({', '.join('?' for _ in columns)})"
    )
    delete = f"delete from {PIPELINE_RUN_LOG.qualified} where run_id = ?"  # noqa: S608
    session.ensure_table(PIPELINE_RUN_LOG)  # before the transaction: DDL commits on Snowflake
    with session.transaction():
        for run in facts:
            row = run_log_row(run, version, settings.environment, now)
            session.execute(delete, (run.run_id,))
            session.execute(insert, [row[c] for c in columns])


def record_finished_runs(
    instance: dg.DagsterInstance,
    run_ids: Sequence[str],
    session: WarehouseSession,
    log: Log | None = None,
) -> list[RunFacts]:
    """Record every finished run of `run_ids` (unknown or unfinished ids are skipped): its
    run-log row, then its alerts. Returns the facts recorded, in the order given."""
    facts = [f for f in (read_run_facts(instance, run_id) for run_id in run_ids) if f]
    if not facts:
        return []
    write_run_log(session, facts)
    for run in facts:  # a replayed partition is an auditable correction (DESIGN §5.4)
        try:
            record_replays(instance, run.run_id, session, platform_parents())
        except Exception as exc:  # the run log row stands; say what could not be recorded
            (log or logger).warning(f"run {run.run_id}: backfill corrections not recorded: {exc}")
    ui_url = get_settings().dagster_ui_url
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    alerts = []
    for run in facts:
        # Only a failed ERROR check can have been alerted already: skip the query otherwise.
        alerted = (
            _alerted_checks(session, run.run_id) if any(c.blocks for c in run.checks) else set()
        )
        alerts.extend(run_alerts(run, alerted, ui_url, now))
    record_alerts(alerts, session, log or logger)
    return facts


def record_after_run(
    instance: dg.DagsterInstance, run_id: str, warn: Callable[[str], None]
) -> RunFacts | None:
    """Record one in-process run right after it ended (`runner.py`); never raises: a run log
    that cannot be written is reported through `warn`, the run's own result stands."""
    try:
        with build_warehouse(get_settings()).connect() as session:
            recorded = record_finished_runs(instance, [run_id], session)
    except Exception as exc:  # the run is over; its log row must not turn it into a crash
        message = f"run {run_id} not recorded in {PIPELINE_RUN_LOG.qualified}: {exc}"
        logger.warning(message)
        warn(message)
        return None
    return recorded[0] if recorded else None
