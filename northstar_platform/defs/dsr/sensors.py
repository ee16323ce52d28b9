"""`dsr_requests_sensor`: a request file dropped in `dsr/requests/` → its partition and run.

Each new `dsr/requests/<request_id>.json` adds one dynamic partition and requests one
discovery run (run key = request id, so the same request never runs twice from here),
nearest deadline first with a matching `dagster/priority`. The instance's partitions are the
cursor: no state of its own. Reads only the landing zone, never the warehouse.
A file that cannot be parsed still gets its partition: its run fails naming the file.

`check_dsr_sla_job_schedule` re-checks, daily, the requests whose warning window has begun:
an erasure that waits for confirmation must alert before its deadline even though nothing
about it changes.
"""

import datetime as dt

import dagster as dg

from northstar_platform.defs.dsr.jobs import check_dsr_sla_job, discover_dsr_job
from northstar_platform.defs.partitions import dsr_request_partitions
from northstar_platform.errors import InputFileError
from northstar_platform.lib.dsr_requests import (
    REQUESTS_PREFIX,
    DsrRequest,
    parse_request,
    priority,
    request_id_of,
)
from northstar_platform.resources.landing import LandingResource
from northstar_platform.settings import get_settings


def _requests(landing: LandingResource) -> dict[str, DsrRequest | None]:
    """request_id → the parsed request (None when the file does not parse)."""
    zone = landing.get_zone()
    found: dict[str, DsrRequest | None] = {}
    for obj in zone.list(REQUESTS_PREFIX):
        request_id = request_id_of(obj.key)
        if request_id is None:
            continue
        try:
            found[request_id] = parse_request(obj.key, zone.read_bytes(obj.key))
        except InputFileError:
            found[request_id] = None
    return found


@dg.sensor(
    name="dsr_requests_sensor",
    job=discover_dsr_job,
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="New dsr/requests/<request_id>.json → one dynamic partition and its discovery "
    "run, nearest deadline first.",
)
def dsr_requests_sensor(
    context: dg.SensorEvaluationContext, landing: LandingResource
) -> dg.SensorResult:
    known = set(context.instance.get_dynamic_partitions(dsr_request_partitions.name))
    sla_days = get_settings().dsr.sla_days
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    new = {k: r for k, r in _requests(landing).items() if k not in known}
    far = dt.datetime.max

    def deadline(item: tuple[str, DsrRequest | None]) -> tuple[dt.datetime, str]:
        return (item[1].deadline(sla_days) if item[1] else far, item[0])

    ordered = sorted(new.items(), key=deadline)
    runs = [
        dg.RunRequest(
            run_key=request_id,
            partition_key=request_id,
            tags={
                "dagster/priority": str(priority(request.deadline(sla_days), now) if request else 0)
            },
        )
        for request_id, request in ordered
    ]
    return dg.SensorResult(
        run_requests=runs,
        dynamic_partitions_requests=[
            dsr_request_partitions.build_add_request([k for k, _ in ordered])
        ]
        if ordered
        else [],
    )


@dg.schedule(
    cron_schedule="0 7 * * *",
    job=check_dsr_sla_job,
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Daily: re-check every request whose SLA warning window has begun.",
)
def check_dsr_sla_job_schedule(
    context: dg.ScheduleEvaluationContext, landing: LandingResource
) -> list[dg.RunRequest]:
    dsr = get_settings().dsr
    now = context.scheduled_execution_time.astimezone(dt.UTC).replace(tzinfo=None)
    known = set(context.instance.get_dynamic_partitions(dsr_request_partitions.name))
    return [
        dg.RunRequest(partition_key=request_id, run_key=f"{request_id}:{now:%Y-%m-%d}")
        for request_id, request in sorted(_requests(landing).items())
        if request_id in known
        and request is not None
        and now >= request.deadline(dsr.sla_days) - dt.timedelta(days=dsr.sla_warn_days)
    ]
