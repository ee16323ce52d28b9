"""Quarantine records (DESIGN §4): one table per source, one view over all of them."""

import polars as pl

from northstar_platform.layers import (
    QUARANTINE_COLUMNS,
    QUARANTINE_TABLES,
    quarantine_view,
    quote,
)
from northstar_platform.lib.validation import payload_json
from northstar_platform.resources.warehouse import WarehouseSession


def quarantine_rows(
    held: pl.DataFrame,
    *,
    source: str,
    record_ref: str,
    business_columns: list[str],
    run_id: str,
) -> pl.DataFrame:
    """Rows of `quarantine_records` for records that failed validation.

    `quarantined_at` is the record's arrival time (`ingested_ts`), not the run's clock, so a
    rerun of the same input writes the same rows. `held` may carry `held_rows` (raw rows a
    record stands for, e.g. a whole file); without it each record stands for one raw row.
    """
    if held.is_empty():
        types = {"line_no": pl.Int64, "quarantined_at": pl.Datetime("us"), "held_rows": pl.Int64}
        return pl.DataFrame(schema={c.name: types.get(c.name, pl.Utf8) for c in QUARANTINE_COLUMNS})
    return held.select(
        pl.lit(source).alias("source"),
        pl.col("partition_key"),
        pl.col("source_file"),
        pl.col("line_no").cast(pl.Int64),
        pl.col(record_ref).cast(pl.Utf8).alias("record_ref"),
        pl.col("rule"),
        pl.col("reason"),
        payload_json(held, business_columns),
        pl.lit(run_id).alias("run_id"),
        pl.col("ingested_ts").cast(pl.Datetime("us")).alias("quarantined_at"),
        (pl.col("held_rows") if "held_rows" in held.columns else pl.lit(1))
        .cast(pl.Int64)
        .alias("held_rows"),
    )


def refresh_quarantine_view(session: WarehouseSession) -> None:
    """(Re)create `staging.quarantine_records` over every quarantine table that exists."""
    present = [t for t in QUARANTINE_TABLES if session.table_exists(t.schema, t.name)]
    if not present:
        return
    columns = ", ".join(quote(c.name) for c in QUARANTINE_COLUMNS)
    union = " union all ".join(f"select {columns} from {t.qualified}" for t in present)  # noqa: S608
    session.execute(f"create or replace view {quarantine_view()} as {union}")
