"""Finance daily revenue reports (`finance/YYYY/MM/DD/*.csv`): the revenue source of truth.

One row per (business_date, currency). When a day's folder holds the same pair twice (a
corrected report landed beside the first), the latest landed row wins — finance's newest
statement — and the superseded copies are counted, not lost.
"""

import datetime as dt
from typing import Any

import pandera.polars as pa
import polars as pl

from northstar_platform.lib.csv_records import CsvContract
from northstar_platform.lib.validation import RowRule
from northstar_platform.lib.wms_shipments import parse_integer

HEADER = ("business_date", "currency", "gross_revenue_cents")
MAX_GROSS_CENTS = 10**15
"""Ten trillion in major units: anything larger is a unit or parsing error, not revenue."""
EARLIEST = dt.date(2010, 1, 1)

TYPED = {
    "business_date": pl.Date,
    "currency": pl.Utf8,
    "gross_revenue_cents": pl.Int64,
}


def parse_fields(fields: dict[str, str]) -> dict[str, Any]:
    """Typed values of one report row, or the first format rule a value breaks."""
    try:
        business_date: dt.date | None = dt.date.fromisoformat(fields["business_date"].strip())
    except ValueError:
        business_date = None
    gross = parse_integer(fields["gross_revenue_cents"])
    typed: dict[str, Any] = {
        "business_date": business_date,
        "currency": fields["currency"].strip() or None,
        "gross_revenue_cents": gross,
        "parse_rule": None,
        "parse_reason": None,
    }
    if business_date is None:
        typed["parse_rule"] = "business_date_parses"
        typed["parse_reason"] = (
            f"column business_date={fields['business_date']!r}: expected a date YYYY-MM-DD"
        )
    elif gross is None:
        typed["parse_rule"] = "gross_revenue_integer"
        typed["parse_reason"] = (
            f"column gross_revenue_cents={fields['gross_revenue_cents']!r}: expected an integer "
            "amount in minor units"
        )
    return typed


def with_arrival_lag(frame: pl.DataFrame) -> pl.DataFrame:
    """Days from the report's arrival date to its business date (positive = a future date)."""
    return frame.with_columns(
        business_date_after_arrival_d=(
            pl.col("business_date") - pl.col("ingested_ts").dt.date()
        ).dt.total_days()
    )


FINANCE_RULES = [
    RowRule("currency_code", "currency", "a currency code"),
    RowRule(
        "currency_code", "currency", "three upper-case letters", pa.Check.str_matches(r"^[A-Z]{3}$")
    ),
    RowRule(
        "gross_revenue_in_range",
        "gross_revenue_cents",
        f"an amount from 0 to {MAX_GROSS_CENTS:,} cents",
        pa.Check.in_range(0, MAX_GROSS_CENTS),
    ),
    RowRule(
        "business_date_sane", "business_date", "a date after 2010-01-01", pa.Check.ge(EARLIEST)
    ),
    RowRule(
        "business_date_sane",
        "business_date_after_arrival_d",
        "a business date no later than the day after the report arrived",
        pa.Check.le(1),
    ),
]

FINANCE_CONTRACT = CsvContract(
    source="finance",
    label="raw.raw_finance_revenue",
    header=HEADER,
    parse=parse_fields,
    typed=TYPED,
    rules=FINANCE_RULES,
    key=["business_date", "currency"],
    keep_latest=True,
)
