"""PostgreSQL column types → Arrow types (for COPY parsing) and portable warehouse types."""

from dataclasses import dataclass

import pyarrow as pa

from northstar_platform.errors import SourceQueryError


@dataclass(frozen=True)
class SourceColumn:
    """One column of a source table as information_schema describes it."""

    name: str
    data_type: str
    """information_schema.columns.data_type, e.g. `timestamp without time zone`."""

    @property
    def arrow_type(self) -> pa.DataType:
        """How the column is parsed out of COPY and stored in parquet."""
        return _mapping(self)[0]

    @property
    def sql_type(self) -> str:
        """The warehouse type (DuckDB and Snowflake alike)."""
        return _mapping(self)[1]

    @property
    def select_expression(self) -> str:
        """How the export selects it: zone-aware timestamps as naive UTC (sessions run in UTC)."""
        quoted = f'"{self.name}"'
        if self.data_type == "timestamp with time zone":
            return f"{quoted}::timestamp as {quoted}"
        if self.data_type in ("json", "jsonb", "uuid", "numeric"):
            return f"{quoted}::text as {quoted}"
        return quoted


TYPES: dict[str, tuple[pa.DataType, str]] = {
    "text": (pa.string(), "VARCHAR"),
    "character varying": (pa.string(), "VARCHAR"),
    "character": (pa.string(), "VARCHAR"),
    "uuid": (pa.string(), "VARCHAR"),
    "json": (pa.string(), "VARCHAR"),
    "jsonb": (pa.string(), "VARCHAR"),
    "numeric": (pa.string(), "VARCHAR"),
    "bigint": (pa.int64(), "BIGINT"),
    "integer": (pa.int64(), "BIGINT"),
    "smallint": (pa.int64(), "BIGINT"),
    "boolean": (pa.bool_(), "BOOLEAN"),
    "double precision": (pa.float64(), "DOUBLE"),
    "real": (pa.float64(), "DOUBLE"),
    "date": (pa.date32(), "DATE"),
    "timestamp without time zone": (pa.timestamp("us"), "TIMESTAMP"),
    "timestamp with time zone": (pa.timestamp("us"), "TIMESTAMP"),
}
"""numeric travels as text: exact, never rounded through a float."""


def _mapping(column: SourceColumn) -> tuple[pa.DataType, str]:
    try:
        return TYPES[column.data_type]
    except KeyError:
        raise SourceQueryError(
            f"source column {column.name} has type {column.data_type!r}, which the sync does "
            f"not map yet; supported: {', '.join(sorted(TYPES))}"
        ) from None


def arrow_schema(columns: list[SourceColumn]) -> pa.Schema:
    """The Arrow schema of an export."""
    return pa.schema([(c.name, c.arrow_type) for c in columns])
