"""Shared steps of loading a partition: loader columns, dedup, partition windows."""

import datetime as dt

import polars as pl
import pyarrow as pa


def partition_window(partition_key: str) -> tuple[dt.datetime, dt.datetime]:
    """[start, end) of a daily partition key as naive UTC datetimes (how timestamps are stored)."""
    start = dt.datetime.fromisoformat(partition_key)
    return start, start + dt.timedelta(days=1)


def date_path(partition_key: str) -> str:
    """`YYYY/MM/DD` of a daily partition key: the landing folder of that day."""
    return dt.date.fromisoformat(partition_key).strftime("%Y/%m/%d")


def with_loader_columns(
    data: pa.Table,
    *,
    partition_key: str,
    source_file: str,
    ingested_ts: dt.datetime,
    run_id: str,
) -> pa.Table:
    """Add where each record came from. `ingested_ts` is the file's arrival time (DESIGN §5.2)."""
    n = data.num_rows
    arrived = ingested_ts.astimezone(dt.UTC).replace(tzinfo=None)
    return (
        data.append_column("partition_key", pa.array([partition_key] * n, pa.string()))
        .append_column("source_file", pa.array([source_file] * n, pa.string()))
        .append_column("line_no", pa.array(range(1, n + 1), pa.int64()))
        .append_column("ingested_ts", pa.array([arrived] * n, pa.timestamp("us")))
        .append_column("run_id", pa.array([run_id] * n, pa.string()))
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
