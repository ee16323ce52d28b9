"""Trace an order — or the payment or shipment that names it — through every layer, then
classify it with the shared root-cause rules.

source (public.orders) → landing file → raw.raw_orders → staging.stg_orders / quarantine /
counted duplicate, with the order's Stripe events and WMS rows → curated latest state →
audit.audit_order_mismatches → the business date's publication gates → marts.fct_orders.
"""

import datetime as dt
from typing import Any

from northstar_platform.errors import NorthstarError
from northstar_platform.explain.relations import (
    AUDIT_ORDER_MISMATCHES,
    AUDIT_PUBLICATION_GATES,
    FCT_ORDERS,
    ORDERS_LATEST,
    PAYMENTS_LATEST,
    SHIPMENTS_LATEST,
)
from northstar_platform.explain.rules import match_rules
from northstar_platform.explain.source_rule import (
    EXPORTED_COLUMNS,
    SELECT_SOURCE_ORDERS,
    SOURCE_ORDERS,
)
from northstar_platform.explain.steps import Step, Trace, runs_of, select_rows
from northstar_platform.explain.subject import SourceFetch, one_order
from northstar_platform.layers import (
    QUARANTINE_ORDERS,
    RAW_ORDERS,
    STG_ORDERS,
    STG_STRIPE_EVENTS,
    STG_WMS_SHIPMENTS,
)
from northstar_platform.lib.root_cause import Evidence, RootCause, first_match, verdict
from northstar_platform.resources.warehouse import WarehouseSession


def source_step(order_id: str, source: SourceFetch | None, source_error: str | None) -> Step:
    """The order's row in the source PostgreSQL, read-only."""
    schema, table = SOURCE_ORDERS
    label = f"{schema}.{table} (source)"
    if source is None:
        return Step("source", label, [], f"source not checked: {source_error}")
    try:
        rows = source(f"{SELECT_SOURCE_ORDERS} where order_id = %s", (order_id,))
    except NorthstarError as exc:
        return Step("source", label, [], f"source not checked: {exc}")
    return Step("source", label, [dict(zip(EXPORTED_COLUMNS, r, strict=True)) for r in rows])


def order_steps(
    session: WarehouseSession, order_id: str, source: SourceFetch | None, source_error: str | None
) -> list[Step]:
    """Every layer's rows for one order id."""
    by_id = ("order_id = ?", (order_id,))
    raw = select_rows(session, "raw", RAW_ORDERS, *by_id, "ingested_ts, source_file, line_no")
    landing = Step(
        "landing",
        "landing zone (orders/YYYY/MM/DD/…)",
        _landing_files(raw.rows),
    )
    staged = select_rows(session, "staging", STG_ORDERS, *by_id, "updated_at, ingested_ts")
    return [
        source_step(order_id, source, source_error),
        landing,
        raw,
        staged,
        select_rows(
            session, "quarantine", QUARANTINE_ORDERS, "record_ref = ?", (order_id,), "line_no"
        ),
        Step("duplicate", "collapsed in staging (counted)", _duplicates(raw.rows, staged.rows)),
        select_rows(session, "staging", STG_STRIPE_EVENTS, *by_id, "created_at, ingested_ts"),
        select_rows(session, "staging", STG_WMS_SHIPMENTS, *by_id, "event_ts, ingested_ts"),
        select_rows(session, "latest", ORDERS_LATEST, *by_id),
        select_rows(session, "latest", PAYMENTS_LATEST, *by_id),
        select_rows(session, "latest", SHIPMENTS_LATEST, *by_id, "shipment_id"),
        select_rows(
            session, "audit", AUDIT_ORDER_MISMATCHES, *by_id, "business_date, first_seen_at"
        ),
    ]


