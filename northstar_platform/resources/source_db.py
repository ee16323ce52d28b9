"""The source PostgreSQL: a psycopg2 connection pool with connect and statement timeouts.

Exports stream out with `COPY (query) TO STDOUT` rather than row-by-row fetches: COPY is the
fastest way out of PostgreSQL and keeps memory flat on the client.
"""

import os
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlparse

import dagster as dg
import psycopg2
import psycopg2.errors
import psycopg2.pool
import pyarrow as pa
import pyarrow.csv as pacsv
from pydantic import PrivateAttr

from northstar_platform.errors import (
    SourceConnectionLostError,
    SourceQueryError,
    SourceUnavailableError,
)
from northstar_platform.lib.pg_types import SourceColumn

RETRY_BASE_S = 1.0
"""First back-off of a retried export; doubles on every further attempt."""

START_HINT = (
    "start PostgreSQL (pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start) "
    "or set NORTHSTAR_SOURCE_DSN"
)


def describe_dsn(dsn: str) -> str:
    """`host:port/db` of a DSN, without user or password, for messages."""
    parsed = urlparse(dsn)
    return f"{parsed.hostname or 'localhost'}:{parsed.port or 5432}{parsed.path or ''}"


class SourceDatabaseResource(dg.ConfigurableResource):
    """The OLTP PostgreSQL that orders, customers and core preferences are read from."""

    dsn: str
    """A `postgresql://` URL; never logged (it may carry a password)."""
    connect_timeout_s: int = 10
    """Seconds to wait for a connection before failing the step."""
    statement_timeout_s: int = 300
    """Seconds one statement may run on the source before PostgreSQL cancels it."""
    max_connections: int = 4

    _pool: psycopg2.pool.ThreadedConnectionPool | None = PrivateAttr(default=None)

    def _get_pool(self) -> psycopg2.pool.ThreadedConnectionPool:
        if self._pool is None:
            try:
                self._pool = psycopg2.pool.ThreadedConnectionPool(
                    1,
                    self.max_connections,
                    self.dsn,
                    connect_timeout=self.connect_timeout_s,
                    # UTC sessions: `timestamptz` columns compare with naive UTC bounds and
                    # render in UTC whatever the server's or database's default zone is.
                    options=f"-c statement_timeout={self.statement_timeout_s * 1000} "
                    "-c TimeZone=UTC",
                    application_name="northstar",
                )
            except psycopg2.OperationalError as exc:
                first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else "no answer"
                raise SourceUnavailableError(
                    f"source PostgreSQL {describe_dsn(self.dsn)} is unreachable ({first_line}); "
                    f"{START_HINT}"
                ) from None
        return self._pool

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        self.close()

    def close(self) -> None:
        """Close every pooled connection."""
        if self._pool is not None:
            self._pool.closeall()
            self._pool = None

    @contextmanager
    def connection(self) -> Iterator[Any]:
        """A pooled connection; committed on success, rolled back on error."""
        pool = self._get_pool()
        conn = pool.getconn()
        try:
            yield conn
            conn.commit()
        except Exception:
            if not conn.closed:
                conn.rollback()
            raise
        finally:
            # A connection the server dropped is discarded, not handed out again.
            pool.putconn(conn, close=bool(conn.closed))

    def fetchall(self, query: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Rows of a parameterized query (`%s` placeholders)."""
        with self.connection() as conn, conn.cursor() as cur:
            cur.execute(query, params)
            return cur.fetchall()

    def columns(self, schema: str, table: str) -> list[SourceColumn]:
        """The columns of `schema.table` in order; a missing table raises naming it."""
        rows = self.fetchall(
            "select column_name, data_type from information_schema.columns "
            "where table_schema = %s and table_name = %s order by ordinal_position",
            (schema, table),
        )
        if not rows:
            raise SourceQueryError(
                f"source table {schema}.{table} does not exist in {describe_dsn(self.dsn)} "
                "(or this user cannot see it); fix the sync configuration or the DSN"
            )
        return [SourceColumn(name=str(n), data_type=str(t)) for n, t in rows]

    def copy_to_arrow(
        self, query: str, params: Sequence[Any], schema: pa.Schema, attempts: int = 3
    ) -> pa.Table:
        """`_copy_to_arrow`, retried with exponential backoff when the connection drops.

        Only connection-level failures are retried (a dropped server, a network blip); a
        query error (missing column, permission) fails at once.
        """
        for attempt in range(1, attempts + 1):
            try:
                return self._copy_to_arrow(query, params, schema)
            except SourceConnectionLostError:
                if attempt == attempts:
                    raise
                time.sleep(RETRY_BASE_S * 2 ** (attempt - 1))
        raise AssertionError("unreachable")

    def _copy_to_arrow(self, query: str, params: Sequence[Any], schema: pa.Schema) -> pa.Table:
        """Stream `query` out with COPY ... TO STDOUT (CSV) and parse it with `schema`.

        Parameters are bound by psycopg2 (`mogrify`), never formatted into the SQL by hand.
        NULL travels as an unquoted empty field, an empty string as `""`, so the two stay
        distinct. The CSV is parsed while PostgreSQL is still sending it (`_stream_copy`),
        so the whole text never sits in memory and the two overlap on separate cores.
        """
        try:
            with self.connection() as conn, conn.cursor() as cur:
                bound = cur.mogrify(query, params).decode()
                return _stream_copy(
                    cur, f"COPY ({bound}) TO STDOUT WITH (FORMAT csv, HEADER true)", schema
                )
        except psycopg2.errors.QueryCanceled:
            raise SourceQueryError(
                f"export from source PostgreSQL {describe_dsn(self.dsn)} exceeded "
                f"statement_timeout ({self.statement_timeout_s} s); raise "
                "NORTHSTAR_SOURCE_STATEMENT_TIMEOUT_S or export smaller batches"
            ) from None
        except psycopg2.OperationalError as exc:
            detail = str(exc).strip().splitlines()[0] if str(exc).strip() else "connection lost"
            raise SourceConnectionLostError(
                f"connection to source PostgreSQL {describe_dsn(self.dsn)} was lost: {detail}"
            ) from None
        except psycopg2.Error as exc:
            detail = (exc.pgerror or str(exc)).strip().splitlines()[0]
            raise SourceQueryError(
                f"query on source PostgreSQL {describe_dsn(self.dsn)} failed: {detail}"
            ) from None


CSV_CONVERT = {
    "strings_can_be_null": True,
    "quoted_strings_can_be_null": False,
    "null_values": [""],
    "true_values": ["t"],
    "false_values": ["f"],
    "timestamp_parsers": [pacsv.ISO8601],
}
"""How COPY's CSV reads back: unquoted empty = NULL, `""` = empty string, t/f booleans."""

PIPE_BUFFER = 1 << 20


def _stream_copy(cur: Any, copy_sql: str, schema: pa.Schema) -> pa.Table:
    """Run `copy_sql` on `cur` in a thread writing into a pipe; parse the pipe as it fills.

    psycopg2 releases the GIL while it waits for PostgreSQL and pyarrow while it parses, so
    the server's COPY and the client's parsing run at the same time. A COPY error is raised
    as psycopg2 raised it; a parse error is raised once the COPY has finished (the rest of
    the stream is read and dropped), so the connection is never left mid-COPY.
    """
    read_fd, write_fd = os.pipe()
    failure: list[BaseException] = []

    def copy() -> None:
        with os.fdopen(write_fd, "wb", buffering=PIPE_BUFFER) as sink:
            try:
                cur.copy_expert(copy_sql, sink)
            except BaseException as exc:  # re-raised in the caller's thread
                failure.append(exc)

    writer = threading.Thread(target=copy, name="northstar-copy", daemon=True)
    with os.fdopen(read_fd, "rb", buffering=PIPE_BUFFER) as stream:
        writer.start()
        try:
            table = _parse_csv(stream, schema)
        except BaseException:
            while stream.read(PIPE_BUFFER):
                pass
            writer.join()
            if failure:
                raise failure[0] from None
            raise
        writer.join()
    if failure:
        raise failure[0]
    return table


def _parse_csv(stream: Any, schema: pa.Schema) -> pa.Table:
    if not stream.peek(1):
        return schema.empty_table()
    reader = pacsv.open_csv(
        stream,
        read_options=pacsv.ReadOptions(block_size=PIPE_BUFFER),
        # COPY quotes text holding newlines; without this a value with a newline that falls
        # across a parse block boundary desynchronizes the parser.
        parse_options=pacsv.ParseOptions(newlines_in_values=True),
        convert_options=pacsv.ConvertOptions(
            column_types=schema, include_columns=schema.names, **CSV_CONVERT
        ),
    )
    table = reader.read_all()
    # Whatever stays unread after a complete parse (nothing, normally) is drained by the
    # caller's `with` only on error; read it here so the writer can always finish.
    while stream.read(PIPE_BUFFER):
        pass
    return table.select(schema.names)
