"""The warehouse side of the PostgreSQL sync: table contracts and the SQL that merges.

STAGING is the append-only `raw.raw_<table>` (every exported row, as landed); FINAL is
`curated.<table>_latest`, one row per primary key (DESIGN §2). Every identifier comes from a
validated `SyncTable` or the source's information_schema and is quoted.
"""

import pyarrow as pa

from northstar_platform.layers import (
    LOADER_COLUMNS,
    QUARANTINE_COLUMNS,
    Column,
    Layer,
    Table,
    quote,
)
from northstar_platform.lib.pg_types import SourceColumn
from northstar_platform.lib.sync_config import SyncTable

SYNC_MERGES = Table(
    Layer.OPS,
    "sync_merges",
    (
        Column("table_name", "VARCHAR", nullable=False),
        Column("source_file", "VARCHAR", nullable=False),
        Column("run_id", "VARCHAR", nullable=False),
        Column("merged_at", "TIMESTAMP", nullable=False),
    ),
)
"""Which landed files FINAL has absorbed: the rest are pending."""

SYNC_LOADS = Table(
    Layer.OPS,
    "sync_loads",
    (
        Column("table_name", "VARCHAR", nullable=False),
        Column("source_file", "VARCHAR", nullable=False),
        Column("rows_loaded", "BIGINT", nullable=False),
        Column("run_id", "VARCHAR", nullable=False),
        Column("loaded_at", "TIMESTAMP", nullable=False),
    ),
)
"""Which landed files STAGING has appended (empty exports included), and how many rows."""

SYNC_RUNS = Table(
    Layer.OPS,
    "sync_runs",
    (
        Column("table_name", "VARCHAR", nullable=False),
        Column("run_id", "VARCHAR", nullable=False),
        Column("mode", "VARCHAR", nullable=False),
        Column("files", "BIGINT", nullable=False),
        Column("rows_in", "BIGINT", nullable=False),
        Column("dead_lettered", "BIGINT", nullable=False),
        Column("superseded", "BIGINT", nullable=False),
        Column("inserted", "BIGINT", nullable=False),
        Column("updated", "BIGINT", nullable=False),
        Column("unchanged", "BIGINT", nullable=False),
        Column("final_rows_before", "BIGINT", nullable=False),
        Column("final_rows_after", "BIGINT", nullable=False),
        Column("merged_at", "TIMESTAMP", nullable=False),
    ),
)
"""One row per merge: the row-count accounting the `row_count_delta` check verifies."""

DEAD_LETTER_REVIEWS = Table(
    Layer.OPS,
    "dead_letter_reviews",
    (
        Column("source", "VARCHAR", nullable=False),
        Column("source_file", "VARCHAR", nullable=False),
        Column("line_no", "BIGINT", nullable=False),
        Column("reviewed_by", "VARCHAR", nullable=False),
        Column("reviewed_at", "TIMESTAMP", nullable=False),
    ),
)


ARROW_SQL_TYPES = {
    "string": "VARCHAR",
    "large_string": "VARCHAR",
    "int64": "BIGINT",
    "int32": "BIGINT",
    "bool": "BOOLEAN",
    "double": "DOUBLE",
    "date32[day]": "DATE",
    "timestamp[us]": "TIMESTAMP",
}


def columns_of_export(schema: pa.Schema) -> tuple[Column, ...]:
    """Warehouse columns of an exported parquet file (its schema is the source's, typed)."""
    return tuple(Column(f.name, ARROW_SQL_TYPES[str(f.type)]) for f in schema)


def columns_of_source(columns: list[SourceColumn]) -> tuple[Column, ...]:
    """The source's columns in warehouse types."""
    return tuple(Column(c.name, c.sql_type) for c in columns)


def staging_table(table: SyncTable, columns: tuple[Column, ...]) -> Table:
    """`raw.raw_<table>`: the export's columns plus where each row came from."""
    return Table(Layer.RAW, f"raw_{table.name}", columns + LOADER_COLUMNS)


def final_table(table: SyncTable, columns: tuple[Column, ...]) -> Table:
    """`curated.<table>_latest`: one row per primary key, soft deletes flagged."""
    extra = () if table.soft_delete_col == "is_deleted" else (Column("is_deleted", "BOOLEAN"),)
    lineage = (
        Column("source_file", "VARCHAR"),
        Column("line_no", "BIGINT"),
        Column("ingested_ts", "TIMESTAMP"),
        Column("run_id", "VARCHAR"),
    )
    return Table(Layer.CURATED, f"{table.name}_latest", columns + extra + lineage)


def dead_letter_table(table: SyncTable) -> Table:
    """`staging.quarantine_<table>`: rows that could not be merged (DESIGN §4)."""
    return Table(Layer.STAGING, f"quarantine_{table.name}", QUARANTINE_COLUMNS)


def _keys(table: SyncTable, alias: str) -> str:
    return " and ".join(f"{alias}.{quote(k)} is not null" for k in table.primary_keys)


