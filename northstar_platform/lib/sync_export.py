"""Sync step 1: export a table's changes since the watermark to the landing zone (seed 003).

The watermark is read from the warehouse right before exporting; rows with
`watermark_col >= watermark` stream out with COPY into `<table>/YYYY/MM/DD/HH/run-<id>.parquet`.
`>=`, not `>`: a row committed in the same instant as the watermark but after the last export
is not lost; the rows re-exported at that instant are no-ops in the merge.
"""

import datetime as dt
import io
from dataclasses import dataclass
from typing import Any

import pyarrow.parquet as pq

from northstar_platform.errors import NorthstarError
from northstar_platform.layers import Layer, qualified, quote, quote_source, schema_of
from northstar_platform.lib.loading import utc_naive
from northstar_platform.lib.pg_types import SourceColumn, arrow_schema
from northstar_platform.lib.sync_common import release_arrow_memory
from northstar_platform.lib.sync_config import SyncTable
from northstar_platform.lib.sync_sql import (
    dead_letter_table,
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
    """FINAL's columns, or none while FINAL holds no row: an empty FINAL (e.g. the key-only
    stand-in the dbt models create before the first sync, so they can read "no customers yet")
    has nothing a new source column could contradict, and the merge adds the columns."""
    final_name = f"{table.name}_latest"
    schema = schema_of(Layer.CURATED, final_name)
    columns = [name for name, _ in session.columns(schema, final_name)]
    if not columns:
        return []
    first = session.fetchone(f"select 1 from {qualified(Layer.CURATED, final_name)} limit 1")  # noqa: S608
    return columns if first else []


def current_watermark(session: WarehouseSession, table: SyncTable) -> dt.datetime | None:
    """The greatest watermark in FINAL or among the table's dead letters (DESIGN §2)."""
    final_name = f"{table.name}_latest"
    live = session.columns(schema_of(Layer.CURATED, final_name), final_name)
    if table.watermark_col not in {name for name, _ in live}:  # no FINAL, or a key-only stand-in
        return None
    wm = quote(table.watermark_col)
    final = qualified(Layer.CURATED, final_name)
    candidates = [f"select max({wm}) as wm from {final}"]  # noqa: S608
    dead = dead_letter_table(table)
    raw = qualified(Layer.RAW, f"raw_{table.name}")
    if session.table_exists(dead.schema, dead.name):
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
    wm = quote_source(table.watermark_col)
    query = f"select {select} from {table.qualified_source}"  # noqa: S608
    params: tuple[Any, ...] = ()
    if not full:
        query += f" where {wm} >= %s"
        params = (watermark or EPOCH,)
    exported = source.copy_to_arrow(f"{query} order by {wm}", params, arrow_schema(columns))
    buffer = io.BytesIO()
    pq.write_table(exported, buffer)
    suffix = "-full" if full else ""
    key = f"{table.name}/{utc_naive(now):%Y/%m/%d/%H}/run-{run_id}{suffix}.parquet"
    zone.write_bytes(key, buffer.getvalue())
    rows = exported.num_rows
    del exported, buffer
    release_arrow_memory()
    return ExportResult(key, rows, watermark, "full" if full else "incremental", new_columns)
