"""The warehouse: one interface, two backends (DuckDB embedded, Snowflake in production).

Assets talk to a `WarehouseSession` (qmark parameters, Arrow in and out, one transaction at a
time) and never to a driver, so the same asset code runs on both. DuckDB locks its file for
every other process while one holds it open, so sessions are short: open, write, close —
before any dbt step starts.
"""

from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import dagster as dg
import pyarrow as pa

from northstar_platform.errors import NorthstarError
from northstar_platform.layers import Table, quote, warehouse_schemas


class WarehouseSession(ABC):
    """An open connection to the warehouse."""

    @abstractmethod
    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        """Run one statement with `?` parameters."""

    @abstractmethod
    def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """All rows of one query."""

    @abstractmethod
    def fetch_arrow(self, sql: str, params: Sequence[Any] = ()) -> pa.Table:
        """One query's result as an Arrow table."""

    def fetch_arrow_batches(
        self, sql: str, params: Sequence[Any] = (), rows: int = 1 << 18
    ) -> Iterator[pa.RecordBatch]:
        """One query's result in Arrow batches of at most `rows` rows.

        Streamed where the driver can (DuckDB), so a large result is never held whole; here,
        fetched whole and then cut.
        """
        yield from self.fetch_arrow(sql, params).to_batches(rows)

    @abstractmethod
    def insert_arrow(self, table: Table, data: pa.Table) -> int:
        """Append `data` (columns named as the contract) to `table`; return the row count."""

    @abstractmethod
    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Everything inside commits together or not at all."""

    def fetchone(self, sql: str, params: Sequence[Any] = ()) -> tuple[Any, ...] | None:
        """The first row of one query, if any."""
        rows = self.fetchall(sql, params)
        return rows[0] if rows else None

    def ensure_table(self, table: Table) -> None:
        """Create the schema and the table of a contract if they do not exist yet.

        Contracts only ever gain columns (DESIGN §4), so a table created by an earlier version
        gets the missing ones added (nullable: its old rows have no value for them). A table
        that already has every column costs one catalog query and no DDL, so this is safe
        inside a transaction once the table exists (Snowflake commits at any DDL).
        """
        live = {name for name, _ in self.columns(table.schema, table.name)}
        if live and live.issuperset(table.column_names):
            return
        self.execute(f"create schema if not exists {quote(table.schema)}")
        self.execute(table.create_sql())
        live = {name for name, _ in self.columns(table.schema, table.name)}
        for column in table.columns:
            if column.name not in live:
                self.execute(
                    f"alter table {table.qualified} add column {quote(column.name)} "
                    f"{column.sql_type}"
                )

    def replace_partition(self, table: Table, partition_key: str, data: pa.Table) -> int:
        """Replace one partition of `table` with `data`.

        Call it inside `transaction()`, after `ensure_table()`: Snowflake commits the open
        transaction on any DDL, so tables are created before the transaction starts.
        """
        self.execute(f"delete from {table.qualified} where partition_key = ?", (partition_key,))  # noqa: S608
        return self.insert_arrow(table, data)

    def fetch_partition(self, table: Table, partition_key: str) -> pa.Table:
        """Every row of one partition of `table`, in contract column order."""
        columns = ", ".join(quote(c) for c in table.column_names)
        return self.fetch_arrow(
            f"select {columns} from {table.qualified} where partition_key = ?",  # noqa: S608
            (partition_key,),
        )

    def ensure_schemas(self) -> None:
        """Create every layer's schema (the shadow ones in shadow mode; `ops` is shared)."""
        for schema in warehouse_schemas():
            self.execute(f"create schema if not exists {quote(schema)}")

    def table_exists(self, schema: str, name: str) -> bool:
        """Whether `schema.name` exists (table or view)."""
        row = self.fetchone(
            "select count(*) from information_schema.tables "
            "where lower(table_schema) = lower(?) and lower(table_name) = lower(?)",
            (schema, name),
        )
        return bool(row and row[0])

    def columns(self, schema: str, name: str) -> list[tuple[str, str]]:
        """(column, data type) of a table, in order, names lower-cased."""
        rows = self.fetchall(
            "select lower(column_name), upper(data_type) from information_schema.columns "
            "where lower(table_schema) = lower(?) and lower(table_name) = lower(?) "
            "order by ordinal_position",
            (schema, name),
        )
        return [(str(c), str(t)) for c, t in rows]


STREAM_MEMORY_LIMIT = "256MB"
"""DuckDB's buffer pool while a result is streamed (`DuckDBSession.fetch_arrow_batches`)."""


