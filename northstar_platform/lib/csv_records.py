"""Landed CSV files (WMS drops, finance reports): physical lines in, typed rows or held records out.

Raw keeps every physical line of a file exactly as delivered — the header is line 1 — plus
whether the line ended with a newline; a 0-byte file is one row without a record (line 0), so
its arrival is accounted for. Staging then decides, file by file:

- a 0-byte file, or a file whose header is not the contract's (other names, other order,
  extra or missing columns, not UTF-8), is held whole as ONE quarantine record whose
  `held_rows` is every raw row of the file; the other files of the partition go on;
- a data line that is not UTF-8, is empty, or has the wrong number of fields is held with
  that rule; otherwise the source's `parse` turns its fields into typed values (or names the
  rule a value breaks), and pandera rules check them;
- a held last line without a line end is reported as `row_complete`: the file was cut off.

Accounting (the conservation check): raw rows = accepted headers + staged rows + collapsed
duplicates + sum(held_rows).
"""

import csv
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import polars as pl
import pyarrow as pa

from northstar_platform.lib.loading import LANDING_ORDER, with_loader_columns
from northstar_platform.lib.validation import RowRule, validate_rows

ParseFields = Callable[[dict[str, str]], dict[str, Any]]
"""A row's fields by header name → typed values, plus `parse_rule`/`parse_reason` (None if ok)."""


@dataclass(frozen=True)
class CsvContract:
    """What one CSV source must look like, and how its rows are typed and validated."""

    source: str
    """The quarantine `source` value and landing prefix (`wms`, `finance`)."""
    label: str
    """The raw table named in reasons (`raw.raw_wms_shipments`)."""
    header: tuple[str, ...]
    parse: ParseFields
    typed: dict[str, Any]
    """polars dtypes of the typed columns `parse` returns."""
    rules: list[RowRule]
    key: list[str]
    """Rows with the same key are one record: the kept copy's `copies` counts them."""
    keep_latest: bool = False
    """Keep the latest landed copy (a restated report) instead of the earliest (a re-send)."""


def split_physical_lines(data: bytes) -> list[tuple[str | None, bool, bool]]:
    """(text, is valid UTF-8, ends with a newline) per physical line; `[(None, True, False)]`
    for a 0-byte file. CRLF endings lose their `\\r` in the text; a BOM is dropped."""
    if not data:
        return [(None, True, False)]
    data = data.removeprefix(b"\xef\xbb\xbf")
    if not data:  # a byte-order mark alone: one empty line, held as a wrong header
        return [("", True, False)]
    lines = data.split(b"\n")
    ended = [True] * (len(lines) - 1) + [False]
    if lines[-1] == b"":
        lines.pop()
        ended.pop()
    out: list[tuple[str | None, bool, bool]] = []
    for line, has_end in zip(lines, ended, strict=True):
        raw = line.removesuffix(b"\r")
        try:
            out.append((raw.decode("utf-8"), True, has_end))
        except UnicodeDecodeError:
            out.append((raw.decode("utf-8", errors="backslashreplace"), False, has_end))
    return out


def lines_table(
    data: bytes, *, partition_key: str, source_file: str, ingested_ts: Any, run_id: str
) -> pa.Table:
    """The raw rows of one landed CSV file (record, utf8_valid, has_line_end + loader columns)."""
    lines = split_physical_lines(data)
    table = pa.table(
        {
            "record": pa.array([text for text, _, _ in lines], pa.string()),
            "utf8_valid": pa.array([ok for _, ok, _ in lines], pa.bool_()),
            "has_line_end": pa.array([end for _, _, end in lines], pa.bool_()),
        }
    )
    return with_loader_columns(
        table,
        partition_key=partition_key,
        source_file=source_file,
        ingested_ts=ingested_ts,
        run_id=run_id,
        first_line_no=0 if not data else 1,
    )


def landed_row_count(data: bytes) -> int:
    """How many raw rows a file becomes (counted apart from `split_physical_lines`)."""
    if not data:
        return 1
    return data.count(b"\n") + (0 if data.endswith(b"\n") else 1)


def header_problem(contract: CsvContract, line: str | None, utf8_valid: bool) -> str | None:
    """Why a file's first line is not the contract's header, in words; None when it is."""
    expected = ",".join(contract.header)
    if line is None:
        return f"file is empty (0 bytes); expected the header `{expected}`"
    if not utf8_valid:
        return f"header line is not valid UTF-8; expected `{expected}`"
    names = tuple(name.strip() for name in next(csv.reader([line]), []))
    if names == contract.header:
        return None
    missing = [n for n in contract.header if n not in names]
    extra = [n for n in names if n not in contract.header]
    parts = [f"missing {', '.join(missing)}"] if missing else []
    parts += [f"extra {', '.join(extra)}"] if extra else []
    detail = "; ".join(parts) or "the contract's columns in another order or repeated"
    return f"header is `{line}` ({detail}); expected `{expected}`"


