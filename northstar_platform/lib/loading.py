"""Shared steps of loading a partition: loader columns, dedup, partition windows."""

import datetime as dt

import polars as pl
import pyarrow as pa
import pyarrow.compute as pc


def partition_window(partition_key: str) -> tuple[dt.datetime, dt.datetime]:
    """[start, end) of a daily partition key as naive UTC datetimes (how timestamps are stored)."""
    start = dt.datetime.fromisoformat(partition_key)
    return start, start + dt.timedelta(days=1)


def date_path(partition_key: str) -> str:
    """`YYYY/MM/DD` of a daily partition key: the landing folder of that day."""
    return dt.date.fromisoformat(partition_key).strftime("%Y/%m/%d")


def utc_naive(value: dt.datetime) -> dt.datetime:
    """A UTC wall-clock datetime without zone, as the warehouse stores timestamps."""
    return value.astimezone(dt.UTC).replace(tzinfo=None) if value.tzinfo else value


def with_loader_columns(
    data: pa.Table,
    *,
    partition_key: str,
    source_file: str,
    ingested_ts: dt.datetime,
    run_id: str,
    first_line_no: int = 1,
) -> pa.Table:
    """Add where each record came from. `ingested_ts` is the file's arrival time (DESIGN §5.2).

    Lines are numbered from `first_line_no` (0 marks the one row of a 0-byte CSV file).

    Constant columns are repeated scalars and `line_no` a running sum of ones, not a Python
    object per row: on a million-row file that saves ~0.6 s and ~100 MB.
    """
    n = data.num_rows
    arrived = utc_naive(ingested_ts)
    return (
        data.append_column("partition_key", pa.repeat(pa.scalar(partition_key, pa.string()), n))
        .append_column("source_file", pa.repeat(pa.scalar(source_file, pa.string()), n))
        .append_column(
            "line_no",
            pc.add(
                pc.cumulative_sum(pa.repeat(pa.scalar(1, pa.int64()), n)),
                pa.scalar(first_line_no - 1, pa.int64()),
            ),
        )
        .append_column("ingested_ts", pa.repeat(pa.scalar(arrived, pa.timestamp("us")), n))
        .append_column("run_id", pa.repeat(pa.scalar(run_id, pa.string()), n))
    )


LANDING_ORDER = ["ingested_ts", "source_file", "line_no"]
"""The order records arrived in: file arrival time, then file name, then line."""


def collapse_duplicates(frame: pl.DataFrame, key: list[str]) -> tuple[pl.DataFrame, int]:
    """Keep the earliest landed copy of each key; return the rows and how many went.

    Rows whose key has a null are never collapsed: they are not the same record as anything,
    and validation quarantines them.
    """
    ordered = frame.sort(LANDING_ORDER)
    has_key = pl.all_horizontal([pl.col(k).is_not_null() for k in key])
    keyed = ordered.filter(has_key).unique(subset=key, keep="first", maintain_order=True)
    kept = pl.concat([keyed, ordered.filter(~has_key)]).sort(LANDING_ORDER)
    return kept, frame.height - kept.height
