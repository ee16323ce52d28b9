"""The dashboard's warehouse reads: one function per panel, plain dicts out (JSON as served).

A table that does not exist yet (a fresh warehouse) reads as no rows. The SQL is portable
(DuckDB and Snowflake): the run log's JSON columns are parsed here in Python, dates are
grouped here too, and every identifier comes from layers.py.
"""

import json
from collections import Counter, defaultdict
from collections.abc import Callable
from typing import Any, Literal

from northstar_platform.dashboard.reader import Window, exists, iso_day, production
from northstar_platform.layers import (
    AUDIT_PREFERENCE_MISMATCHES,
    PIPELINE_ALERT_LOG,
    PIPELINE_RUN_LOG,
    QUARANTINE_TABLES,
    RAW_FINANCE_REVENUE,
    RAW_ORDERS,
    RAW_PRIVACY_EVENTS,
    RAW_STRIPE_EVENTS,
    RAW_WMS_SHIPMENTS,
    Column,
    Layer,
    Table,
    quote,
)
from northstar_platform.resources.warehouse import WarehouseSession

ORDER_MISMATCHES = Table(
    Layer.AUDIT,
    "audit_order_mismatches",
    (
        Column("business_date", "DATE"),
        Column("mismatch_type", "VARCHAR"),
        Column("is_cleared", "BOOLEAN"),
    ),
)
"""What the dashboard reads of the dbt model (dbt/models/audit/audit_order_mismatches.yml)."""
RAW_OF_SOURCE: dict[str, Table] = {
    "orders": RAW_ORDERS,
    "stripe": RAW_STRIPE_EVENTS,
    "wms": RAW_WMS_SHIPMENTS,
    "finance": RAW_FINANCE_REVENUE,
    "privacy": RAW_PRIVACY_EVENTS,
}
"""The `source` of a quarantine record → the raw table its rate is measured against."""

ALERT_ROWS = 50
"""How many of the latest alerts the alert table lists."""


def _run_log(
    session: WarehouseSession, window: Window, column: Literal["rows_written", "check_results"]
) -> list[tuple[str, Any]]:
    """(day the run ended, the named JSON column) of production runs ended in the window."""
    if not exists(session, PIPELINE_RUN_LOG):
        return []
    rows = session.fetchall(
        f"select ended_at, {quote(column)} from {production(PIPELINE_RUN_LOG)} "  # noqa: S608
        "where ended_at >= ? and ended_at < ? and environment <> ? order by ended_at",
        (window.start, window.stop, "shadow"),
    )
    return [(iso_day(ended), value) for ended, value in rows]


def _parse(value: str, kind: type) -> Any:
    try:
        parsed = json.loads(value)
    except (TypeError, ValueError):
        return None
    return parsed if isinstance(parsed, kind) else None


def rows_per_asset(session: WarehouseSession, window: Window) -> dict[str, Any]:
    """Rows written per asset per day (the sum over the day's runs), from the run log."""
    totals: dict[tuple[str, str], int] = defaultdict(int)
    unreadable = 0
    for day, value in _run_log(session, window, "rows_written"):
        written = _parse(value, dict)
        if written is None:
            unreadable += 1
            continue
        for asset, rows in written.items():
            if rows is not None:  # None: the run could not tell; not a zero
                totals[(str(asset), day)] += int(rows)
    points = [
        {"asset": asset, "day": day, "rows": rows} for (asset, day), rows in sorted(totals.items())
    ]
    return {"points": points, "unreadable_runs": unreadable}


def check_pass_rates(session: WarehouseSession, window: Window) -> dict[str, Any]:
    """Check results per day (passed, failed, pass rate) and the checks that failed."""
    passed: Counter[str] = Counter()
    failed: Counter[str] = Counter()
    failing: dict[tuple[str, str], dict[str, Any]] = {}
    unreadable = 0
    for day, value in _run_log(session, window, "check_results"):
        results = _parse(value, list)
        if results is None:
            unreadable += 1
            continue
        for result in results:
            if result.get("passed"):
                passed[day] += 1
                continue
            failed[day] += 1
            key = (str(result.get("asset")), str(result.get("check")))
            entry = failing.setdefault(
                key,
                {
                    "asset": key[0],
                    "check": key[1],
                    "severity": result.get("severity"),
                    "failures": 0,
                    "partitions": [],
                },
            )
            entry["failures"] += 1
            entry["last_day"] = day
            partition = result.get("partition")
            if partition is not None and partition not in entry["partitions"]:
                entry["partitions"].append(partition)
    days = [
        {
            "day": day,
            "passed": passed[day],
            "failed": failed[day],
            "pass_rate": passed[day] / (passed[day] + failed[day]),
        }
        for day in sorted(set(passed) | set(failed))
    ]
    ordered = sorted(failing.values(), key=lambda e: (-e["failures"], e["asset"], e["check"]))
    return {"days": days, "failing": ordered, "unreadable_runs": unreadable}


def _date_class(row: dict[str, Any]) -> tuple[str, str]:
    return row["date"], row["mismatch_type"]


