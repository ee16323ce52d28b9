"""Typed fields of JSON lines, read by pyarrow, for the lines where it decides as `json` would.

A per-line `json.loads` costs ~5 µs; pyarrow's JSON reader parses a block of lines into
columns for a fraction of that. It is only used where its answer is provably the one the
Python parser (`lib/stripe_events.parse_record`) would give, so callers parse the remaining
lines in Python and the result does not depend on which path a line took:

- with an explicit schema, pyarrow refuses every coercion the Python rules refuse (a number
  or `true` where a string or an integer is declared, `12.5` or `1e3` for an integer, an
  integer beyond BIGINT, an array where an object is declared) and a key given twice at a
  declared level; a refused block is split until the offending lines are isolated;
- lines pyarrow would accept but `json` reads differently never reach it: not starting with
  `{` or ending with `}` (arrays, scalars, blank lines, a byte-order mark), `NaN`/`Inf`
  spellings, more than `MAX_OPENINGS` brackets (`json` stops at Python's recursion limit),
  and on lines longer than 4300 bytes a run of `MAX_DIGITS` digits (`json` refuses integers
  of more than 4300 digits);
- a block that yields another number of rows than it has lines (two objects on one line) is
  refused like a parse error.
"""

import polars as pl
import pyarrow as pa
import pyarrow.json as pj

BLOCK_LINES = 2048
"""Lines per pyarrow call: a refused block is bisected down to the lines refused, which
costs about three times its size."""
MAX_OPENINGS = 100
MAX_DIGITS = 100
LONG_LINE = 4300
NON_FINITE = r"[:,\[][ \t\r]*[-+]?(?i:nan|inf)"


def fast_path_lines(lines: pl.Series, eligible: pl.Series) -> pl.Series:
    """Lines pyarrow may read (True); the others need the Python parser."""
    ok = (
        eligible
        & lines.str.starts_with("{")
        & (lines.str.ends_with("}") | lines.str.ends_with("}\r"))
        & ~lines.str.contains(NON_FINITE)
        & (lines.str.count_matches(r"[\[{]") <= MAX_OPENINGS)
    ).fill_null(False)
    long = (lines.str.len_bytes() > LONG_LINE).fill_null(False).arg_true()
    if len(long):  # the digit scan is slow: only on the few lines it matters for
        digits = lines.gather(long).str.contains(f"[0-9]{{{MAX_DIGITS}}}")
        ok = ok.scatter(long, ok.gather(long) & ~digits)
    return ok


def read_strict(
    lines: pl.Series, schema: pa.Schema, eligible: pl.Series
) -> tuple[pl.DataFrame, pl.Series]:
    """(rows of the decided lines in order, which lines were decided).

    `eligible` excludes lines the caller wants parsed in Python whatever they hold (text that
    was not valid UTF-8). Fields missing from a line are null, fields not in `schema` ignored.
    """
    candidates = fast_path_lines(lines, eligible)
    picked = lines.filter(candidates)
    empty = pl.from_arrow(schema.empty_table())
    assert isinstance(empty, pl.DataFrame)
    if picked.is_empty():
        return empty, candidates
    # Each line with its newline, in one contiguous buffer: a block is a slice of it.
    text = (picked + "\n").to_arrow(compat_level=pl.CompatLevel.oldest())
    assert isinstance(text, pa.LargeStringArray)
    _, offsets, buffer = text.buffers()
    bounds = pa.Array.from_buffers(pa.int64(), len(text) + 1, [None, offsets], offset=text.offset)
    bounds = bounds.to_pylist()
    parts: list[pa.Table] = []
    decided = [False] * len(picked)
    pending = [(n, min(n + BLOCK_LINES, len(picked))) for n in range(0, len(picked), BLOCK_LINES)]
    while pending:
        first, last = pending.pop(0)
        table = _read_block(buffer.slice(bounds[first], bounds[last] - bounds[first]), schema)
        if table is not None and table.num_rows == last - first:
            parts.append(table)
            decided[first:last] = [True] * (last - first)
        elif last - first > 1:
            middle = (first + last) // 2
            pending[:0] = [(first, middle), (middle, last)]
    rows = pl.from_arrow(pa.concat_tables(parts)) if parts else empty
    assert isinstance(rows, pl.DataFrame)
    mask = candidates.clone()
    mask[candidates.arg_true()] = pl.Series(decided)
    return rows, mask


def _read_block(block: pa.Buffer, schema: pa.Schema) -> pa.Table | None:
    """The rows of one block of lines, or None when pyarrow refuses any line of it."""
    options = pj.ReadOptions(use_threads=False, block_size=max(block.size + 1, 1 << 20))
    parse = pj.ParseOptions(explicit_schema=schema, unexpected_field_behavior="ignore")
    try:
        return pj.read_json(pa.BufferReader(block), options, parse)
    except pa.ArrowException:
        return None