def _landing_files(raw_rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    files: dict[str, Any] = {}
    for row in raw_rows:
        files.setdefault(row["source_file"], row["ingested_ts"])
    return [{"source_file": f, "ingested_ts": ts} for f, ts in files.items()]


def _duplicates(raw_rows: list[dict[str, Any]], staged: list[dict[str, Any]]) -> list[dict]:
    """Raw rows collapsed into a staged version with the same (order_id, updated_at)."""
    kept = {(r["order_id"], r["updated_at"]): r for r in staged}
    dupes = []
    for row in raw_rows:
        keeper = kept.get((row["order_id"], row["updated_at"]))
        if keeper and (keeper["source_file"], keeper["line_no"]) != (
            row["source_file"],
            row["line_no"],
        ):
            dupes.append(
                {
                    "source_file": row["source_file"],
                    "line_no": row["line_no"],
                    "run_id": row["run_id"],
                    "kept": f"{keeper['source_file']}:{keeper['line_no']}",
                }
            )
    return dupes


def business_date(steps: list[Step]) -> dt.date | None:
    """The order's business date: its open mismatch's, else the UTC day of created_at."""
    for row in _rows(steps, "audit.audit_order_mismatches"):
        if not row["is_cleared"]:
            return row["business_date"]
    for table in ("curated.orders_latest", "staging.stg_orders", "raw.raw_orders"):
        for row in _rows(steps, table):
            if row.get("created_at") is not None:
                return row["created_at"].date()
    for step in steps:
        if step.layer == "source":
            for row in step.rows:
                if row.get("created_at") is not None:
                    return row["created_at"].date()
    return None


def _rows(steps: list[Step], table: str) -> list[dict[str, Any]]:
    return [r for s in steps if s.table == table for r in s.rows]


def publication_steps(session: WarehouseSession, order_id: str, day: dt.date | None) -> list[Step]:
    """The business date's publication gates and the order's mart row."""
    if day is None:
        return []
    gates = select_rows(
        session, "publication", AUDIT_PUBLICATION_GATES, "business_date = ?", (day,), "gate"
    )
    if gates.rows:
        failing = [g["gate"] for g in gates.rows if not g["passed"]]
        gates.note = f"{day} withheld by {', '.join(failing)}" if failing else f"{day} published"
    elif not gates.note:
        gates.note = f"{day} not evaluated yet"
    mart = select_rows(session, "marts", FCT_ORDERS, "order_id = ?", (order_id,))
    return [gates, mart]


def missing_layers(steps: list[Step]) -> list[str]:
    """Layers a known order should be in and is not (for the CONSISTENT/UNEXPLAINED verdict)."""
    has = {s.table: bool(s.rows) for s in steps}
    source = any(s.rows for s in steps if s.layer == "source")
    held = has.get("staging.quarantine_orders") or has.get("collapsed in staging (counted)")
    missing = []
    if source and not has.get("raw.raw_orders"):
        missing.append("raw.raw_orders")
    if has.get("raw.raw_orders") and not has.get("staging.stg_orders") and not held:
        missing.append("staging.stg_orders")
    if has.get("staging.stg_orders") and not has.get("curated.orders_latest"):
        missing.append("curated.orders_latest")
    latest = _rows(steps, "curated.orders_latest")
    live = latest and not latest[0]["is_deleted"]
    gates = _rows(steps, "audit.audit_publication_gates")
    published = gates and all(g["passed"] for g in gates)
    duplicate = any(
        r["mismatch_type"] == "DUPLICATE_ORDER" and not r["is_cleared"]
        for r in _rows(steps, "audit.audit_order_mismatches")
    )
    if live and published and not duplicate and not has.get("marts.fct_orders"):
        missing.append("marts.fct_orders")
    return missing


def trace_order(
    session: WarehouseSession,
    entity: str,
    key: str,
    order_id: str,
    extra_steps: list[Step],
    source: SourceFetch | None,
    source_error: str | None,
) -> Trace:
    """The full trace of the order `order_id` (after `extra_steps`, e.g. a payment's raw
    Stripe lines) and its class under the shared rules."""
    steps = [*extra_steps, *order_steps(session, order_id, source, source_error)]
    day = business_date(steps)
    steps += publication_steps(session, order_id, day)
    open_rows = [r for r in _rows(steps, "audit.audit_order_mismatches") if not r["is_cleared"]]
    first_seen = open_rows[0]["first_seen_run_id"] if open_rows else None
    matches = match_rules(session, one_order(order_id, day, first_seen), source)
    found = first_match(order_id, matches)
    result = verdict(
        found,
        [f"{r['mismatch_type']} ({r['business_date']})" for r in open_rows],
        missing_layers(steps),
    )
    held = _rows(steps, "staging.quarantine_orders")
    if held and result.cause in (RootCause.CONSISTENT, RootCause.UNEXPLAINED):
        rules = ", ".join(f"{r['rule']} ({r['source_file']}:{r['line_no']})" for r in held)
        result = Evidence(
            result.cause, f"{result.summary}; held in quarantine: {rules}", result.facts
        )
    return Trace(entity, key, steps, result, order_id, runs_of(session, steps))
