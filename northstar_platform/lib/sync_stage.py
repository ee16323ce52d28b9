"""Sync step 2: append every landed export STAGING (`raw.raw_<table>`) has not seen yet."""

import datetime as dt
import io
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from northstar_platform.errors import InputFileError
from northstar_platform.layers import Column, Table
from northstar_platform.lib.loading import utc_naive, with_loader_columns
from northstar_platform.lib.sync_common import (
    LOADER_NAMES,
    ensure_columns,
    release_arrow_memory,
)
from northstar_platform.lib.sync_config import SyncTable
from northstar_platform.lib.sync_sql import (
    SYNC_LOADS,
    columns_of_export,
    staging_table,
)
from northstar_platform.resources.landing import LandingZone
from northstar_platform.resources.warehouse import WarehouseSession


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
    live = [name for name, _ in session.columns(table.schema, table.name)]
    for name in live:
        if name not in data.column_names:
            data = data.append_column(name, pa.nulls(data.num_rows))
    return session.insert_arrow(
        Table(table.layer, table.name, tuple(Column(n, "") for n in live)), data
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
                with_loader_columns(
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
    ensure_columns(session, staging)
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
                    "loaded_at": pa.array([utc_naive(now)] * len(loaded), pa.timestamp("us")),
                }
            ),
        )
    del loads, data
    release_arrow_memory()
    return loaded
