"""The demo's PostgreSQL source: create the database, guard foreign data, bulk-load the tables.

Tables are replaced in one transaction (readers see the old demo or the new one, never half)
and loaded with `COPY ... FROM STDIN`, which is what keeps a default-scale generation within
seconds. The marker table `northstar_demo_marker` is how a later generation knows the tables
are the demo's to drop: a database holding source tables without it is refused.
"""

import io
import json
from collections.abc import Iterable, Sequence
from typing import Any

import psycopg2
import psycopg2.extensions
from psycopg2 import sql

from northstar_platform.demo.customers_data import Customer
from northstar_platform.demo.orders_data import Order
from northstar_platform.demo.preference_rules import CoreRow
from northstar_platform.demo.records import pg_text
from northstar_platform.errors import NorthstarError, SourceUnavailableError

MARKER_TABLE = "northstar_demo_marker"
SOURCE_TABLES = ("orders", "customers", "core_preferences")
CONNECT_TIMEOUT_S = 5

DDL = """
CREATE TABLE customers (
    customer_id text PRIMARY KEY,
    email text,
    full_name text,
    phone text,
    created_at timestamp without time zone,
    updated_at timestamp without time zone
);
CREATE INDEX customers_updated_at_idx ON customers (updated_at);
CREATE TABLE orders (
    order_id text PRIMARY KEY,
    customer_id text NULL,
    status text,
    currency text,
    amount_cents bigint,
    created_at timestamp without time zone,
    updated_at timestamp without time zone,
    is_deleted boolean
);
CREATE INDEX orders_updated_at_idx ON orders (updated_at);
CREATE TABLE core_preferences (
    customer_key text,
    channel text,
    preference_state text,
    updated_ts timestamp without time zone
);
CREATE INDEX core_preferences_updated_ts_idx ON core_preferences (updated_ts);
"""
"""Exactly DESIGN §4; no CHECK or foreign-key constraints, so defects can be stored."""


def load_source(
    conn: psycopg2.extensions.connection,
    customers: Sequence[Customer],
    orders: Sequence[Order],
    core_rows: Sequence[CoreRow],
    config: dict[str, Any],
) -> None:
    """Replace the demo tables of `conn`'s database with these rows, in one transaction."""
    try:
        with conn, conn.cursor() as cur:
            cur.execute("SET LOCAL lock_timeout = '30s'")
            cur.execute("SELECT pg_advisory_xact_lock(hashtext('northstar_demo_generate'))")
            _refuse_foreign_tables(cur, conn.info.dbname)
            cur.execute(
                sql.SQL("DROP TABLE IF EXISTS {}").format(
                    sql.SQL(", ").join(map(sql.Identifier, SOURCE_TABLES))
                )
            )
            cur.execute(DDL)
            _copy(cur, "customers", _customer_lines(customers))
            _copy(cur, "orders", _order_lines(orders))
            _copy(cur, "core_preferences", _core_lines(core_rows))
            cur.execute(
                sql.SQL("CREATE TABLE IF NOT EXISTS {} (note text, config text)").format(
                    sql.Identifier(MARKER_TABLE)
                )
            )
            cur.execute(sql.SQL("TRUNCATE {}").format(sql.Identifier(MARKER_TABLE)))
            cur.execute(
                sql.SQL("INSERT INTO {} VALUES (%s, %s)").format(sql.Identifier(MARKER_TABLE)),
                ("tables created by `northstar demo generate`", json.dumps(config)),
            )
    except psycopg2.Error as exc:
        raise NorthstarError(
            f"loading the demo into database {conn.info.dbname} failed: {_first_line(exc)}"
        ) from None


def connect_creating(dsn: str) -> psycopg2.extensions.connection:
    """Connect to the DSN's database, creating it first through `postgres` if it is missing."""
    params = psycopg2.extensions.parse_dsn(dsn)
    dbname = params.get("dbname") or params.get("user") or "postgres"
    try:
        return psycopg2.connect(dsn, connect_timeout=CONNECT_TIMEOUT_S)
    except psycopg2.OperationalError as exc:
        first = exc
    try:
        admin = psycopg2.connect(
            psycopg2.extensions.make_dsn(dsn, dbname="postgres"), connect_timeout=CONNECT_TIMEOUT_S
        )
    except psycopg2.OperationalError:
        raise _unavailable(params, first) from None
    try:
        admin.autocommit = True
        with admin.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (dbname,))
            if cur.fetchone() is not None:
                raise _unavailable(params, first)  # it exists: the first error was real
            cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))
    except psycopg2.Error as exc:
        raise SourceUnavailableError(
            f"cannot create database {dbname!r} on {_address(params)}: {_first_line(exc)}"
        ) from None
    finally:
        admin.close()
    try:
        return psycopg2.connect(dsn, connect_timeout=CONNECT_TIMEOUT_S)
    except psycopg2.OperationalError as exc:
        raise _unavailable(params, exc) from None


def _refuse_foreign_tables(cur: psycopg2.extensions.cursor, dbname: str) -> None:
    cur.execute(
        "SELECT table_name FROM information_schema.tables "
        "WHERE table_schema = 'public' AND table_name = ANY(%s)",
        ([*SOURCE_TABLES, MARKER_TABLE],),
    )
    present = {row[0] for row in cur.fetchall()}
    if MARKER_TABLE in present:
        return
    for table in SOURCE_TABLES:
        if table in present:
            article = "an" if table[0] in "aeiou" else "a"
            raise NorthstarError(
                f"database {dbname} holds {article} {table} table that the demo did not create; "
                "point NORTHSTAR_SOURCE_DSN at another database"
            )


def _copy(cur: psycopg2.extensions.cursor, table: str, lines: Iterable[str]) -> None:
    buffer = io.StringIO("".join(lines))
    cur.copy_expert(
        sql.SQL("COPY {} FROM STDIN").format(sql.Identifier(table)).as_string(cur), buffer
    )


def _field(value: object) -> str:
    """COPY text format: NULL is \\N; generated values never hold tabs or backslashes."""
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    return str(value)


def _customer_lines(customers: Iterable[Customer]) -> Iterable[str]:
    for c in customers:
        values = (
            c.customer_id,
            c.email,
            c.full_name,
            c.phone,
            pg_text(c.created_at),
            pg_text(c.updated_at),
        )
        yield "\t".join(map(_field, values)) + "\n"


def _order_lines(orders: Iterable[Order]) -> Iterable[str]:
    for o in orders:
        values = (
            o.order_id,
            o.customer_id,
            o.status,
            o.currency,
            o.amount_cents,
            pg_text(o.created_at),
            pg_text(o.updated_at),
            o.is_deleted,
        )
        yield "\t".join(map(_field, values)) + "\n"


def _core_lines(rows: Iterable[CoreRow]) -> Iterable[str]:
    for r in rows:
        yield "\t".join((r.customer_key, r.channel, r.state, pg_text(r.updated_ts))) + "\n"


def _address(params: dict[str, str]) -> str:
    return f"{params.get('host', 'localhost')}:{params.get('port', '5432')}"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _unavailable(params: dict[str, str], exc: BaseException) -> SourceUnavailableError:
    return SourceUnavailableError(
        f"cannot reach the source PostgreSQL at {_address(params)} ({_first_line(exc)}); "
        "start it (e.g. `pg_ctlcluster <version> main start`) or point NORTHSTAR_SOURCE_DSN "
        "at a reachable server"
    )
