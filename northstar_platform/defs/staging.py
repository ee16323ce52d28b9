"""What every landing and staging step shares: a raw partition replaced file by file, and two
staging outputs (valid rows, held rows) written together."""

from collections.abc import Iterable

import dagster as dg
import pyarrow as pa

from northstar_platform.layers import Table
from northstar_platform.lib.quarantine import refresh_quarantine_view
from northstar_platform.resources.warehouse import WarehouseSession
from northstar_platform.settings import warehouse_kind


def staging_outs(
    staged: Table, held: Table, staged_doc: str, held_doc: str
) -> dict[str, dg.AssetOut]:
    """The two outputs of a staging multi-asset: staging rows and quarantined rows."""
    return {
        staged.name: dg.AssetOut(
            key=staged.asset_key, description=staged_doc, kinds={warehouse_kind()}
        ),
        held.name: dg.AssetOut(key=held.asset_key, description=held_doc, kinds={warehouse_kind()}),
    }


Rows = pa.Table | Iterable[pa.Table]
"""One Arrow table, or chunks of one (a large partition is converted a chunk at a time)."""


def write_raw_partition(
    session: WarehouseSession, table: Table, partition_key: str, files: Iterable[pa.Table]
) -> int:
    """Replace one raw partition with the rows of each landed file, in one transaction.

    `files` is consumed one table at a time, so a day of large files never sits in memory at
    once; Arrow's freed pages are handed back afterwards (staging allocates elsewhere).
    """
    session.ensure_table(table)
    rows = 0
    with session.transaction():
        session.replace_partition(table, partition_key, pa.table({}))
        for landed in files:
            rows += session.insert_arrow(table, landed)
    pa.default_memory_pool().release_unused()
    return rows


def write_staged_partition(
    session: WarehouseSession,
    partition_key: str,
    staged: tuple[Table, Rows],
    held: tuple[Table, Rows],
) -> None:
    """Replace one partition of staging and of its quarantine in one transaction.

    Tables and the `quarantine_records` view are created first: DDL would commit an open
    Snowflake transaction.
    """
    for table, _ in (staged, held):
        session.ensure_table(table)
    refresh_quarantine_view(session)
    with session.transaction():
        for table, rows in (staged, held):
            if isinstance(rows, pa.Table):
                session.replace_partition(table, partition_key, rows)
                continue
            session.replace_partition(table, partition_key, pa.table({}))
            for chunk in rows:
                session.insert_arrow(table, chunk)


def staging_results(
    staged: Table, held: Table, counts: dict[str, int]
) -> tuple[dg.MaterializeResult, dg.MaterializeResult]:
    """The two materializations of a staging step, both carrying the row accounting."""
    return (
        dg.MaterializeResult(asset_key=staged.asset_key, metadata=counts),
        dg.MaterializeResult(asset_key=held.asset_key, metadata=counts),
    )
