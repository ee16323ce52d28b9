"""The PostgreSQL → warehouse sync engine (seed 003): export, stage, merge.

1. `export_table`: read the watermark from the warehouse right before exporting, stream
   `watermark_col >= watermark` out with COPY into `<table>/YYYY/MM/DD/HH/run-<id>.parquet`.
   `>=`, not `>`: a row committed in the same instant as the watermark but after the last
   export is not lost; the rows re-exported at that instant are no-ops in the merge.
2. `stage_files`: append every landed file STAGING has not seen to `raw.raw_<table>`.
3. `merge_pending`: MERGE the newest version per primary key of not-yet-merged files into
   FINAL, dead-letter rows without key or watermark, and log the accounting; all in one
   transaction. The watermark lives in FINAL, so it only advances when the merge commits:
   a run killed between export and merge re-exports from the old watermark, and the merge
   of both files converges to the same rows.
"""

import datetime as dt
import io
from dataclasses import dataclass
from typing import Any

import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from northstar_platform.errors import InputFileError, NorthstarError
from northstar_platform.layers import LOADER_COLUMNS, Column, Table, quote
from northstar_platform.lib.pg_types import SourceColumn, arrow_schema
from northstar_platform.lib.quarantine import quarantine_rows
from northstar_platform.lib.sync_config import SyncTable
from northstar_platform.lib.sync_sql import (
    SYNC_LOADS,
    SYNC_MERGES,
    SYNC_RUNS,
    batch_accounting_sql,
    columns_of_export,
    dead_letter_table,
    final_table,
    insert_batch_sql,
    merge_sql,
    pending_rows_sql,
    staging_table,
)
from northstar_platform.resources.landing import LandingZone
from northstar_platform.resources.warehouse import WarehouseSession

EPOCH = dt.datetime(1970, 1, 1)


class SchemaDriftError(NorthstarError):
    """The source gained columns the configuration does not allow to add."""


@dataclass(frozen=True)
class ExportResult:
    """What one export landed."""

    key: str
    rows: int
    watermark_from: dt.datetime | None
    mode: str
    new_columns: tuple[str, ...]


def _utc_naive(value: dt.datetime) -> dt.datetime:
    return value.astimezone(dt.UTC).replace(tzinfo=None) if value.tzinfo else value


def check_source_columns(table: SyncTable, columns: list[SourceColumn]) -> None:
    """Pre-flight: the configured watermark, keys and soft-delete column exist in the source."""
    names = {c.name for c in columns}
    wanted = [table.watermark_col, *table.primary_keys]
    if table.soft_delete_col:
        wanted.append(table.soft_delete_col)
    missing = [c for c in wanted if c not in names]
    if missing:
        raise NorthstarError(
            f"source table {table.source_schema}.{table.source_table} has no column(s) "
            f"{', '.join(missing)} named in the sync configuration; "
            f"it has {', '.join(sorted(names))}"
        )


def _final_columns(session: WarehouseSession, table: SyncTable) -> list[str]:
    return [name for name, _ in session.columns("curated", f"{table.name}_latest")]


def current_watermark(session: WarehouseSession, table: SyncTable) -> dt.datetime | None:
    """The greatest watermark in FINAL or among the table's dead letters (DESIGN §2)."""
    final_name = f"{table.name}_latest"
    if not session.table_exists("curated", final_name):
        return None
    wm = quote(table.watermark_col)
    final = f"{quote('curated')}.{quote(final_name)}"
    candidates = [f"select max({wm}) as wm from {final}"]  # noqa: S608
    dead = dead_letter_table(table)
    raw = f"{quote('raw')}.{quote('raw_' + table.name)}"
    if session.table_exists(dead.layer.value, dead.name):
        candidates.append(
            f"select max(r.{wm}) as wm from {raw} as r join {dead.qualified} as d "  # noqa: S608
            "on d.source_file = r.source_file and d.line_no = r.line_no"
        )
    row = session.fetchone(f"select max(wm) from ({' union all '.join(candidates)}) as marks")  # noqa: S608
    return row[0] if row and row[0] is not None else None


