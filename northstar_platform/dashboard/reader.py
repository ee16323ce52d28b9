"""Opening the warehouse for one dashboard request, and the window a page covers.

Readers outside a run open the embedded warehouse read-only and close it at once (DESIGN §3):
while a run holds DuckDB's lock the page says so (`WarehouseBusyError`) instead of failing.
"""

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from northstar_platform.errors import NorthstarError
from northstar_platform.layers import Table, quote
from northstar_platform.resources.warehouse import DuckDBSession, WarehouseSession
from northstar_platform.settings import Settings


def production(table: Table) -> str:
    """`"layer"."table"`: the dashboard reviews production whatever the process's shadow
    setting (the ops tables are shared and carry an `environment` instead)."""
    return f"{quote(table.layer.value)}.{quote(table.name)}"


class WarehouseBusyError(NorthstarError):
    """A run holds the embedded warehouse's lock: the reader should come back in a moment."""


@dataclass(frozen=True)
class Window:
    """The days a page covers, both ends included (UTC)."""

    first: dt.date
    last: dt.date

    @classmethod
    def ending(cls, last: dt.date, days: int) -> "Window":
        """`days` days up to and including `last`."""
        if days < 1:
            raise ValueError(f"days must be at least 1, got {days}")
        return cls(last - dt.timedelta(days=days - 1), last)

    @property
    def start(self) -> dt.datetime:
        """The window's first instant (naive UTC, as the warehouse stores timestamps)."""
        return dt.datetime.combine(self.first, dt.time())

    @property
    def stop(self) -> dt.datetime:
        """The first instant after the window."""
        return dt.datetime.combine(self.last + dt.timedelta(days=1), dt.time())


@contextmanager
def open_reader(settings: Settings) -> Iterator[WarehouseSession]:
    """A read-only session for one request, closed when the block ends.

    An embedded warehouse file that does not exist yet (nothing has run) reads as an empty
    in-memory database: every panel says "no data yet", and no file is created.
    """
    if settings.snowflake is not None:
        from northstar_platform.defs.resources import build_warehouse

        with build_warehouse(settings).connect(read_only=True) as session:
            yield session
        return
    import duckdb

    path = settings.duckdb_path
    try:
        if path.exists():
            connection = duckdb.connect(str(path), read_only=True)
        else:
            connection = duckdb.connect(":memory:")
    except duckdb.IOException as exc:
        if "lock" in str(exc).lower():
            raise WarehouseBusyError(
                f"the warehouse is busy: a run holds {path}; reload in a moment"
            ) from None
        raise
    try:
        connection.execute("set timezone = 'UTC'")
        yield DuckDBSession(connection)
    finally:
        connection.close()


def exists(session: WarehouseSession, table: Table) -> bool:
    """Whether production's `table` exists yet (a fresh warehouse has none)."""
    return session.table_exists(table.layer.value, table.name)


def iso_day(value: Any) -> str:
    """ISO day of a DATE or TIMESTAMP value."""
    return (value.date() if isinstance(value, dt.datetime) else value).isoformat()
