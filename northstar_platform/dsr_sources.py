"""The two systems DSR discovery searches, behind `lib/dsr_discovery.LookupSource`.

PostgreSQL goes through the platform's pooled `SourceDatabaseResource` (connect timeout,
UTC sessions), each lookup in its own transaction with `statement_timeout` lowered to
`NORTHSTAR_DSR_STATEMENT_TIMEOUT_S` by `set_config(..., is_local => true)`, so a slow lookup
is cancelled by the server instead of holding a pooled connection. The warehouse goes through
the run's open `WarehouseSession` (DuckDB, or Snowflake with `ocsp_fail_open=False` and the
login/network timeouts of the settings). Both return plain Python values (Decimal, UUID,
datetime, bytes, dict/list) for the lossless report.
"""

from collections.abc import Sequence
from typing import Any

import psycopg2
import psycopg2.extras

from northstar_platform.errors import SourceUnavailableError
from northstar_platform.lib.dsr_drift import LiveColumns
from northstar_platform.resources.source_db import SourceDatabaseResource
from northstar_platform.resources.warehouse import DuckDBSession, WarehouseSession

TRANSIENT_NAMES = {"IOException", "OperationalError", "InterfaceError", "TimeoutError"}
"""Driver error classes worth a retry (DuckDB's lock, Snowflake's network errors)."""


class PostgresSource:
    """The OLTP PostgreSQL."""

    system = "postgres"
    placeholder = "%s"

    def __init__(self, resource: SourceDatabaseResource, statement_timeout_s: int) -> None:
        self.resource = resource
        self.timeout_ms = str(statement_timeout_s * 1000)

    def fetch(self, sql: str, params: Sequence[Any]) -> tuple[list[str], list[tuple[Any, ...]]]:
        with self.resource.connection() as conn, conn.cursor() as cur:
            psycopg2.extras.register_uuid(conn_or_curs=cur)  # uuid.UUID, not its text
            cur.execute("select set_config('statement_timeout', %s, true)", (self.timeout_ms,))
            cur.execute(sql, list(params))
            names = [d.name for d in cur.description]
            return names, [tuple(r) for r in cur.fetchall()]

    def is_transient(self, exc: BaseException) -> bool:
        # QueryCanceled (statement_timeout) is an OperationalError too.
        return isinstance(exc, SourceUnavailableError | psycopg2.OperationalError)

    def live_columns(self, schemas: Sequence[str]) -> LiveColumns:
        _, rows = self.fetch(
            "select c.table_schema, c.table_name, c.column_name "
            "from information_schema.columns c join information_schema.tables t "
            "on t.table_schema = c.table_schema and t.table_name = c.table_name "
            "where t.table_type = 'BASE TABLE' and c.table_schema = any(%s)",
            [list(schemas)],
        )
        return _grouped(rows)


class WarehouseSource:
    """The warehouse, through the run's session."""

    system = "warehouse"
    placeholder = "?"

    def __init__(self, session: WarehouseSession) -> None:
        self.session = session

    def fetch(self, sql: str, params: Sequence[Any]) -> tuple[list[str], list[tuple[Any, ...]]]:
        connection = self.session.connection  # type: ignore[attr-defined]
        if isinstance(self.session, DuckDBSession):
            cur = connection.execute(sql, list(params))
            return [d[0].lower() for d in cur.description], [tuple(r) for r in cur.fetchall()]
        with connection.cursor() as cur:
            cur.execute(sql, list(params))
            return [d[0].lower() for d in cur.description], [tuple(r) for r in cur.fetchall()]

    def is_transient(self, exc: BaseException) -> bool:
        return isinstance(exc, TimeoutError | ConnectionError) or (
            type(exc).__name__ in TRANSIENT_NAMES
        )

    def live_columns(self, schemas: Sequence[str]) -> LiveColumns:
        marks = ", ".join("?" for _ in schemas)
        _, rows = self.fetch(
            "select lower(c.table_schema), lower(c.table_name), lower(c.column_name) "  # noqa: S608
            "from information_schema.columns c join information_schema.tables t "
            "on t.table_schema = c.table_schema and t.table_name = c.table_name "
            f"where t.table_type = 'BASE TABLE' and lower(c.table_schema) in ({marks})",
            list(schemas),
        )
        return _grouped(rows)


def _grouped(rows: Sequence[tuple[Any, ...]]) -> LiveColumns:
    live: dict[tuple[str, str], list[str]] = {}
    for schema, table, column in rows:
        live.setdefault((str(schema).lower(), str(table).lower()), []).append(str(column).lower())
    return live