def pending_rows_sql(table: SyncTable, staging: Table) -> str:
    """Rows of landed files FINAL has not absorbed yet (parameter: table name)."""
    return (
        f"select * from {staging.qualified} where source_file not in "  # noqa: S608
        f"(select source_file from {SYNC_MERGES.qualified} where table_name = ?)"
    )


def batch_sql(table: SyncTable, staging: Table, columns: list[str]) -> str:
    """The newest pending version of each primary key: (watermark, arrival, file, line) desc.

    Rows without a primary key or watermark are left out: they are dead letters.
    Parameter: the table name.
    """
    keys = ", ".join(quote(k) for k in table.primary_keys)
    wm = quote(table.watermark_col)
    names = ", ".join(quote(c) for c in columns)
    return (
        f"select {names}, source_file, line_no, ingested_ts "  # noqa: S608
        f"from ({pending_rows_sql(table, staging)}) as pending "
        f"where {_keys(table, 'pending')} and pending.{wm} is not null "
        f"qualify row_number() over (partition by {keys} "
        f"order by {wm} desc, ingested_ts desc, source_file desc, line_no desc) = 1"
    )


def _match(table: SyncTable, columns: list[str]) -> tuple[str, str]:
    """(join condition on the keys, predicate "the incoming version replaces the stored one")."""
    on = " and ".join(f"tgt.{quote(k)} = src.{quote(k)}" for k in table.primary_keys)
    wm = quote(table.watermark_col)
    values = [c for c in columns if c not in table.primary_keys]
    differs = " or ".join(f"tgt.{quote(c)} is distinct from src.{quote(c)}" for c in values)
    newer = f"src.{wm} > tgt.{wm}" + (
        f" or (src.{wm} = tgt.{wm} and ({differs}))" if differs else ""
    )
    return on, newer


def _assignments(table: SyncTable, columns: list[str]) -> tuple[list[str], list[str]]:
    """(FINAL columns a batch row sets besides the keys, their values from `src`).

    The run id is the one `?` among the values.
    """
    soft = table.soft_delete_col
    deleted = f"coalesce(src.{quote(soft)}, false)" if soft else "false"
    targets = [c for c in columns if c not in table.primary_keys]
    values = [f"src.{quote(c)}" for c in targets]
    if soft != "is_deleted":
        targets.append("is_deleted")
        values.append(deleted)
    targets += ["source_file", "line_no", "ingested_ts", "run_id"]
    values += ["src.source_file", "src.line_no", "src.ingested_ts", "?"]
    return targets, values


def merge_sql(table: SyncTable, staging: Table, final: Table, columns: list[str]) -> str:
    """MERGE the batch into FINAL on the primary keys.

    A matched row is updated only when the incoming watermark is newer, or equal with other
    content (two commits in the same instant); so merging the same files again changes
    nothing. Parameters: the table name, then the run id twice.
    """
    on, newer = _match(table, columns)
    targets, values = _assignments(table, columns)
    updates = ", ".join(f"{quote(t)} = {v}" for t, v in zip(targets, values, strict=True))
    inserted = [*table.primary_keys, *targets]
    inserted_values = [f"src.{quote(k)}" for k in table.primary_keys] + values
    return (
        f"merge into {final.qualified} as tgt "  # noqa: S608
        f"using ({batch_sql(table, staging, columns)}) as src on {on} "
        f"when matched and ({newer}) then update set {updates} "
        f"when not matched then insert ({', '.join(quote(c) for c in inserted)}) "
        f"values ({', '.join(inserted_values)})"
    )


def insert_batch_sql(table: SyncTable, staging: Table, final: Table, columns: list[str]) -> str:
    """What `merge_sql` does when FINAL is empty: insert every row of the batch.

    Nothing can match, so the MERGE's "not matched" branch is the whole statement; a plain
    INSERT writes the same rows without the join. Parameters: the run id, then the table
    name.
    """
    targets, values = _assignments(table, columns)
    inserted = [*table.primary_keys, *targets]
    inserted_values = [f"src.{quote(k)}" for k in table.primary_keys] + values
    return (
        f"insert into {final.qualified} ({', '.join(quote(c) for c in inserted)}) "  # noqa: S608
        f"select {', '.join(inserted_values)} "
        f"from ({batch_sql(table, staging, columns)}) as src"
    )


def batch_accounting_sql(table: SyncTable, staging: Table, final: Table, columns: list[str]) -> str:
    """(batch rows, of them matched in FINAL, of those the merge will update).

    Run before the merge in the same transaction: with `merge_sql`'s predicate it splits
    the batch into inserted, updated and unchanged rows. Parameter: the table name.
    """
    on, newer = _match(table, columns)
    found = f"tgt.{quote(table.primary_keys[0])} is not null"
    return (
        "select count(*), "  # noqa: S608
        f"coalesce(sum(case when {found} then 1 else 0 end), 0), "
        f"coalesce(sum(case when {found} and ({newer}) then 1 else 0 end), 0) "
        f"from ({batch_sql(table, staging, columns)}) as src "
        f"left join {final.qualified} as tgt on {on}"
    )
