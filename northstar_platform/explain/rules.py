"""The root-cause rules as set-based SQL over a set of orders (DESIGN §6).

Each rule takes a `Subject` — a query yielding `(order_id, business_date, first_seen_run_id)`
— and returns the evidence for every order it matches, in one query. The `audit_root_cause`
asset passes a partition's open mismatches, `northstar explain` a single order: one
implementation of each rule serves both. The order they are tried in and the pure comparisons
live in `lib/root_cause.py`; SOURCE_CHANGE, which also reads the source, in `source_rule.py`.
"""

from collections.abc import Sequence
from typing import Any

from northstar_platform.explain.relations import ORDERS_LATEST, PAYMENTS_LATEST, SHIPMENTS_LATEST
from northstar_platform.explain.source_rule import source_changes
from northstar_platform.explain.steps import exists
from northstar_platform.explain.subject import (
    AUDIT_PATTERN,
    CurrentRun,
    SourceFetch,
    Subject,
    evaluated_by,
    known_runs,
    order_inputs,
)
from northstar_platform.layers import (
    QUARANTINE_ORDERS,
    RAW_ORDERS,
    STG_ORDERS,
    STG_STRIPE_EVENTS,
    STG_WMS_SHIPMENTS,
)
from northstar_platform.lib.root_cause import Evidence, RootCause, plain
from northstar_platform.resources.warehouse import WarehouseSession


def _rows(session: WarehouseSession, sql: str, params: Sequence[Any]) -> list[dict[str, Any]]:
    return session.fetch_arrow(sql, params).to_pylist()


def late_arriving(
    session: WarehouseSession, subject: Subject, current: CurrentRun | None = None
) -> dict[str, Evidence]:
    """LATE_ARRIVING: an input of the order arrived after the last run that built the
    order audit covering its business date ended (so that run could not have seen it)."""
    runs, run_params = known_runs(session, current)
    inputs, input_params = order_inputs(session)
    sql = (
        f"with subject as ({subject.sql}), runs as ({runs}), inputs as ({inputs}), "  # noqa: S608
        "last_run as (select s.order_id, s.business_date, r.run_id, r.ended_at, "
        "row_number() over (partition by s.order_id order by r.ended_at desc, r.run_id desc) "
        f"as rn from subject s join runs r on {evaluated_by('r', 's.business_date')}), "
        "late as (select i.order_id, i.input_table, i.source_file, i.line_no, i.ingested_ts, "
        "i.run_id, l.business_date, l.run_id as evaluated_run_id, l.ended_at as evaluated_at, "
        "row_number() over (partition by i.order_id order by i.ingested_ts desc, "
        "i.input_table, i.source_file, i.line_no) as rn "
        "from inputs i join last_run l on l.order_id = i.order_id and l.rn = 1 "
        "where i.ingested_ts > l.ended_at) "
        "select order_id, input_table, source_file, line_no, ingested_ts, run_id, "
        "business_date, evaluated_run_id, evaluated_at from late where rn = 1"
    )
    params = [*subject.params, *run_params, *input_params, AUDIT_PATTERN]
    found = {}
    for row in _rows(session, sql, params):
        found[row["order_id"]] = Evidence(
            RootCause.LATE_ARRIVING,
            f"{row['input_table']} {row['source_file']}:{row['line_no']} arrived "
            f"{plain(row['ingested_ts'])}, after the last run that built the order audit "
            f"for {plain(row['business_date'])} ended {plain(row['evaluated_at'])} "
            f"(run {row['evaluated_run_id']})",
            row,
        )
    return found


