"""`explain`'s entities: an order, a payment (by order id or Stripe event id), a shipment.

A payment or a shipment is traced through its own landed lines (raw, quarantine, latest
state, marts), then through the order it names: the order is what the audit reconciles, so
it is what the root-cause rules classify.
"""

import csv
import json
from typing import Any

from northstar_platform.explain.orders import trace_order
from northstar_platform.explain.relations import FCT_FULFILLMENT, SHIPMENTS_LATEST
from northstar_platform.explain.steps import Step, Trace, select_rows
from northstar_platform.explain.subject import SourceFetch
from northstar_platform.layers import (
    QUARANTINE_STRIPE,
    QUARANTINE_WMS,
    RAW_STRIPE_EVENTS,
    RAW_WMS_SHIPMENTS,
    STG_STRIPE_EVENTS,
    STG_WMS_SHIPMENTS,
)
from northstar_platform.lib.root_cause import Evidence, RootCause
from northstar_platform.resources.warehouse import WarehouseSession

RAW_ORDER = "ingested_ts, source_file, line_no"


def _contains(value: str) -> str:
    """A LIKE pattern for text containing `value` (candidates; exact matching follows)."""
    return f"%{value}%"


def _stripe_ids(record: str | None) -> tuple[Any, Any]:
    """(event id, metadata.order_id) of a raw Stripe line, or Nones when it does not parse."""
    try:
        event = json.loads(record or "")
        obj = event["data"]["object"]
        return event.get("id"), (obj.get("metadata") or {}).get("order_id")
    except (ValueError, TypeError, KeyError, AttributeError):
        return None, None


def trace_payment(
    session: WarehouseSession, key: str, source: SourceFetch | None, source_error: str | None
) -> Trace:
    """A Stripe event (by event id) or an order's payment (by order id)."""
    staged = select_rows(session, "staging", STG_STRIPE_EVENTS, "event_id = ?", (key,))
    order_id = str(staged.rows[0]["order_id"]) if staged.rows else key
    raw = select_rows(
        session,
        "raw",
        RAW_STRIPE_EVENTS,
        "record like ? or record like ?",
        (_contains(key), _contains(order_id)),
        RAW_ORDER,
    )
    raw.rows = [
        r
        for r in raw.rows
        if (ids := _stripe_ids(r["record"]))[0] == key or str(ids[1]) in (key, order_id)
    ]
    held = select_rows(
        session,
        "quarantine",
        QUARANTINE_STRIPE,
        "record_ref = ? or payload like ?",
        (key, _contains(order_id)),
        "line_no",
    )
    landing = Step("landing", "landing zone (stripe/YYYY/MM/DD/…)", _files(raw.rows))
    return trace_order(
        session, "payment", key, order_id, [landing, raw, held], source, source_error
    )


def _wms_fields(record: str | None) -> list[str]:
    try:
        return next(csv.reader([record or ""]), [])
    except csv.Error:
        return []


def trace_shipment(
    session: WarehouseSession, key: str, source: SourceFetch | None, source_error: str | None
) -> Trace | None:
    """A warehouse shipment; None when no layer knows the shipment id."""
    raw = select_rows(
        session, "raw", RAW_WMS_SHIPMENTS, "record like ?", (_contains(key),), RAW_ORDER
    )
    raw.rows = [r for r in raw.rows if _wms_fields(r["record"])[:1] == [key]]
    held = select_rows(session, "quarantine", QUARANTINE_WMS, "record_ref = ?", (key,), "line_no")
    staged = select_rows(session, "staging", STG_WMS_SHIPMENTS, "shipment_id = ?", (key,))
    latest = select_rows(session, "latest", SHIPMENTS_LATEST, "shipment_id = ?", (key,))
    candidates = [r["order_id"] for r in latest.rows + staged.rows]
    candidates += [f[1] for r in raw.rows if len(f := _wms_fields(r["record"])) > 1]
    if not candidates:
        if raw.rows or held.rows:
            steps = [raw, held, staged, latest]
            return Trace("shipment", key, steps, _orphan_line(), None, {})
        return None
    extra = [
        Step("landing", "landing zone (wms/YYYY/MM/DD/HH/…)", _files(raw.rows)),
        raw,
        held,
        *_fulfillment(session, latest.rows),
    ]
    return trace_order(session, "shipment", key, str(candidates[0]), extra, source, source_error)


def _fulfillment(session: WarehouseSession, latest: list[dict[str, Any]]) -> list[Step]:
    """The fct_fulfillment row the shipment counts in: day first shipped, per warehouse."""
    if not latest or latest[0].get("shipped_at") is None:
        return []
    row = latest[0]
    return [
        select_rows(
            session,
            "marts",
            FCT_FULFILLMENT,
            "business_date = ? and warehouse_code = ?",
            (row["shipped_at"].date(), row["warehouse_code"]),
        )
    ]


def _orphan_line() -> Evidence:
    return Evidence(
        RootCause.UNEXPLAINED,
        "the shipment's lines were held in quarantine: no order id could be read from them",
    )


def _files(raw_rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    files: dict[str, Any] = {}
    for row in raw_rows:
        files.setdefault(row["source_file"], row["ingested_ts"])
    return [{"source_file": f, "ingested_ts": ts} for f, ts in files.items()]
