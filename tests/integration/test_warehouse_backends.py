"""The warehouse session behaves the same on DuckDB and on Snowflake's dialect (fakesnow).

fakesnow runs the real Snowflake connector (through dagster-snowflake) against an in-process
emulator, so SQL that only works on DuckDB fails here.
"""

import datetime as dt

import pyarrow as pa
import pytest

from asset_checks.schema import schema_differences, type_family
from northstar_platform.layers import Column, Layer, Table
from northstar_platform.resources.warehouse import (
    WarehouseResource,
)

pytestmark = pytest.mark.integration

EVENTS = Table(
    Layer.RAW,
    "raw_test_events",
    (
        Column("event_id", "VARCHAR", nullable=False),
        Column("amount_cents", "BIGINT"),
        Column("happened_at", "TIMESTAMP"),
        Column("is_test", "BOOLEAN"),
        Column("partition_key", "VARCHAR", nullable=False),
    ),
)
T = dt.datetime(2026, 11, 1, 12, 30, 15, 123456)


def _rows(pk: str, n: int, offset: int = 0) -> pa.Table:
    return pa.table(
        {
            "event_id": [f"e{offset + i}" for i in range(n)],
            "amount_cents": pa.array([100 * (offset + i) for i in range(n)], pa.int64()),
            "happened_at": pa.array(
                [T + dt.timedelta(minutes=i) for i in range(n)], pa.timestamp("us")
            ),
            "is_test": [i % 2 == 0 for i in range(n)],
            "partition_key": [pk] * n,
        }
    )


def test_replace_partition_is_idempotent_and_scoped(either_warehouse: WarehouseResource) -> None:
    with either_warehouse.connect() as session:
        session.ensure_table(EVENTS)
        with session.transaction():
            assert session.replace_partition(EVENTS, "2026-11-01", _rows("2026-11-01", 3)) == 3
            assert session.replace_partition(EVENTS, "2026-11-02", _rows("2026-11-02", 2, 10)) == 2
        with session.transaction():
            assert session.replace_partition(EVENTS, "2026-11-01", _rows("2026-11-01", 3)) == 3
        first = session.fetch_partition(EVENTS, "2026-11-01").to_pylist()
        assert sorted(r["event_id"] for r in first) == ["e0", "e1", "e2"]
        assert {r["event_id"]: r["happened_at"] for r in first}["e1"] == T + dt.timedelta(minutes=1)
        assert session.fetchall(
            f"select partition_key, count(*) from {EVENTS.qualified} group by 1 order by 1"
        ) == [("2026-11-01", 3), ("2026-11-02", 2)]


def test_failed_transaction_leaves_the_partition_untouched(
    either_warehouse: WarehouseResource,
) -> None:
    with either_warehouse.connect() as session:
        session.ensure_table(EVENTS)
        with session.transaction():
            session.replace_partition(EVENTS, "2026-11-01", _rows("2026-11-01", 3))
        with pytest.raises(RuntimeError), session.transaction():
            session.replace_partition(EVENTS, "2026-11-01", _rows("2026-11-01", 1, 50))
            raise RuntimeError("the step failed half-way")
        kept = session.fetch_partition(EVENTS, "2026-11-01").column("event_id").to_pylist()
        assert sorted(kept) == ["e0", "e1", "e2"]


def test_live_columns_match_the_contract(either_warehouse: WarehouseResource) -> None:
    with either_warehouse.connect() as session:
        session.ensure_table(EVENTS)
        assert session.table_exists("raw", "raw_test_events")
        assert not session.table_exists("raw", "no_such_table")
        live = session.columns("raw", "raw_test_events")
    assert [name for name, _ in live] == EVENTS.column_names
    assert schema_differences(EVENTS, live) == []


def test_a_table_of_an_older_contract_gains_the_new_columns(
    either_warehouse: WarehouseResource,
) -> None:
    """Contracts only gain columns (DESIGN §4): a table created before `held_rows`-style
    additions keeps its rows and gets the new column, empty for the old rows."""
    older = Table(EVENTS.layer, EVENTS.name, EVENTS.columns[:2] + EVENTS.columns[4:])
    with either_warehouse.connect() as session:
        session.ensure_table(older)
        with session.transaction():
            session.replace_partition(
                older, "2026-11-01", _rows("2026-11-01", 2).select(older.column_names)
            )
        session.ensure_table(EVENTS)
        live = session.columns("raw", EVENTS.name)
        assert {name: type_family(kind) for name, kind in live} == {
            c.name: type_family(c.sql_type) for c in EVENTS.columns
        }
        rows = session.fetchall(
            f"select event_id, happened_at, is_test from {EVENTS.qualified} order by event_id"
        )
        assert rows == [("e0", None, None), ("e1", None, None)]
        with session.transaction():
            session.replace_partition(EVENTS, "2026-11-02", _rows("2026-11-02", 1, 7))
        assert session.fetch_partition(EVENTS, "2026-11-02").to_pylist() == [
            {
                "event_id": "e7",
                "amount_cents": 700,
                "happened_at": T,
                "is_test": True,
                "partition_key": "2026-11-02",
            }
        ]


def test_results_are_typed_even_when_every_value_is_null(
    either_warehouse: WarehouseResource,
) -> None:
    """A timestamp column that is NULL in every row stays a timestamp (polars subtracts it);
    a ratio is a double on both; an empty result keeps its columns and types."""
    sql = (
        "select cast(null as timestamp) as shipped_at, 3 / 2 as ratio, cast(7 as bigint) as n, "
        "cast(null as date) as d, cast(null as varchar) as s from (select 1 as x) t "
        "where t.x = ?"
    )
    with either_warehouse.connect() as session:
        full, empty = session.fetch_arrow(sql, (1,)), session.fetch_arrow(sql + " and 1 = 0", (1,))
    expected = pa.schema(
        [
            ("shipped_at", pa.timestamp("us")),
            ("ratio", pa.float64()),
            ("n", pa.int64()),
            ("d", pa.date32()),
            ("s", pa.string()),
        ]
    )
    assert full.schema == expected
    assert full.to_pylist() == [{"shipped_at": None, "ratio": 1.5, "n": 7, "d": None, "s": None}]
    assert empty.schema == expected and empty.num_rows == 0


def test_rows_with_nulls_beside_timestamps_and_dates_insert_on_both(
    either_warehouse: WarehouseResource,
) -> None:
    """A batch mixing NULL and datetimes in one column (which the connector binds as untyped
    text) lands with every value intact."""
    data = _rows("2026-11-01", 3)
    data = data.set_column(2, "happened_at", pa.array([T, None, T], pa.timestamp("us")))
    with either_warehouse.connect() as session:
        session.ensure_table(EVENTS)
        session.insert_arrow(EVENTS, data)
        back = session.fetch_partition(EVENTS, "2026-11-01").sort_by("event_id")
    assert back.column("happened_at").to_pylist() == [T, None, T]