class DuckDBSession(WarehouseSession):
    """A DuckDB connection (the embedded default)."""

    def __init__(self, connection: Any) -> None:
        self.connection = connection

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        self.connection.execute(sql, list(params))

    def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self.connection.execute(sql, list(params)).fetchall()

    def fetch_arrow(self, sql: str, params: Sequence[Any] = ()) -> pa.Table:
        return self.connection.sql(sql, params=list(params)).to_arrow_table()

    def fetch_arrow_batches(
        self, sql: str, params: Sequence[Any] = (), rows: int = 1 << 18
    ) -> Iterator[pa.RecordBatch]:
        """Streamed with DuckDB's buffer pool capped at `STREAM_MEMORY_LIMIT`.

        A scan leaves every block it read cached, up to DuckDB's default limit of 80% of RAM:
        streaming a day of raw Stripe lines (~1 GB on disk) kept ~0.9 GB resident next to the
        Python side's work. A streamed result is read once, so the cache only costs memory.
        The limit goes back to DuckDB's default afterwards (sessions never set another).
        """
        self.connection.execute(f"set memory_limit = '{STREAM_MEMORY_LIMIT}'")
        reader = self.connection.sql(sql, params=list(params)).to_arrow_reader(rows)
        try:
            yield from reader
        finally:
            reader.close()
            self.connection.execute("reset memory_limit")

    def insert_arrow(self, table: Table, data: pa.Table) -> int:
        if data.num_rows == 0:
            return 0
        columns = ", ".join(quote(c) for c in table.column_names)
        # A relation, not `register`: DuckDB 2.0 keeps a registered table referenced until the
        # transaction ends, so a partition written in many inserts held all of them in memory.
        self.connection.from_arrow(data.select(table.column_names)).query(
            "_northstar_incoming",
            f"insert into {table.qualified} ({columns}) "  # noqa: S608
            f"select {columns} from _northstar_incoming",
        )
        return data.num_rows

    @contextmanager
    def transaction(self) -> Iterator[None]:
        self.connection.execute("begin transaction")
        try:
            yield
        except BaseException:
            self.connection.execute("rollback")
            raise
        self.connection.execute("commit")


class SnowflakeSession(WarehouseSession):
    """A Snowflake connector connection opened with `paramstyle='qmark'`."""

    def __init__(self, connection: Any) -> None:
        self.connection = connection

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        with self.connection.cursor() as cur:
            cur.execute(sql, list(params))

    def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self.connection.cursor() as cur:
            cur.execute(sql, list(params))
            return [tuple(row) for row in cur.fetchall()]

    def fetch_arrow(self, sql: str, params: Sequence[Any] = ()) -> pa.Table:
        """Typed from the result's column types, as DuckDB's Arrow results are: a column that
        is NULL in every row stays a timestamp (or int, ...), not Arrow's `null` type, which
        polars cannot subtract or compare. (The connector's own `fetch_arrow_all` needs
        pandas, which the platform does not install.)"""
        with self.connection.cursor() as cur:
            cur.execute(sql, list(params))
            description = list(cur.description)
            rows = cur.fetchall()
        columns = list(zip(*rows, strict=True)) if rows else [() for _ in description]
        arrays = [_arrow_array(values, d) for values, d in zip(columns, description, strict=True)]
        return pa.table(arrays, names=[d.name.lower() for d in description])

    def insert_arrow(self, table: Table, data: pa.Table) -> int:
        if data.num_rows == 0:
            return 0
        names = table.column_names
        columns = ", ".join(quote(c) for c in names)
        marks = ", ".join("?" for _ in names)
        rows = [tuple(r[c] for c in names) for r in _bindable(data.select(names)).to_pylist()]
        with self.connection.cursor() as cur:
            insert = f"insert into {table.qualified} ({columns}) values ({marks})"  # noqa: S608
            cur.executemany(insert, rows)
        return data.num_rows

    @contextmanager
    def transaction(self) -> Iterator[None]:
        self.execute("begin")
        try:
            yield
        except BaseException:
            self.execute("rollback")
            raise
        self.execute("commit")


def _arrow_array(values: Sequence[Any], column: Any) -> pa.Array:
    """One result column as Arrow, typed by its Snowflake type (a connector `ResultMetadata`)."""
    from snowflake.connector.constants import FIELD_ID_TO_NAME

    kind = FIELD_ID_TO_NAME.get(column.type_code, "")
    if kind == "FIXED" and column.scale:
        # A scaled NUMBER arrives as Decimal; here it is a ratio (DuckDB gives a double).
        return pa.array(values, pa.decimal128(38, column.scale)).cast(pa.float64())
    if kind == "FIXED":
        return pa.array(values, pa.int64())
    if kind in ("TIMESTAMP_TZ", "TIMESTAMP_LTZ"):
        return pa.array(values, pa.timestamp("us", tz="UTC"))
    return pa.array(values, SNOWFLAKE_ARROW_TYPES.get(kind, pa.string()))