def export_table(
    source: Any,
    zone: LandingZone,
    session: WarehouseSession,
    table: SyncTable,
    *,
    run_id: str,
    full_refresh: bool,
    now: dt.datetime,
) -> ExportResult:
    """Export the table's changes since the watermark (or all rows) to the landing zone."""
    columns = source.columns(table.source_schema, table.source_table)
    check_source_columns(table, columns)
    known = _final_columns(session, table)
    new_columns = tuple(c.name for c in columns if known and c.name not in known)
    if new_columns and not table.allow_additive_columns:
        raise SchemaDriftError(
            f"source table {table.source_schema}.{table.source_table} has new column(s) "
            f"{', '.join(new_columns)} not in curated.{table.name}_latest; add them to the "
            "warehouse first, or set allow_additive_columns for this table"
        )
    full = full_refresh or table.full_refresh
    watermark = None if full else current_watermark(session, table)
    select = ", ".join(c.select_expression for c in columns)
    wm = quote(table.watermark_col)
    query = f"select {select} from {table.qualified_source}"  # noqa: S608
    params: tuple[Any, ...] = ()
    if not full:
        query += f" where {wm} >= %s"
        params = (watermark or EPOCH,)
    exported = source.copy_to_arrow(f"{query} order by {wm}", params, arrow_schema(columns))
    buffer = io.BytesIO()
    pq.write_table(exported, buffer)
    suffix = "-full" if full else ""
    key = f"{table.name}/{_utc_naive(now):%Y/%m/%d/%H}/run-{run_id}{suffix}.parquet"
    zone.write_bytes(key, buffer.getvalue())
    rows = exported.num_rows
    del exported, buffer
    _release_arrow_memory()
    return ExportResult(key, rows, watermark, "full" if full else "incremental", new_columns)


def _release_arrow_memory() -> None:
    """Hand the pages Arrow's allocator keeps after a large export or load back to the OS.

    The three sync steps may run in one process (the in-process executor, the runner);
    without this the next step's DuckDB work stacks on ~200 MB a million rows left cached.
    """
    pa.default_memory_pool().release_unused()


def _ensure_columns(session: WarehouseSession, table: Table) -> None:
    """Create the table, or add the contract's columns it lacks (additive evolution only)."""
    if not session.table_exists(table.layer.value, table.name):
        session.ensure_table(table)
        return
    have = {name for name, _ in session.columns(table.layer.value, table.name)}
    for column in table.columns:
        if column.name not in have:
            session.execute(
                f"alter table {table.qualified} add column {quote(column.name)} {column.sql_type}"
            )


def landed_files(zone: LandingZone, table: SyncTable) -> list[Any]:
    """Every export of the table in the landing zone, oldest key first."""
    return [o for o in zone.list(f"{table.name}/") if o.key.endswith(".parquet")]


READ_BATCH_ROWS = 1 << 20
"""Rows per Arrow chunk when reading an export back: `pq.read_table` hands out 131,072-row
chunks, which DuckDB (preserving insertion order) cannot write out as whole row groups
while inserting, so the session's closing checkpoint writes them again (~0.4 s a million
rows)."""


def _read_export(zone: LandingZone, key: str) -> pa.Table:
    try:
        exported = pq.ParquetFile(io.BytesIO(zone.read_bytes(key)))
        batches = exported.iter_batches(batch_size=READ_BATCH_ROWS)
        return pa.Table.from_batches(list(batches), schema=exported.schema_arrow)
    except (pa.ArrowInvalid, OSError) as exc:
        raise InputFileError(f"{zone.uri(key)} is not a readable parquet file: {exc}") from None


def _insert_aligned(session: WarehouseSession, table: Table, data: pa.Table) -> int:
    """Insert `data` into the live table, NULL for columns an older export did not have."""
    live = [name for name, _ in session.columns(table.layer.value, table.name)]
    for name in live:
        if name not in data.column_names:
            data = data.append_column(name, pa.nulls(data.num_rows))
    return session.insert_arrow(
        Table(table.layer, table.name, tuple(Column(n, "") for n in live)), data
    )


