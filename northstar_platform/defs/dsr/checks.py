"""Checks of each request's discovery, one suite (failures alert through asset_checks).

- `lookups_complete`: no lookup of the request ended in the dead-letter table (an answer with
  a hole in it is not an answer).
- `answered_before_sla_warning`: a request not answered yet (access: FOUND/NOT_FOUND; erasure:
  ERASED/NOT_FOUND) fails once fewer than `NORTHSTAR_DSR_SLA_WARN_DAYS` are left before its
  deadline (`NORTHSTAR_DSR_SLA_DAYS` after receipt), so the alert comes before the deadline.
"""

import datetime as dt
from typing import Any

from asset_checks.suite import Assertion, CheckContext, Verdict, build_check_suite
from northstar_platform.defs.dsr.assets import DSR_DISCOVERY
from northstar_platform.defs.partitions import dsr_request_partitions
from northstar_platform.layers import DSR_DEAD_LETTERS, DSR_REQUESTS
from northstar_platform.lib.dsr_requests import ANSWERED, RequestStatus
from northstar_platform.settings import get_settings


def _status(ctx: CheckContext) -> dict[str, Any] | None:
    if not ctx.session.table_exists(DSR_REQUESTS.schema, DSR_REQUESTS.name):
        return None
    row = ctx.session.fetchone(
        f"select * from {DSR_REQUESTS.qualified} where request_id = ?",  # noqa: S608
        (ctx.partition_key,),
    )
    return dict(zip(DSR_REQUESTS.column_names, row, strict=False)) if row else None


def lookups_complete(ctx: CheckContext) -> Verdict:
    status = _status(ctx)
    if status is None:
        return False, {"observed": "no status row", "threshold": 0}
    tables = []
    if status["dead_letters"]:
        tables = [
            f"{system}:{table} ({attempts} attempts)"
            for system, table, attempts in ctx.session.fetchall(
                f"select system, table_name, attempts from {DSR_DEAD_LETTERS.qualified} "  # noqa: S608
                "where request_id = ? order by 1, 2",
                (ctx.partition_key,),
            )
        ]
    passed = status["status"] != RequestStatus.DRIFT_HALTED and not tables
    return passed, {
        "observed": int(status["dead_letters"]),
        "threshold": 0,
        "status": str(status["status"]),
        "note": "; ".join(tables) or "every catalogued table was searched",
    }


def answered_before_sla_warning(ctx: CheckContext) -> Verdict:
    status = _status(ctx)
    if status is None:
        return False, {"observed": "no status row", "threshold": 0}
    warn_days = get_settings().dsr.sla_warn_days
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    days_left = (status["deadline_at"] - now).total_seconds() / 86_400
    answered = status["status"] in ANSWERED[status["kind"]]
    return answered or days_left > warn_days, {
        "observed": round(days_left, 2),
        "threshold": warn_days,
        "deadline_at": status["deadline_at"].isoformat(),
        "status": str(status["status"]),
        "note": "answered" if answered else f"open, {days_left:.1f} days to the deadline",
    }


DSR_CHECKS = [
    build_check_suite(
        "dsr_request_checks",
        [
            Assertion(
                DSR_DISCOVERY,
                "lookups_complete",
                "The catalog pre-flight passed and no lookup ended in ops.dsr_dead_letters.",
                lookups_complete,
            ),
            Assertion(
                DSR_DISCOVERY,
                "answered_before_sla_warning",
                "Open requests alert NORTHSTAR_DSR_SLA_WARN_DAYS before their deadline.",
                answered_before_sla_warning,
            ),
        ],
        partitions_def=dsr_request_partitions,
        required_resource_keys={"warehouse"},
    )
]