SNOWFLAKE_ARROW_TYPES = {
    "REAL": pa.float64(),
    "TEXT": pa.string(),
    "BOOLEAN": pa.bool_(),
    "DATE": pa.date32(),
    "TIME": pa.time64("us"),
    "TIMESTAMP_NTZ": pa.timestamp("us"),
    "BINARY": pa.binary(),
}
"""Arrow types of the Snowflake result types that map one to one (VARIANT & co. are text)."""


def _bindable(data: pa.Table) -> pa.Table:
    """`data` with dates and timestamps as ISO text, which Snowflake casts to the column's type.

    The connector binds a datetime as epoch nanoseconds and, in a batch where the column also
    holds NULLs, as untyped text: Snowflake then guesses the epoch's scale, the emulator
    fails. ISO text means one thing to both. Timestamps are UTC (DESIGN §4): an aware one
    loses only its `+00:00`.
    """
    columns = []
    for column in data.columns:
        if pa.types.is_timestamp(column.type):
            naive = column.cast(pa.timestamp(column.type.unit)) if column.type.tz else column
            column = naive.cast(pa.string())
        elif pa.types.is_date(column.type):
            column = column.cast(pa.string())
        columns.append(column)
    return pa.Table.from_arrays(columns, names=data.column_names)


def _secret(value: str | None) -> str | None:
    """A secret field's value: resources built by `build_warehouse` hold secrets as
    `dg.EnvVar` (the UI shows the variable's name), which Dagster resolves when it runs a step
    but a command calling `connect()` directly must read itself."""
    return value.get_value() if isinstance(value, dg.EnvVar) else value


class WarehouseResource(dg.ConfigurableResource, ABC):
    """Hands out sessions on the configured warehouse."""

    @abstractmethod
    @contextmanager
    def connect(self, read_only: bool = False) -> Iterator[WarehouseSession]:
        """An open session, closed when the block ends."""


class DuckDBWarehouse(WarehouseResource):
    """The embedded DuckDB file (`NORTHSTAR_DUCKDB_PATH`)."""

    path: str

    @contextmanager
    def connect(self, read_only: bool = False) -> Iterator[WarehouseSession]:
        import duckdb

        if read_only and not Path(self.path).exists():
            raise NorthstarError(
                f"the warehouse {self.path} does not exist yet; run `northstar demo` "
                "or `northstar materialize` first"
            )
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        try:
            connection = duckdb.connect(self.path, read_only=read_only)
        except duckdb.IOException as exc:
            if "lock" in str(exc).lower():
                raise NorthstarError(
                    f"the warehouse {self.path} is locked by another process (a run in "
                    "progress, or an open client); wait for it to finish and try again"
                ) from None
            raise
        try:
            connection.execute("set timezone = 'UTC'")
            session = DuckDBSession(connection)
            if not read_only:
                session.ensure_schemas()
            yield session
        finally:
            connection.close()


class SnowflakeWarehouse(WarehouseResource):
    """Snowflake through dagster-snowflake, OCSP fail-closed, qmark parameters."""

    account: str
    user: str
    role: str
    warehouse: str
    database: str
    password: str | None = None
    private_key_path: str | None = None
    private_key_passphrase: str | None = None
    host: str | None = None
    port: int | None = None
    protocol: str = "https"
    login_timeout_s: int = 30
    network_timeout_s: int = 300

    @contextmanager
    def connect(self, read_only: bool = False) -> Iterator[WarehouseSession]:
        # dagster_snowflake imports Snowpark eagerly (≈10 s): only pay it when chosen.
        from dagster_snowflake import SnowflakeResource

        extra: dict[str, Any] = {"ocsp_fail_open": False, "protocol": self.protocol}
        if self.host:
            extra["host"] = self.host
        if self.port:
            extra["port"] = self.port
        resource = SnowflakeResource(
            account=self.account,
            user=self.user,
            password=_secret(self.password),
            private_key_path=self.private_key_path,
            private_key_password=_secret(self.private_key_passphrase),
            role=self.role,
            warehouse=self.warehouse,
            database=self.database,
            paramstyle="qmark",
            login_timeout=self.login_timeout_s,
            network_timeout=self.network_timeout_s,
            additional_snowflake_connection_args=extra,
        )
        with resource.get_connection() as connection:
            session = SnowflakeSession(connection)
            if not read_only:
                session.ensure_schemas()
            yield session
