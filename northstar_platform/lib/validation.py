"""Row-level validation with pandera (polars backend): split valid rows from quarantined ones.

Each source declares its rules as `RowRule`s (one column, one pandera check, one rule name and
the expectation in words). A row that breaks several rules is quarantined once, under the
first broken rule in declaration order, with every broken rule in its reason.
"""

import json
from dataclasses import dataclass
from typing import Any

import pandera.polars as pa
import polars as pl


@dataclass(frozen=True)
class RowRule:
    """One rule a record must keep, with the words a quarantine reason uses."""

    name: str
    column: str
    expectation: str
    check: pa.Check | None = None
    """None means: the column must not be null."""


@dataclass(frozen=True)
class ValidationResult:
    """Rows that passed, and rows held back with their rule and reason."""

    valid: pl.DataFrame
    quarantined: pl.DataFrame
    """The input columns plus `rule` and `reason`."""


def _schema(rules: list[RowRule], frame: pl.DataFrame) -> pa.DataFrameSchema:
    columns: dict[str, pa.Column] = {}
    for column in frame.columns:
        not_null = any(r.column == column and r.check is None for r in rules)
        checks = [r.check for r in rules if r.column == column and r.check is not None]
        columns[column] = pa.Column(nullable=not not_null, checks=checks or None)
    return pa.DataFrameSchema(columns)


def validate_rows(frame: pl.DataFrame, rules: list[RowRule], label: str) -> ValidationResult:
    """Validate every row of `frame` against `rules` (all rows, not the first failure only)."""
    indexed = frame.with_row_index("_row")
    try:
        _schema(rules, frame).validate(frame, lazy=True)
        failures = pl.DataFrame(schema={"index": pl.Int64, "rule": pl.Utf8, "text": pl.Utf8})
    except pa.errors.SchemaErrors as exc:
        failures = _failures(exc.failure_cases, rules, label)
    if failures.is_empty():
        empty = (
            indexed.head(0)
            .drop("_row")
            .with_columns(rule=pl.lit(None, pl.Utf8), reason=pl.lit(None, pl.Utf8))
        )
        return ValidationResult(valid=frame, quarantined=empty)
    per_row = (
        failures.sort(["index", "order"])
        .group_by("index", maintain_order=True)
        .agg(pl.col("rule").first(), pl.col("text").str.join("; ").alias("reason"))
        .with_columns(pl.col("index").cast(pl.UInt32).alias("_row"))
        .drop("index")
    )
    held = indexed.join(per_row, on="_row", how="inner").sort("_row").drop("_row")
    valid = indexed.join(per_row, on="_row", how="anti").sort("_row").drop("_row")
    return ValidationResult(valid=valid, quarantined=held)


def _failures(cases: pl.DataFrame, rules: list[RowRule], label: str) -> pl.DataFrame:
    """Map pandera's failure cases (column, check, index) back to our rule names."""
    rows: list[dict[str, Any]] = []
    for case in cases.iter_rows(named=True):
        column, check, index = case["column"], case["check"], case["index"]
        if index is None:
            raise ValueError(f"{label}: column {column!r} failed {check} for the whole table")
        for order, rule in enumerate(rules):
            if rule.column != column:
                continue
            is_null_rule = rule.check is None
            if is_null_rule == (check == "not_nullable"):
                value = "NULL" if is_null_rule else repr(case["failure_case"])
                rows.append(
                    {
                        "index": int(index),
                        "order": order,
                        "rule": rule.name,
                        "text": f"{label} column {column}={value}: expected {rule.expectation}",
                    }
                )
                break
    return pl.DataFrame(
        rows, schema={"index": pl.Int64, "order": pl.Int64, "rule": pl.Utf8, "text": pl.Utf8}
    )


def payload_json(frame: pl.DataFrame, columns: list[str]) -> pl.Series:
    """Each row's business columns as a JSON object string, for `quarantine_records.payload`."""
    return pl.Series(
        "payload",
        [json.dumps(row, default=str, sort_keys=True) for row in frame.select(columns).to_dicts()],
        dtype=pl.Utf8,
    )
