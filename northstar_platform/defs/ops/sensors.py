"""Runs the Dagster daemon launched (UI, schedules, sensors, backfills) → one recording run.

`pipeline_run_log_sensor` never opens the warehouse (DESIGN §3): it lists the runs that
finished since its cursor in the instance's run storage and requests ONE run of
`record_pipeline_runs_job` with their ids in its config; that run opens the warehouse and
records them (`run_recording.record_finished_runs`: run-log rows and run-level alerts).

Left out: the recording job's own runs (recording them would start another recording run,
forever) and runs tagged `northstar/run_log=in_process`, which `runner.py` records itself
right after they end. The cursor is the newest `update_timestamp` seen plus the run ids at
that instant, so runs finishing in the same instant as a batch's last one are not missed; the
run key hashes the batch's ids, so a batch is requested once.
"""

import datetime as dt
import hashlib
import json
from dataclasses import dataclass

import dagster as dg

from northstar_platform.resources.warehouse import WarehouseResource
from northstar_platform.run_recording import FINISHED, RECORDED_BY_TAG, record_finished_runs

JOB_NAME = "record_pipeline_runs_job"
OP_NAME = "record_pipeline_runs"
BATCH = 100
"""Most runs one recording run records; a backlog (the first tick on an old instance) drains
over several ticks."""


class RecordRunsConfig(dg.Config):
    """Which runs a recording run records."""

    run_ids: list[str]
    """Dagster run ids of finished runs."""


@dg.op(
    name=OP_NAME,
    description="Write ops.pipeline_run_log rows and run-level alerts.",
    pool="warehouse_write",
)
def record_pipeline_runs(
    context: dg.OpExecutionContext, config: RecordRunsConfig, warehouse: WarehouseResource
) -> dg.Output[int]:
    with warehouse.connect() as session:
        recorded = record_finished_runs(context.instance, config.run_ids, session, context.log)
    missing = sorted(set(config.run_ids) - {f.run_id for f in recorded})
    if missing:
        context.log.warning(f"not finished or unknown, not recorded: {', '.join(missing)}")
    return dg.Output(len(recorded), metadata={"runs_recorded": len(recorded)})


@dg.job(
    name=JOB_NAME,
    description="Record finished runs (ids in the run config) in ops.pipeline_run_log and "
    "raise their run-failure alerts; started by pipeline_run_log_sensor.",
)
def record_pipeline_runs_job() -> None:
    record_pipeline_runs()


def record_runs_config(run_ids: list[str]) -> dg.RunConfig:
    """Run config of a recording run for exactly `run_ids`."""
    return dg.RunConfig(ops={OP_NAME: RecordRunsConfig(run_ids=run_ids)})


@dataclass(frozen=True)
class RunLogCursor:
    """Newest update time seen (ISO, UTC) and the run ids updated at exactly that time."""

    updated: str | None = None
    run_ids: tuple[str, ...] = ()

    @classmethod
    def from_json(cls, raw: str | None) -> "RunLogCursor":
        if not raw:
            return cls()
        data = json.loads(raw)
        return cls(data.get("updated"), tuple(data.get("run_ids", ())))

    def to_json(self) -> str:
        return json.dumps({"updated": self.updated, "run_ids": list(self.run_ids)})


def _since(cursor: RunLogCursor) -> dt.datetime | None:
    """`updated_after` for the query: it is strict, so a microsecond before the newest time
    seen (the ids seen at that time are dropped from the result instead)."""
    if cursor.updated is None:
        return None
    return dt.datetime.fromisoformat(cursor.updated) - dt.timedelta(microseconds=1)


def _wanted(record: dg.RunRecord) -> bool:
    run = record.dagster_run
    return run.job_name != JOB_NAME and RECORDED_BY_TAG not in run.tags


@dg.sensor(
    name="pipeline_run_log_sensor",
    job=record_pipeline_runs_job,
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Finished runs (success, failure, canceled) → one run of "
    f"{JOB_NAME} recording them in ops.pipeline_run_log. Never opens the warehouse.",
)
def pipeline_run_log_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult:
    cursor = RunLogCursor.from_json(context.cursor)
    records = context.instance.get_run_records(
        filters=dg.RunsFilter(statuses=list(FINISHED), updated_after=_since(cursor)),
        order_by="update_timestamp",
        ascending=True,
        limit=BATCH,
    )
    new = [r for r in records if r.dagster_run.run_id not in cursor.run_ids]
    if not new:
        return dg.SensorResult(skip_reason="no run finished since the last tick")
    newest = max(r.update_timestamp for r in new)
    at_newest = tuple(r.dagster_run.run_id for r in new if r.update_timestamp == newest)
    carried = cursor.run_ids if cursor.updated == newest.isoformat() else ()
    advanced = RunLogCursor(newest.isoformat(), carried + at_newest)
    run_ids = [r.dagster_run.run_id for r in new if _wanted(r)]
    if not run_ids:
        return dg.SensorResult(
            skip_reason="only runs recorded elsewhere", cursor=advanced.to_json()
        )
    key = hashlib.sha256(",".join(sorted(run_ids)).encode()).hexdigest()[:32]
    request = dg.RunRequest(run_key=f"runs:{key}", run_config=record_runs_config(run_ids))
    return dg.SensorResult(run_requests=[request], cursor=advanced.to_json())
