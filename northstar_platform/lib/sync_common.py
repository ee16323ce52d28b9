"""Steps shared by the sync's export, staging and merge."""

import pyarrow as pa

from northstar_platform.layers import LOADER_COLUMNS, Table, quote
from northstar_platform.resources.warehouse import WarehouseSession

LOADER_NAMES = {c.name for c in LOADER_COLUMNS}
"""Columns the loader adds to every staged row (not part of the source)."""


def release_arrow_memory() -> None:
    """Hand the pages Arrow's allocator keeps after a large export or load back to the OS.

    The three sync steps may run in one process (the in-process executor, the runner);
    without this the next step's DuckDB work stacks on ~200 MB a million rows left cached.
    """
    pa.default_memory_pool().release_unused()


def ensure_columns(session: WarehouseSession, table: Table) -> None:
    """Create the table, or add the contract's columns it lacks (additive evolution only)."""
    if not session.table_exists(table.schema, table.name):
        session.ensure_table(table)
        return
    have = {name for name, _ in session.columns(table.schema, table.name)}
    for column in table.columns:
        if column.name not in have:
            session.execute(
                f"alter table {table.qualified} add column {quote(column.name)} {column.sql_type}"
            )
