"""What the root-cause rules run over: the orders to classify (`Subject`), the runs known
(the run log, plus the run evaluating right now) and the orders' inputs, as SQL fragments.

Runs come from `ops.pipeline_run_log` (a run that is not recorded there is simply not known),
plus, inside a run that has just materialized the audit itself, that run (`CurrentRun`): it
is not in the log until it ends.
"""

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from northstar_platform.explain.relations import AUDIT_ORDER_ASSET, AUDIT_ORDER_MISMATCHES
from northstar_platform.explain.steps import exists
from northstar_platform.layers import (
    PIPELINE_RUN_LOG,
    RAW_ORDERS,
    STG_ORDERS,
    STG_STRIPE_EVENTS,
    STG_WMS_SHIPMENTS,
    quote,
)
from northstar_platform.resources.warehouse import WarehouseSession

SourceFetch = Callable[[str, Sequence[Any]], list[tuple[Any, ...]]]
"""A read of the source PostgreSQL with `%s` parameters (`SourceDatabaseResource.fetchall`)."""

ORDER_INPUTS = (RAW_ORDERS, STG_ORDERS, STG_STRIPE_EVENTS, STG_WMS_SHIPMENTS)
"""Where an order's inputs arrive, each row with its `ingested_ts` (file arrival time)."""

RUN_COLUMNS = (
    "run_id",
    "status",
    "partition_key",
    "started_at",
    "ended_at",
    "code_version",
    "dbt_manifest_hash",
    "rows_written",
    "check_results",
)


@dataclass(frozen=True)
class Subject:
    """A query of the orders to classify: `order_id`, `business_date`, `first_seen_run_id`."""

    sql: str
    params: tuple[Any, ...]


def open_mismatches(business_date: dt.date) -> Subject:
    """The orders with an open mismatch on one business date (the asset's partition)."""
    return Subject(
        "select order_id, business_date, min(first_seen_run_id) as first_seen_run_id "  # noqa: S608
        f"from {AUDIT_ORDER_MISMATCHES.qualified} where business_date = ? and not is_cleared "
        "group by order_id, business_date",
        (business_date,),
    )


def one_order(
    order_id: str, business_date: dt.date | None, first_seen_run_id: str | None
) -> Subject:
    """One order (`explain`): its business date and the run that first reported its mismatch."""
    return Subject(
        "select cast(? as varchar) as order_id, cast(? as date) as business_date, "
        "cast(? as varchar) as first_seen_run_id",
        (order_id, business_date, first_seen_run_id),
    )


@dataclass(frozen=True)
class CurrentRun:
    """The run evaluating now, which materialized the order audit itself (not logged yet)."""

    run_id: str
    partition_key: str
    started_at: dt.datetime
    ended_at: dt.datetime
    code_version: str
    dbt_manifest_hash: str


def known_runs(session: WarehouseSession, current: CurrentRun | None) -> tuple[str, list[Any]]:
    """The known runs: the run log, plus the current run."""
    cols = ", ".join(quote(c) for c in RUN_COLUMNS)
    parts, params = [], []
    if exists(session, PIPELINE_RUN_LOG):
        parts.append(f"select {cols} from {PIPELINE_RUN_LOG.qualified} where run_id <> ?")  # noqa: S608
        params.append(current.run_id if current else "")
    if current is not None:
        parts.append(
            "select cast(? as varchar) as run_id, cast('SUCCESS' as varchar) as status, "
            "cast(? as varchar) as partition_key, cast(? as timestamp) as started_at, "
            "cast(? as timestamp) as ended_at, cast(? as varchar) as code_version, "
            "cast(? as varchar) as dbt_manifest_hash, cast(? as varchar) as rows_written, "
            "cast('[]' as varchar) as check_results"
        )
        params += [
            current.run_id,
            current.partition_key,
            current.started_at,
            current.ended_at,
            current.code_version,
            current.dbt_manifest_hash,
            f'{{"{AUDIT_ORDER_ASSET}": null}}',
        ]
    if not parts:
        nulls = ", ".join(
            f"cast(null as {'timestamp' if c.endswith('_at') else 'varchar'}) as {c}"
            for c in RUN_COLUMNS
        )
        parts.append(f"select {nulls} where 1 = 0")
    return " union all ".join(parts), params


def evaluated_by(run: str, date: str) -> str:
    """SQL: run `run` materialized the audit and covered the date `date` (its partition is
    that day, or a range `first..last` around it). One `?`: the quoted asset key pattern.

    Materialized means the asset is in the run's `rows_written` or has a check result in its
    `check_results` (a dbt model reports no row count, but its tests and the publication gates
    report checks on it, and dbt tests a model only once it is built). The run's status is
    not asked: a run whose blocking gate failed after the audit was built is recorded as
    FAILURE, yet that audit is what the warehouse holds.
    """
    day = f"cast({date} as varchar)"
    return (
        f"({run}.rows_written || ' ' || {run}.check_results) like ? and ("
        f"{run}.partition_key = {day} or ({run}.partition_key like '%..%' and {day} between "
        f"split_part({run}.partition_key, '..', 1) and split_part({run}.partition_key, '..', 2)))"
    )


AUDIT_PATTERN = f'%"{AUDIT_ORDER_ASSET}"%'


def order_inputs(session: WarehouseSession) -> tuple[str, list[Any]]:
    """Every input row of the subject's orders: order_id, input_table, file, line, arrival, run."""
    parts, params = [], []
    for table in ORDER_INPUTS:
        if exists(session, table):
            parts.append(
                "select order_id, cast(? as varchar) as input_table, source_file, line_no, "  # noqa: S608
                f"ingested_ts, run_id from {table.qualified} "
                "where order_id in (select order_id from subject)"
            )
            params.append(f"{table.layer.value}.{table.name}")
    if not parts:
        parts.append(
            "select cast(null as varchar) as order_id, cast(null as varchar) as input_table, "
            "cast(null as varchar) as source_file, cast(null as bigint) as line_no, "
            "cast(null as timestamp) as ingested_ts, cast(null as varchar) as run_id where 1 = 0"
        )
    return " union all ".join(parts), params
