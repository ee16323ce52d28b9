"""WMS shipment events (`wms/YYYY/MM/DD/HH/*.csv`): how a row is typed and what it must keep.

Re-sent files repeat rows: rows collapse on (shipment_id, event_ts), the earliest landed copy
kept and the others counted in `copies`. Timestamps are ISO-8601; an offset is converted to
UTC, a naive time is UTC (DESIGN §8's rule, applied to every landed source).
"""

import datetime as dt
import re
from typing import Any

import pandera.polars as pa
import polars as pl

from northstar_platform.lib.csv_records import CsvContract
from northstar_platform.lib.validation import RowRule

HEADER = ("shipment_id", "order_id", "status", "quantity", "warehouse_code", "event_ts")
STATUSES = ("picked", "packed", "shipped", "in_transit", "delivered", "returned", "cancelled")
MAX_QUANTITY = 1_000_000
EARLIEST = dt.datetime(2010, 1, 1)
MAX_CLOCK_SKEW_S = 86_400
"""An event may be stamped at most a day after its file arrived (clock skew), never later."""

TYPED = {
    "shipment_id": pl.Utf8,
    "order_id": pl.Utf8,
    "status": pl.Utf8,
    "quantity": pl.Int64,
    "warehouse_code": pl.Utf8,
    "event_ts": pl.Datetime("us"),
}


def parse_timestamp(text: str) -> dt.datetime | None:
    """An ISO-8601 instant as naive UTC (offsets converted, naive = UTC); None if unreadable
    or if converting it to UTC leaves the calendar (`0001-01-01T00:00:00+01:00`)."""
    try:
        value = dt.datetime.fromisoformat(text.strip())
        return value.astimezone(dt.UTC).replace(tzinfo=None) if value.tzinfo else value
    except (ValueError, OverflowError):
        return None


INTEGER = re.compile(r"[+-]?[0-9]{1,18}")
"""A plain integer literal that fits BIGINT whatever its digits (at most 18 of them)."""


def parse_integer(text: str) -> int | None:
    """A plain integer literal (`12`, `-3`), not `1.5`, `two`, `1e3` or `-+5`; None otherwise."""
    text = text.strip()
    return int(text) if INTEGER.fullmatch(text) else None


def _text(value: str) -> str | None:
    return value.strip() or None


def parse_fields(fields: dict[str, str]) -> dict[str, Any]:
    """Typed values of one row, or the first format rule a value breaks."""
    quantity = parse_integer(fields["quantity"])
    event_ts = parse_timestamp(fields["event_ts"])
    typed: dict[str, Any] = {
        "shipment_id": _text(fields["shipment_id"]),
        "order_id": _text(fields["order_id"]),
        "status": _text(fields["status"]),
        "quantity": quantity,
        "warehouse_code": _text(fields["warehouse_code"]),
        "event_ts": event_ts,
        "parse_rule": None,
        "parse_reason": None,
    }
    if quantity is None:
        typed["parse_rule"] = "quantity_integer"
        typed["parse_reason"] = (
            f"column quantity={fields['quantity']!r}: expected an integer of at most 18 digits"
        )
    elif event_ts is None:
        typed["parse_rule"] = "event_ts_parses"
        typed["parse_reason"] = (
            f"column event_ts={fields['event_ts']!r}: expected an ISO-8601 timestamp "
            "(e.g. 2026-11-01T10:15:00Z)"
        )
    return typed


def with_arrival_lag(frame: pl.DataFrame) -> pl.DataFrame:
    """Seconds from the file's arrival to the event (positive = stamped after it arrived)."""
    return frame.with_columns(
        event_after_arrival_s=(pl.col("event_ts") - pl.col("ingested_ts")).dt.total_seconds()
    )


WMS_RULES = [
    RowRule("shipment_id_present", "shipment_id", "a shipment id"),
    RowRule("order_id_present", "order_id", "an order id"),
    RowRule("status_known", "status", "a status"),
    RowRule("status_known", "status", f"one of {', '.join(STATUSES)}", pa.Check.isin(STATUSES)),
    RowRule(
        "quantity_in_range",
        "quantity",
        f"a quantity from 1 to {MAX_QUANTITY:,}",
        pa.Check.in_range(1, MAX_QUANTITY),
    ),
    RowRule("warehouse_code_present", "warehouse_code", "a warehouse code"),
    RowRule("event_ts_sane", "event_ts", "a time after 2010-01-01", pa.Check.ge(EARLIEST)),
    RowRule(
        "event_ts_sane",
        "event_after_arrival_s",
        f"an event time at most {MAX_CLOCK_SKEW_S} s after the file arrived",
        pa.Check.le(MAX_CLOCK_SKEW_S),
    ),
]

WMS_CONTRACT = CsvContract(
    source="wms",
    label="raw.raw_wms_shipments",
    header=HEADER,
    parse=parse_fields,
    typed=TYPED,
    rules=WMS_RULES,
    key=["shipment_id", "event_ts"],
)