def etl_loss(session: WarehouseSession, subject: Subject) -> dict[str, Evidence]:
    """ETL_LOSS: present upstream (a valid raw row, or a staged row), absent downstream
    (staging, or the latest table), not quarantined and not a counted duplicate.

    A raw order row is lost when staging has no version with its (order_id, updated_at) — a
    collapsed duplicate has one — and no quarantine record holds its file and line. A staged
    order version is lost when orders_latest lacks the order or holds an older version; a
    staged Stripe event or WMS row when payments_latest / shipments_latest lack its key.
    """
    parts, params = [], []
    ids = "in (select order_id from subject)"
    if exists(session, RAW_ORDERS) and exists(session, STG_ORDERS):
        held = ""
        if exists(session, QUARANTINE_ORDERS):
            held = (
                f" and not exists (select 1 from {QUARANTINE_ORDERS.qualified} q "  # noqa: S608
                "where q.partition_key = u.partition_key and q.source_file = u.source_file "
                "and q.line_no = u.line_no)"
            )
        parts.append(
            "select u.order_id, 1 as stage, cast(? as varchar) as found_in, u.source_file, "  # noqa: S608
            "u.line_no, u.run_id, u.ingested_ts, cast(? as varchar) as missing_from "
            f"from {RAW_ORDERS.qualified} u where u.order_id {ids} "
            f"and not exists (select 1 from {STG_ORDERS.qualified} s "
            f"where s.order_id = u.order_id and s.updated_at = u.updated_at){held}"
        )
        params += ["raw.raw_orders", "staging.stg_orders"]
    downstream = (
        (STG_ORDERS, ORDERS_LATEST, "order_id", " or l.updated_at < u.updated_at"),
        (STG_STRIPE_EVENTS, PAYMENTS_LATEST, "order_id", ""),
        (STG_WMS_SHIPMENTS, SHIPMENTS_LATEST, "shipment_id", ""),
    )
    for stage, (upstream, latest, key, older) in enumerate(downstream, start=2):
        if not (exists(session, upstream) and exists(session, latest)):
            continue
        parts.append(
            f"select u.order_id, {stage} as stage, cast(? as varchar) as found_in, "  # noqa: S608
            "u.source_file, u.line_no, u.run_id, u.ingested_ts, "
            f"cast(? as varchar) as missing_from from {upstream.qualified} u "
            f"left join {latest.qualified} l on l.{key} = u.{key} "
            f"where u.order_id {ids} and (l.{key} is null{older})"
        )
        params += [f"{upstream.layer.value}.{upstream.name}", f"{latest.layer.value}.{latest.name}"]
    if not parts:
        return {}
    sql = (
        f"with subject as ({subject.sql}), lost as ({' union all '.join(parts)}), "  # noqa: S608
        "ranked as (select lost.*, row_number() over (partition by order_id "
        "order by stage, ingested_ts desc, source_file, line_no) as rn from lost) "
        "select order_id, found_in, source_file, line_no, run_id, ingested_ts, missing_from "
        "from ranked where rn = 1"
    )
    found = {}
    for row in _rows(session, sql, [*subject.params, *params]):
        found[row["order_id"]] = Evidence(
            RootCause.ETL_LOSS,
            f"{row['found_in']} {row['source_file']}:{row['line_no']} (run {row['run_id']}) "
            f"is absent from {row['missing_from']}: not quarantined, not a counted duplicate",
            row,
        )
    return found


def transformation(
    session: WarehouseSession, subject: Subject, current: CurrentRun | None = None
) -> dict[str, Evidence]:
    """TRANSFORMATION: the run that first reported the mismatch ran other code (commit or dbt
    manifest hash) than the latest earlier run that built the same business date, and no
    input of the order arrived between the two: same inputs, new output, new code."""
    runs, run_params = known_runs(session, current)
    inputs, input_params = order_inputs(session)
    sql = (
        f"with subject as ({subject.sql}), runs as ({runs}), inputs as ({inputs}), "  # noqa: S608
        "first_runs as (select s.order_id, s.business_date, r.run_id, r.started_at, "
        "r.code_version, r.dbt_manifest_hash from subject s "
        "join runs r on r.run_id = s.first_seen_run_id), "
        "earlier as (select f.order_id, f.business_date, f.run_id as first_run_id, "
        "f.started_at as first_started_at, f.code_version as first_code_version, "
        "f.dbt_manifest_hash as first_manifest_hash, p.run_id as earlier_run_id, "
        "p.started_at as earlier_started_at, p.ended_at as earlier_ended_at, "
        "p.code_version as earlier_code_version, p.dbt_manifest_hash as earlier_manifest_hash, "
        "row_number() over (partition by f.order_id order by p.ended_at desc, p.run_id desc) "
        "as rn from first_runs f join runs p on p.run_id <> f.run_id "
        f"and p.ended_at <= f.started_at and {evaluated_by('p', 'f.business_date')}) "
        "select order_id, business_date, first_run_id, first_started_at, first_code_version, "
        "first_manifest_hash, earlier_run_id, earlier_ended_at, earlier_code_version, "
        "earlier_manifest_hash from earlier e where rn = 1 "
        "and (first_code_version <> earlier_code_version "
        "or first_manifest_hash <> earlier_manifest_hash) "
        "and not exists (select 1 from inputs i where i.order_id = e.order_id "
        "and i.ingested_ts > e.earlier_started_at and i.ingested_ts <= e.first_started_at)"
    )
    params = [*subject.params, *run_params, *input_params, AUDIT_PATTERN]
    found = {}
    for row in _rows(session, sql, params):
        found[row["order_id"]] = Evidence(
            RootCause.TRANSFORMATION,
            f"first reported by run {row['first_run_id']} under code "
            f"{row['first_code_version']} (dbt {str(row['first_manifest_hash'])[:12]}); the "
            f"previous run that built the audit of {plain(row['business_date'])}, "
            f"{row['earlier_run_id']} (ended {plain(row['earlier_ended_at'])}), ran "
            f"{row['earlier_code_version']} (dbt {str(row['earlier_manifest_hash'])[:12]}) "
            "and no input of the order arrived between them",
            row,
        )
    return found


def match_rules(
    session: WarehouseSession,
    subject: Subject,
    source: SourceFetch | None,
    current: CurrentRun | None = None,
) -> dict[RootCause, dict[str, Evidence]]:
    """Every rule's matches over the subject (SOURCE_CHANGE only when the source is given)."""
    return {
        RootCause.SOURCE_CHANGE: source_changes(session, subject, source) if source else {},
        RootCause.LATE_ARRIVING: late_arriving(session, subject, current),
        RootCause.ETL_LOSS: etl_loss(session, subject),
        RootCause.TRANSFORMATION: transformation(session, subject, current),
    }