def mismatch_trends(session: WarehouseSession, window: Window) -> dict[str, Any]:
    """Open order mismatches per business date and class; preference mismatches per
    reconciliation date and class."""
    orders: list[dict[str, Any]] = []
    if exists(session, ORDER_MISMATCHES):
        rows = session.fetchall(
            f"select business_date, mismatch_type, count(*) from {production(ORDER_MISMATCHES)} "  # noqa: S608
            "where not is_cleared and business_date >= ? and business_date <= ? "
            "group by business_date, mismatch_type",
            (window.first, window.last),
        )
        orders = [{"date": iso_day(d), "mismatch_type": t, "open": int(n)} for d, t, n in rows]
    preferences: list[dict[str, Any]] = []
    if exists(session, AUDIT_PREFERENCE_MISMATCHES):
        rows = session.fetchall(
            f"select recon_date, mismatch_type, count(*) "  # noqa: S608
            f"from {production(AUDIT_PREFERENCE_MISMATCHES)} "
            "where recon_date >= ? and recon_date <= ? group by recon_date, mismatch_type",
            (window.first, window.last),
        )
        preferences = [
            {"date": iso_day(d), "mismatch_type": t, "mismatches": int(n)} for d, t, n in rows
        ]
    return {
        "orders": sorted(orders, key=_date_class),
        "preferences": sorted(preferences, key=_date_class),
    }


def quarantine_rates(session: WarehouseSession, window: Window) -> dict[str, Any]:
    """Held rows / raw rows per source and partition (day, or hour for WMS) in the window.

    Held rows are summed over the tables behind `staging.quarantine_records` rather than the
    view: the same rows, and a view is not listed in every information_schema (the Snowflake
    emulator lists only tables), so "does it exist yet" is asked of the tables.
    """
    bounds = (window.first.isoformat(), window.last.isoformat())
    in_window = "substr(partition_key, 1, 10) >= ? and substr(partition_key, 1, 10) <= ?"
    held: dict[tuple[str, str], int] = defaultdict(int)
    for table in QUARANTINE_TABLES:  # what the quarantine_records view unions
        if not exists(session, table):
            continue
        for source, partition, rows in session.fetchall(
            f"select source, partition_key, sum(held_rows) from {production(table)} "  # noqa: S608
            f"where {in_window} group by source, partition_key",
            bounds,
        ):
            held[(source, partition)] += int(rows)
    raw: dict[tuple[str, str], int] = {}
    for source, table in RAW_OF_SOURCE.items():
        if not exists(session, table):
            continue
        for partition, rows in session.fetchall(
            f"select partition_key, count(*) from {production(table)} "  # noqa: S608
            f"where {in_window} group by partition_key",
            bounds,
        ):
            raw[(source, partition)] = int(rows)
    partitions = []
    for source, partition in sorted(set(held) | set(raw)):
        held_rows, raw_rows = held.get((source, partition), 0), raw.get((source, partition), 0)
        partitions.append(
            {
                "source": source,
                "partition": partition,
                "held_rows": held_rows,
                "raw_rows": raw_rows,
                "rate": held_rows / raw_rows if raw_rows else None,
            }
        )
    return {"partitions": partitions}


def alerts(session: WarehouseSession, window: Window, limit: int = ALERT_ROWS) -> dict[str, Any]:
    """The latest alerts raised in the window, and how many were raised per day."""
    if not exists(session, PIPELINE_ALERT_LOG):
        return {"latest": [], "per_day": [], "total": 0}
    where = "where raised_at >= ? and raised_at < ?"
    columns = (
        "raised_at",
        "kind",
        "asset_key",
        "partition_key",
        "check_name",
        "observed",
        "threshold",
        "message",
        "run_id",
        "run_url",
    )
    rows = session.fetchall(
        f"select {', '.join(columns)} from {production(PIPELINE_ALERT_LOG)} {where} "  # noqa: S608
        f"order by raised_at desc, alert_id limit {int(limit)}",
        (window.start, window.stop),
    )
    latest = [dict(zip(columns, row, strict=True)) for row in rows]
    for alert in latest:
        alert["raised_at"] = alert["raised_at"].isoformat(sep=" ", timespec="seconds")
    per_day = session.fetchall(
        f"select cast(raised_at as date), count(*) from {production(PIPELINE_ALERT_LOG)} "  # noqa: S608
        f"{where} group by cast(raised_at as date)",
        (window.start, window.stop),
    )
    days = sorted(
        ({"day": iso_day(d), "alerts": int(n)} for d, n in per_day), key=lambda r: r["day"]
    )
    return {"latest": latest, "per_day": days, "total": sum(r["alerts"] for r in days)}


def run_record(session: WarehouseSession, run_id: str) -> dict[str, Any] | None:
    """One run's row of the run log, JSON columns parsed; None when it is not there."""
    if not exists(session, PIPELINE_RUN_LOG):
        return None
    names = PIPELINE_RUN_LOG.column_names
    row = session.fetchone(
        f"select {', '.join(names)} from {production(PIPELINE_RUN_LOG)} where run_id = ?",  # noqa: S608
        (run_id,),
    )
    if row is None:
        return None
    record = dict(zip(names, row, strict=True))
    record["rows_written"] = _parse(record["rows_written"], dict) or {}
    record["check_results"] = _parse(record["check_results"], list) or []
    for key in ("started_at", "ended_at", "recorded_at"):
        if record[key] is not None:
            record[key] = record[key].isoformat(sep=" ", timespec="seconds")
    return record


PANELS: dict[str, Callable[[WarehouseSession, Window], dict[str, Any]]] = {
    "rows": rows_per_asset,
    "checks": check_pass_rates,
    "mismatches": mismatch_trends,
    "quarantine": quarantine_rates,
    "alerts": alerts,
}
"""Panel name (as in `/api/<name>.json`) → its read."""
