"""`audit/audit_root_cause`: per business date, the open order mismatches counted by root cause.

The same rules as `northstar explain` (`explain/rules.py`), run set-based: one query per class
over a date's open mismatches, not one explain per row. Daily partitions with a single-run
backfill policy like the dbt models, so `northstar materialize` runs it in the ranged pass,
after the audit it reads. Each date is replaced atomically.

Inside a run that has just materialized `audit/audit_order_mismatches`, that run is the
latest evaluation of its dates, though not in `ops.pipeline_run_log` until it ends: the rules
see it as a `CurrentRun` (started when the run started, code = this process's version).
"""

import datetime as dt

import dagster as dg
import pyarrow as pa

from northstar_platform.defs.partitions import daily_partitions
from northstar_platform.defs.run_policy import AFTER_GATES
from northstar_platform.explain.relations import AUDIT_ORDER_MISMATCHES
from northstar_platform.explain.rules import match_rules
from northstar_platform.explain.steps import exists
from northstar_platform.explain.subject import CurrentRun, open_mismatches
from northstar_platform.layers import AUDIT_ROOT_CAUSE
from northstar_platform.lib import code_version
from northstar_platform.lib.root_cause import (
    COUNTED_CAUSES,
    RootCause,
    classify_all,
    count_by_cause,
)
from northstar_platform.resources.source_db import SourceDatabaseResource
from northstar_platform.resources.warehouse import WarehouseResource, WarehouseSession
from northstar_platform.settings import warehouse_kind

AUDIT_ORDER_MISMATCHES_KEY = AUDIT_ORDER_MISMATCHES.asset_key


def count_root_causes(
    session: WarehouseSession,
    business_date: dt.date,
    source: SourceDatabaseResource,
    current: CurrentRun | None,
) -> dict[RootCause, int]:
    """The date's open mismatches (one per order) counted by their first matching rule."""
    if not exists(session, AUDIT_ORDER_MISMATCHES):
        return dict.fromkeys(COUNTED_CAUSES, 0)
    subject = open_mismatches(business_date)
    query = f"with s as ({subject.sql}) select order_id from s"  # noqa: S608
    ids = [str(r[0]) for r in session.fetchall(query, subject.params)]
    matches = match_rules(session, subject, source.fetchall, current)
    return count_by_cause(classify_all(ids, matches))


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def current_run(context: dg.AssetExecutionContext, keys: list[str]) -> CurrentRun | None:
    """This run as a known run, when it materialized the order audit before this step."""
    if AUDIT_ORDER_MISMATCHES_KEY not in (context.dagster_run.asset_selection or set()):
        return None
    record = context.instance.get_run_record_by_id(context.run_id)
    start = record.start_time if record is not None else None
    started = dt.datetime.fromtimestamp(start, dt.UTC).replace(tzinfo=None) if start else _now()
    version = code_version.current()
    return CurrentRun(
        run_id=context.run_id,
        partition_key=keys[0] if len(keys) == 1 else f"{keys[0]}..{keys[-1]}",
        started_at=started,
        ended_at=_now(),
        code_version=version.commit,
        dbt_manifest_hash=version.dbt_manifest_hash,
    )


@dg.asset(
    key=AUDIT_ROOT_CAUSE.asset_key,
    deps=[AUDIT_ORDER_MISMATCHES_KEY],
    partitions_def=daily_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    tags=AFTER_GATES,
    group_name="audit",
    kinds={warehouse_kind()},
    pool="warehouse_write",
    description="Open order mismatches per business date counted by root cause: "
    "SOURCE_CHANGE, LATE_ARRIVING, ETL_LOSS, TRANSFORMATION, UNEXPLAINED (the rules of "
    "`northstar explain`).",
)
def audit_root_cause(
    context: dg.AssetExecutionContext,
    warehouse: WarehouseResource,
    source_db: SourceDatabaseResource,
) -> dg.MaterializeResult:
    keys = list(context.partition_keys)
    current = current_run(context, keys)
    per_date: dict[str, dict[RootCause, int]] = {}
    with warehouse.connect() as session:
        for key in keys:
            per_date[key] = count_root_causes(
                session, dt.date.fromisoformat(key), source_db, current
            )
        session.ensure_table(AUDIT_ROOT_CAUSE)
        with session.transaction():
            for key, counts in per_date.items():
                rows = pa.table(
                    {
                        "partition_key": [key] * len(counts),
                        "business_date": [dt.date.fromisoformat(key)] * len(counts),
                        "root_cause": [c.value for c in counts],
                        "open_mismatches": list(counts.values()),
                        "run_id": [context.run_id] * len(counts),
                    }
                )
                session.replace_partition(AUDIT_ROOT_CAUSE, key, rows)
    totals = {c: sum(d[c] for d in per_date.values()) for c in COUNTED_CAUSES}
    return dg.MaterializeResult(
        metadata={
            **{c.value.lower(): totals[c] for c in COUNTED_CAUSES},
            "open_mismatches": sum(totals.values()),
            "by_date": {k: {c.value: n for c, n in d.items() if n} for k, d in per_date.items()},
            "dagster/row_count": len(per_date) * len(COUNTED_CAUSES),
        }
    )