def _with_loader_columns(
    data: pa.Table,
    *,
    partition_key: str,
    source_file: str,
    ingested_ts: dt.datetime,
    run_id: str,
) -> pa.Table:
    """`loading.with_loader_columns`, column for column, without a Python object per row.

    The constant columns are repeated scalars and `line_no` a running sum of ones: on a
    million-row export the per-row Python lists cost ~0.6 s and ~100 MB more.
    """
    n = data.num_rows
    arrived = ingested_ts.astimezone(dt.UTC).replace(tzinfo=None)
    return (
        data.append_column("partition_key", pa.repeat(pa.scalar(partition_key, pa.string()), n))
        .append_column("source_file", pa.repeat(pa.scalar(source_file, pa.string()), n))
        .append_column("line_no", pc.cumulative_sum(pa.repeat(pa.scalar(1, pa.int64()), n)))
        .append_column("ingested_ts", pa.repeat(pa.scalar(arrived, pa.timestamp("us")), n))
        .append_column("run_id", pa.repeat(pa.scalar(run_id, pa.string()), n))
    )


def stage_files(
    zone: LandingZone,
    session: WarehouseSession,
    table: SyncTable,
    *,
    run_id: str,
    now: dt.datetime,
) -> dict[str, int]:
    """Append every landed export STAGING has not seen yet; return rows appended per file.

    A file's rows keep their landing day (`partition_key`, from the key's date folders) and
    the file's arrival time as `ingested_ts`, so replays reproduce them.
    """
    session.ensure_table(SYNC_LOADS)
    rows = session.fetchall(
        f"select source_file from {SYNC_LOADS.qualified} where table_name = ?",  # noqa: S608
        (table.name,),
    )
    seen = {str(r[0]) for r in rows}
    loads: list[tuple[str, pa.Table]] = []
    for obj in landed_files(zone, table):
        if obj.key in seen:
            continue
        data = _read_export(zone, obj.key)
        landing_day = "-".join(obj.key.split("/")[1:4])
        loads.append(
            (
                obj.key,
                _with_loader_columns(
                    data,
                    partition_key=landing_day,
                    source_file=obj.key,
                    ingested_ts=obj.last_modified,
                    run_id=run_id,
                ),
            )
        )
    if not loads:
        return {}
    source_columns: dict[str, Column] = {}
    for _, data in loads:
        exported = pa.schema([f for f in data.schema if f.name not in LOADER_NAMES])
        for column in columns_of_export(exported):
            source_columns.setdefault(column.name, column)
    staging = staging_table(table, tuple(source_columns.values()))
    _ensure_columns(session, staging)
    loaded = {key: data.num_rows for key, data in loads}
    with session.transaction():
        for _, data in loads:
            _insert_aligned(session, staging, data)
        session.insert_arrow(
            SYNC_LOADS,
            pa.table(
                {
                    "table_name": [table.name] * len(loaded),
                    "source_file": list(loaded),
                    "rows_loaded": pa.array(list(loaded.values()), pa.int64()),
                    "run_id": [run_id] * len(loaded),
                    "loaded_at": pa.array([_utc_naive(now)] * len(loaded), pa.timestamp("us")),
                }
            ),
        )
    del loads, data
    _release_arrow_memory()
    return loaded


LOADER_NAMES = {c.name for c in LOADER_COLUMNS}


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
    if not session.table_exists("raw", staging_name):
        return MergeResult(0, 0, 0, 0, 0, 0, 0, 0, 0, False)
    live = session.columns("raw", staging_name)
    source_columns = tuple(Column(n, t) for n, t in live if n not in LOADER_NAMES)
    names = [c.name for c in source_columns]
    staging = staging_table(table, source_columns)
    final = final_table(table, source_columns)
    dead = dead_letter_table(table)
    for ensured in (SYNC_MERGES, SYNC_RUNS, dead):
        session.ensure_table(ensured)
    _ensure_columns(session, final)
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
    merged_at = _utc_naive(now)
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