def _line_result(contract: CsvContract, text: str | None, utf8_valid: bool) -> dict[str, Any]:
    n = len(contract.header)
    empty: dict[str, Any] = dict.fromkeys(contract.typed)
    if not utf8_valid:
        return {**empty, "parse_rule": "utf8_valid", "parse_reason": "line is not valid UTF-8"}
    if not text or not text.strip():
        reason = f"line is empty; expected {n} fields ({','.join(contract.header)})"
        return {**empty, "parse_rule": "column_count_matches", "parse_reason": reason}
    try:
        fields = next(csv.reader([text], strict=True))
    except csv.Error as exc:
        reason = f"line is not valid CSV ({exc})"
        return {**empty, "parse_rule": "column_count_matches", "parse_reason": reason}
    if len(fields) != n:
        reason = f"line has {len(fields)} fields; expected {n} ({','.join(contract.header)})"
        return {**empty, "parse_rule": "column_count_matches", "parse_reason": reason}
    return contract.parse(dict(zip(contract.header, fields, strict=True)))


def parse_lines(contract: CsvContract, rows: pl.DataFrame) -> pl.DataFrame:
    """`rows` (record, utf8_valid + loader columns) with the typed columns and parse rule."""
    schema = {**contract.typed, "parse_rule": pl.Utf8, "parse_reason": pl.Utf8}
    parsed = pl.DataFrame(
        [
            _line_result(contract, text, ok)
            for text, ok in zip(rows["record"], rows["utf8_valid"], strict=True)
        ],
        schema=schema,
    )
    return pl.concat([rows, parsed], how="horizontal")


def file_level_holds(contract: CsvContract, raw: pl.DataFrame) -> tuple[pl.DataFrame, list[str]]:
    """One held record per file that cannot be read row by row, and the files that can."""
    held: list[dict[str, Any]] = []
    readable: list[str] = []
    sizes = raw.group_by("source_file").len("rows")
    firsts = raw.filter(pl.col("line_no") <= 1).join(sizes, on="source_file")
    for first in firsts.sort("source_file").iter_rows(named=True):
        problem = header_problem(contract, first["record"], first["utf8_valid"])
        if problem is None:
            readable.append(first["source_file"])
            continue
        if first["line_no"] == 0:
            rule, whole = "file_not_empty", ""
        else:
            count = first["rows"]
            rule, whole = (
                "header_matches",
                f"; the whole file ({count} line{'s' * (count != 1)}) is held",
            )
        held.append({**first, "rule": rule, "reason": f"{contract.label}: {problem}{whole}"})
    schema = {**raw.schema, "rows": pl.UInt32, "rule": pl.Utf8, "reason": pl.Utf8}
    return pl.DataFrame(held, schema=schema).rename({"rows": "held_rows"}), readable


@dataclass(frozen=True)
class StagedCsv:
    """One partition's outcome: typed rows to stage, records to hold, and the accounting."""

    staged: pl.DataFrame
    """Typed columns + `copies` + the raw columns of the kept copy."""
    held: pl.DataFrame
    """Raw columns + `rule`, `reason`, `held_rows` (input of `quarantine_rows`)."""
    headers: int
    """Accepted header lines (raw rows that are neither staged nor held)."""
    collapsed: int
    """Valid rows folded into another copy of the same key."""


def stage_csv(
    contract: CsvContract,
    raw: pl.DataFrame,
    derive: Callable[[pl.DataFrame], pl.DataFrame] = lambda frame: frame,
) -> StagedCsv:
    """Split one partition's raw lines into staged rows and held records (see module doc).

    `derive` adds columns the rules need from the typed values and the loader columns (e.g.
    seconds between an event and its file's arrival).
    """
    whole_files, readable = file_level_holds(contract, raw)
    lines = raw.filter(pl.col("source_file").is_in(readable) & (pl.col("line_no") > 1))
    parsed = parse_lines(contract, lines)
    unparsed = parsed.filter(pl.col("parse_rule").is_not_null()).with_columns(
        rule=pl.col("parse_rule"), reason=pl.lit(f"{contract.label}: ") + pl.col("parse_reason")
    )
    result = validate_rows(
        derive(parsed.filter(pl.col("parse_rule").is_null())), contract.rules, contract.label
    )
    cut = ~pl.col("has_line_end")
    held_lines = pl.concat([unparsed, result.quarantined], how="diagonal_relaxed").with_columns(
        rule=pl.when(cut).then(pl.lit("row_complete")).otherwise(pl.col("rule")),
        reason=pl.when(cut)
        .then(pl.lit("last line has no line end (the file looks cut off): ") + pl.col("reason"))
        .otherwise(pl.col("reason")),
        held_rows=pl.lit(1, pl.UInt32),
    )
    held = pl.concat([held_lines, whole_files], how="diagonal_relaxed").sort(
        ["source_file", "line_no"]
    )
    if contract.key[0] not in held.columns:
        held = held.with_columns(pl.lit(None, pl.Utf8).alias(contract.key[0]))
    ordered = result.valid.sort(LANDING_ORDER)
    copies = (
        ordered.group_by(contract.key).len("copies").with_columns(pl.col("copies").cast(pl.Int64))
    )
    kept = ordered.unique(
        subset=contract.key, keep="last" if contract.keep_latest else "first", maintain_order=True
    ).join(copies, on=contract.key, how="left")
    return StagedCsv(
        staged=kept,
        held=held,
        headers=len(readable),
        collapsed=result.valid.height - kept.height,
    )
