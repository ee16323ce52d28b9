"""Sync step 3: MERGE not-yet-merged STAGING rows into FINAL (`curated.<table>_latest`).

The newest version per primary key is merged, rows without key or watermark become dead
letters, and the accounting is logged, all in one transaction. The watermark lives in FINAL,
so it only advances when the merge commits: a run killed between export and merge
re-exports from the old watermark, and the merge of both files converges to the same rows.
"""

import datetime as dt
from dataclasses import dataclass
from typing import Any

import polars as pl
import pyarrow as pa

from northstar_platform.layers import Column, Layer, Table, quote, schema_of
from northstar_platform.lib.loading import utc_naive
from northstar_platform.lib.quarantine import quarantine_rows
from northstar_platform.lib.sync_common import (
    LOADER_NAMES,
    ensure_columns,
)
from northstar_platform.lib.sync_config import SyncTable
from northstar_platform.lib.sync_sql import (
    SYNC_MERGES,
    SYNC_RUNS,
    batch_accounting_sql,
    dead_letter_table,
    final_table,
    insert_batch_sql,
    merge_sql,
    pending_rows_sql,
    staging_table,
)
from northstar_platform.resources.warehouse import WarehouseSession


@dataclass(frozen=True)
class MergeResult:
    """The accounting of one merge: rows_in = dead_lettered + superseded + inserted +
    updated + unchanged. Superseded: older copies of a key in the batch, copies of rows
    already dead-lettered, and rows of files a pending full export replaces."""

    files: int
    rows_in: int
    dead_lettered: int
    superseded: int
    inserted: int
    updated: int
    unchanged: int
    final_rows_before: int
    final_rows_after: int
    full_refresh: bool


def merge_pending(
    session: WarehouseSession, table: SyncTable, *, run_id: str, now: dt.datetime
) -> MergeResult:
    """MERGE the not-yet-merged files of STAGING into FINAL, in one transaction."""
    staging_name = f"raw_{table.name}"
    raw_schema = schema_of(Layer.RAW, staging_name)
    if not session.table_exists(raw_schema, staging_name):
        return MergeResult(0, 0, 0, 0, 0, 0, 0, 0, 0, False)
    live = session.columns(raw_schema, staging_name)
    source_columns = tuple(Column(n, t) for n, t in live if n not in LOADER_NAMES)
    names = [c.name for c in source_columns]
    staging = staging_table(table, source_columns)
    final = final_table(table, source_columns)
    dead = dead_letter_table(table)
    for ensured in (SYNC_MERGES, SYNC_RUNS, dead):
        session.ensure_table(ensured)
    ensure_columns(session, final)
    pending_sql = pending_rows_sql(table, staging)
    per_file = session.fetchall(
        f"select source_file, count(*), max(ingested_ts) from ({pending_sql}) as p "  # noqa: S608
        "group by 1 order by 1",
        (table.name,),
    )
    files = [str(f) for f, _, _ in per_file]
    rows_in = sum(int(n) for _, n, _ in per_file)
    full_exports = [arrived for f, _, arrived in per_file if str(f).endswith("-full.parquet")]
    full = bool(full_exports)
    # A full export holds the whole table as of its run. Pending files that arrived before it
    # (a run killed before its merge) hold nothing newer, but may hold rows deleted since,
    # which the reload must not bring back: they are absorbed, their rows superseded.
    stale = [str(f) for f, _, arrived in per_file if full and arrived < max(full_exports)]
    no_key = " or ".join(f"{quote(k)} is null" for k in table.primary_keys)
    bad = pl.from_arrow(
        session.fetch_arrow(
            f"select * from ({pending_sql}) as p "  # noqa: S608
            f"where {no_key} or {quote(table.watermark_col)} is null",
            (table.name,),
        )
    )
    assert isinstance(bad, pl.DataFrame)
    bad = bad.filter(~pl.col("source_file").is_in(stale))
    key_missing = pl.any_horizontal([pl.col(k).is_null() for k in table.primary_keys])
    letters = quarantine_rows(
        bad.with_columns(
            rule=pl.when(key_missing)
            .then(pl.lit("primary_key_present"))
            .otherwise(pl.lit("watermark_present")),
            reason=pl.lit(
                f"raw.raw_{table.name}: a row needs {', '.join(table.primary_keys)} and "
                f"{table.watermark_col} to be merged into curated.{table.name}_latest"
            ),
        ),
        source=table.name,
        record_ref=table.primary_keys[0],
        business_columns=names,
        run_id=run_id,
    )
    # `>=` exports the watermark instant again, and a dead-lettered newest row can set the
    # watermark: a row already dead-lettered with the same content (an earlier export, or
    # another pending file) is a copy, counted as superseded, not a new dead letter.
    known = session.fetchall(
        f"select distinct payload from {dead.qualified} where source = ?",  # noqa: S608
        (table.name,),
    )
    letters = (
        letters.filter(~pl.col("payload").is_in([str(p) for (p,) in known]))
        .sort(["quarantined_at", "source_file", "line_no"])
        .filter(pl.col("source_file") == pl.col("source_file").first().over("payload"))
    )
    merged_at = utc_naive(now)
    with session.transaction():
        # First, so the batch (pending files only) leaves the stale files out.
        session.insert_arrow(SYNC_MERGES, _merged_files(table, stale, run_id, merged_at))
        before = _count(session, final)
        if full:
            session.execute(f"delete from {final.qualified}")  # noqa: S608
        if full or before == 0:
            # An empty FINAL (first sync, full refresh): the MERGE would only insert, and
            # every batch row is new; the plain INSERT skips the join and the accounting.
            session.execute(insert_batch_sql(table, staging, final, names), (run_id, table.name))
            batch, matched, updated = _count(session, final), 0, 0
        else:
            batch, matched, updated = session.fetchone(
                batch_accounting_sql(table, staging, final, names), (table.name,)
            ) or (0, 0, 0)
            session.execute(merge_sql(table, staging, final, names), (table.name, run_id, run_id))
        session.insert_arrow(dead, letters.to_arrow())
        applied = [f for f in files if f not in stale]
        session.insert_arrow(SYNC_MERGES, _merged_files(table, applied, run_id, merged_at))
        result = MergeResult(
            files=len(files),
            rows_in=rows_in,
            dead_lettered=letters.height,
            superseded=rows_in - letters.height - int(batch),
            inserted=int(batch) - int(matched),
            updated=int(updated),
            unchanged=int(matched) - int(updated),
            final_rows_before=before,
            final_rows_after=_count(session, final),
            full_refresh=full,
        )
        session.insert_arrow(SYNC_RUNS, _run_row(table, run_id, result, merged_at))
    return result


def _merged_files(
    table: SyncTable, files: list[str], run_id: str, merged_at: dt.datetime
) -> pa.Table:
    return pa.table(
        {
            "table_name": [table.name] * len(files),
            "source_file": pa.array(files, pa.string()),
            "run_id": [run_id] * len(files),
            "merged_at": pa.array([merged_at] * len(files), pa.timestamp("us")),
        }
    )


def _count(session: WarehouseSession, table: Table) -> int:
    row = session.fetchone(f"select count(*) from {table.qualified}")  # noqa: S608
    return int(row[0]) if row else 0


def _run_row(
    table: SyncTable, run_id: str, result: MergeResult, merged_at: dt.datetime
) -> pa.Table:
    values: dict[str, Any] = {
        "table_name": table.name,
        "run_id": run_id,
        "mode": "full" if result.full_refresh else "incremental",
        "merged_at": merged_at,
    }
    for name in (
        "files",
        "rows_in",
        "dead_lettered",
        "superseded",
        "inserted",
        "updated",
        "unchanged",
        "final_rows_before",
        "final_rows_after",
    ):
        values[name] = getattr(result, name)
    return pa.Table.from_pylist(
        [values],
        schema=pa.schema(
            [
                (
                    c.name,
                    pa.timestamp("us")
                    if c.sql_type == "TIMESTAMP"
                    else pa.int64()
                    if c.sql_type == "BIGINT"
                    else pa.string(),
                )
                for c in SYNC_RUNS.columns
            ]
        ),
    )
