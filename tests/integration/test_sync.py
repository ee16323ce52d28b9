"""The PostgreSQL → warehouse sync (issue 3, seed 003) against the real local PostgreSQL.

Every test creates its source tables in a throw-away database (`fresh_pg_dsn`), syncs them
into a DuckDB file under `tmp_path` through a local landing folder (or the moto S3 server),
and compares the warehouse with rows written out BY HAND below, never computed by calling
the code under test. Most tests drive the engine (`export_table`, `stage_files`,
`merge_pending`) directly; the full refresh, the dead letters and the failing checks run
through Dagster (`build_definitions()` with `NORTHSTAR_SYNC_CONFIG`), asserting every sync
check from the ASSET_CHECK_EVALUATION events.

Timestamps: the source stores `timestamptz` written with explicit offsets; the warehouse
holds them as naive UTC, so `utc("10:00")` is 2024-03-01 10:00 UTC.
"""

import dataclasses
import datetime as dt
import io
import json
import re
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import dagster as dg
import psycopg2
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from northstar_platform.errors import NorthstarError, SourceConnectionLostError, SourceQueryError
from northstar_platform.lib import sync_merge as sync_module
from northstar_platform.lib.sync_config import SyncTable, parse_table
from northstar_platform.lib.sync_export import (
    ExportResult,
    SchemaDriftError,
    current_watermark,
    export_table,
)
from northstar_platform.lib.sync_merge import MergeResult, merge_pending
from northstar_platform.lib.sync_stage import stage_files
from northstar_platform.resources import source_db as source_db_module
from northstar_platform.resources.landing import LandingResource, LandingZone, LocalLandingZone
from northstar_platform.resources.source_db import SourceDatabaseResource
from northstar_platform.resources.warehouse import DuckDBWarehouse
from northstar_platform.runner import CONSOLE_QUIET

pytestmark = pytest.mark.integration


def utc(clock: str) -> dt.datetime:
    """2024-03-01 at `clock`, naive UTC (how the warehouse stores source timestamps)."""
    return dt.datetime.fromisoformat(f"2024-03-01 {clock}")


NOW = dt.datetime(2024, 3, 2, 9, 0, tzinfo=dt.UTC)
"""The clock of the engine-driven runs: exports land under customers/2024/03/02/09/."""


def at(minutes: int) -> dt.datetime:
    return NOW + dt.timedelta(minutes=minutes)


def run_key(table: str, run_id: str, full: bool = False) -> str:
    return f"{table}/2024/03/02/09/run-{run_id}{'-full' if full else ''}.parquet"


# --------------------------------------------------------------------------------------------
# The source: public.customers
# --------------------------------------------------------------------------------------------

CUSTOMERS_DDL = """
create table public.customers (
    customer_id bigint primary key,
    email text,
    balance numeric(14, 2),
    vip boolean,
    score double precision,
    signup_date date,
    updated_at timestamptz not null,
    is_deleted boolean not null default false
)
"""
INSERT_CUSTOMER = (
    "insert into public.customers (customer_id, email, balance, vip, score, signup_date, "
    "updated_at) values (%s, %s, %s, %s, %s, %s, %s)"
)
SEED = [
    (1, "ada@example.com", "10.5", True, 1.5, "2024-01-01", "2024-03-01 10:00:00+00"),
    (2, "bo@example.com", "0", False, None, None, "2024-03-01 12:30:00+02"),
    (3, None, "123456789.99", None, -2.25, "2024-02-29", "2024-03-01 06:00:00.123456-05"),
    (4, "", "-5.1", False, 0.0, "2024-02-01", "2024-03-01 12:00:00+00"),
    (5, "eve@example.com", "7", True, 3.0, "2023-12-31", "2024-03-01 13:00:00+01"),
]
"""Rows 4 and 5 share the greatest watermark (12:00 UTC): the instant `>=` re-exports."""

D = dt.date
SEEDED = {
    # (customer_id, email, balance as exact text, vip, score, signup_date, updated_at UTC,
    #  is_deleted)
    1: (1, "ada@example.com", "10.50", True, 1.5, D(2024, 1, 1), utc("10:00"), False),
    2: (2, "bo@example.com", "0.00", False, None, None, utc("10:30"), False),
    3: (3, None, "123456789.99", None, -2.25, D(2024, 2, 29), utc("11:00:00.123456"), False),
    4: (4, "", "-5.10", False, 0.0, D(2024, 2, 1), utc("12:00"), False),
    5: (5, "eve@example.com", "7.00", True, 3.0, D(2023, 12, 31), utc("12:00"), False),
}
BUSINESS = "customer_id, email, balance, vip, score, signup_date, updated_at, is_deleted"
CUSTOMERS = SyncTable(
    "public", "customers", "updated_at", ("customer_id",), soft_delete_col="is_deleted"
)
CUSTOMERS_ENTRY = {
    "table_name": "public.customers",
    "watermark_col": "updated_at",
    "primary_keys": ["customer_id"],
    "soft_delete_col": "is_deleted",
}


def pg(dsn: str, sql: str, rows: Sequence[Sequence[Any]] = ()) -> list[tuple[Any, ...]]:
    """Run one statement on the source (once per row when `rows` are given) and commit."""
    conn = psycopg2.connect(dsn)
    try:
        with conn, conn.cursor() as cur:
            if rows:
                cur.executemany(sql, rows)
                return []
            cur.execute(sql)
            return cur.fetchall() if cur.description else []
    finally:
        conn.close()


def create_customers(dsn: str) -> None:
    pg(dsn, CUSTOMERS_DDL)
    pg(dsn, INSERT_CUSTOMER, SEED)


# --------------------------------------------------------------------------------------------
# The engine, driven directly
# --------------------------------------------------------------------------------------------


@dataclass
class Engine:
    dsn: str
    source: SourceDatabaseResource
    warehouse: DuckDBWarehouse
    zone: LandingZone

    def export(
        self, table: SyncTable, run_id: str, now: dt.datetime = NOW, full: bool = False
    ) -> ExportResult:
        with self.warehouse.connect() as session:
            return export_table(
                self.source, self.zone, session, table, run_id=run_id, full_refresh=full, now=now
            )

    def stage(self, table: SyncTable, run_id: str, now: dt.datetime = NOW) -> dict[str, int]:
        with self.warehouse.connect() as session:
            return stage_files(self.zone, session, table, run_id=run_id, now=now)

    def merge(self, table: SyncTable, run_id: str, now: dt.datetime = NOW) -> MergeResult:
        with self.warehouse.connect() as session:
            return merge_pending(session, table, run_id=run_id, now=now)

    def sync(
        self, table: SyncTable, run_id: str, now: dt.datetime = NOW, full: bool = False
    ) -> tuple[ExportResult, dict[str, int], MergeResult]:
        return (
            self.export(table, run_id, now, full),
            self.stage(table, run_id, now),
            self.merge(table, run_id, now),
        )

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self.warehouse.connect() as session:
            return session.fetchall(sql, params)

    def watermark(self, table: SyncTable) -> dt.datetime | None:
        with self.warehouse.connect() as session:
            return current_watermark(session, table)


def make_engine(dsn: str, root: Path, zone: LandingZone | None = None) -> Engine:
    return Engine(
        dsn=dsn,
        source=SourceDatabaseResource(dsn=dsn),
        warehouse=DuckDBWarehouse(path=str(root / "warehouse.duckdb")),
        zone=zone or LocalLandingZone(root / "landing"),
    )


@pytest.fixture
def engine(fresh_pg_dsn: str, tmp_path: Path) -> Iterator[Engine]:
    """`public.customers` seeded with SEED; an empty warehouse and landing folder."""
    create_customers(fresh_pg_dsn)
    built = make_engine(fresh_pg_dsn, tmp_path)
    try:
        yield built
    finally:
        built.source.close()


def final_rows(e: Engine, table: str = "customers") -> dict[int, tuple[Any, ...]]:
    rows = e.query(f"select {BUSINESS} from curated.{table}_latest order by customer_id")
    return {r[0]: r for r in rows}


def final_lineage(e: Engine) -> dict[int, tuple[str, str]]:
    """customer_id → (source_file, run_id) of the version FINAL holds."""
    rows = e.query("select customer_id, source_file, run_id from curated.customers_latest")
    return {r[0]: (r[1], r[2]) for r in rows}


def sync_runs(e: Engine) -> list[tuple[Any, ...]]:
    return e.query(
        "select run_id, mode, files, rows_in, dead_lettered, superseded, inserted, updated, "
        "unchanged, final_rows_before, final_rows_after, merged_at from ops.sync_runs "
        "where table_name = 'customers' order by rowid"
    )


def assert_lineage_points_at_staging(e: Engine, table: str = "customers") -> None:
    """Every FINAL row's (source_file, line_no) is a STAGING row with the same key, watermark
    and arrival time."""
    rows = e.query(
        f"select count(*), count(r.customer_id) from curated.{table}_latest f "
        f"left join raw.raw_{table} r on r.source_file = f.source_file and r.line_no = f.line_no "
        "and r.customer_id = f.customer_id and r.updated_at = f.updated_at "
        "and r.ingested_ts = f.ingested_ts"
    )
    assert rows[0][0] == rows[0][1]


def assert_no_duplicate_keys(e: Engine, table: str = "customers") -> None:
    dupes = e.query(
        f"select customer_id from curated.{table}_latest group by 1 having count(*) > 1"
    )
    assert dupes == []


# --------------------------------------------------------------------------------------------
# 1-4: first sync, incremental, same-instant rows, killed runs
# --------------------------------------------------------------------------------------------


def test_first_sync_into_an_empty_warehouse_copies_every_source_row_exactly(
    engine: Engine,
) -> None:
    exported, staged, merged = engine.sync(CUSTOMERS, "r1")

    key = run_key("customers", "r1")
    assert exported == ExportResult(key, 5, None, "incremental", ())
    assert staged == {key: 5}
    assert merged == MergeResult(
        files=1,
        rows_in=5,
        dead_lettered=0,
        superseded=0,
        inserted=5,
        updated=0,
        unchanged=0,
        final_rows_before=0,
        final_rows_after=5,
        full_refresh=False,
    )
    # The landed file: parquet typed from the source (numeric as exact text, naive UTC).
    landed = pq.read_table(io.BytesIO(engine.zone.read_bytes(key)))
    assert landed.schema == pa.schema(
        [
            ("customer_id", pa.int64()),
            ("email", pa.string()),
            ("balance", pa.string()),
            ("vip", pa.bool_()),
            ("score", pa.float64()),
            ("signup_date", pa.date32()),
            ("updated_at", pa.timestamp("us")),
            ("is_deleted", pa.bool_()),
        ]
    )
    assert landed.num_rows == 5
    # FINAL: the source rows exactly, NULL and '' kept apart.
    assert final_rows(engine) == SEEDED
    assert engine.query(
        "select column_name, data_type from information_schema.columns "
        "where table_schema = 'curated' and table_name = 'customers_latest' "
        "order by ordinal_position"
    ) == [
        ("customer_id", "BIGINT"),
        ("email", "VARCHAR"),
        ("balance", "VARCHAR"),
        ("vip", "BOOLEAN"),
        ("score", "DOUBLE"),
        ("signup_date", "DATE"),
        ("updated_at", "TIMESTAMP"),
        ("is_deleted", "BOOLEAN"),
        ("source_file", "VARCHAR"),
        ("line_no", "BIGINT"),
        ("ingested_ts", "TIMESTAMP"),
        ("run_id", "VARCHAR"),
    ]
    assert final_lineage(engine) == {i: (key, "r1") for i in range(1, 6)}
    # STAGING: exported in watermark order, landing day of the key, file arrival time.
    arrived = engine.zone.stat(key).last_modified.astimezone(dt.UTC).replace(tzinfo=None)
    raw = engine.query(
        "select customer_id, line_no, partition_key, source_file, ingested_ts, run_id "
        "from raw.raw_customers order by line_no"
    )
    assert [r[0] for r in raw[:3]] == [1, 2, 3]
    assert {r[0] for r in raw[3:]} == {4, 5}  # a tie at 12:00: either order
    assert [r[1:] for r in raw] == [(n, "2024-03-02", key, arrived, "r1") for n in range(1, 6)]
    assert_lineage_points_at_staging(engine)
    assert sync_runs(engine) == [
        ("r1", "incremental", 1, 5, 0, 0, 5, 0, 0, 0, 5, dt.datetime(2024, 3, 2, 9, 0))
    ]
    assert engine.watermark(CUSTOMERS) == utc("12:00")


def test_a_first_sync_fills_the_empty_key_only_stand_in_the_dbt_models_created(
    engine: Engine,
) -> None:
    # dbt's preparation creates curated.customers_latest (customer_id only, no rows) when the
    # models run before any sync; the first sync must not call its other columns drift.
    engine.query("create schema if not exists curated")
    engine.query("create table curated.customers_latest (customer_id bigint)")
    engine.sync(CUSTOMERS, "r1")
    assert final_rows(engine) == SEEDED
    # Once FINAL holds rows, a new source column is drift again (test further below).


def test_incremental_sync_applies_updates_inserts_and_soft_deletes(engine: Engine) -> None:
    engine.sync(CUSTOMERS, "r1")
    pg(
        engine.dsn,
        "update public.customers set balance = 11.75, vip = false, "
        "updated_at = '2024-03-01 13:00:00+00' where customer_id = 1",
    )
    pg(
        engine.dsn,
        "update public.customers set is_deleted = true, updated_at = '2024-03-01 15:05:00+02' "
        "where customer_id = 2",
    )
    pg(
        engine.dsn,
        INSERT_CUSTOMER,
        [(6, "fay@example.com", "99.99", False, 2.0, "2024-03-01", "2024-03-01 13:10:00+00")],
    )

    exported, staged, merged = engine.sync(CUSTOMERS, "r2", at(5))

    key1, key2 = run_key("customers", "r1"), run_key("customers", "r2")
    # >= 12:00: rows 4 and 5 (at the watermark) again, plus 1, 2 and 6.
    assert exported == ExportResult(key2, 5, utc("12:00"), "incremental", ())
    assert staged == {key2: 5}
    assert merged == MergeResult(1, 5, 0, 0, 1, 2, 2, 5, 6, False)
    assert final_rows(engine) == {
        1: (1, "ada@example.com", "11.75", False, 1.5, D(2024, 1, 1), utc("13:00"), False),
        2: (2, "bo@example.com", "0.00", False, None, None, utc("13:05"), True),
        3: SEEDED[3],
        4: SEEDED[4],
        5: SEEDED[5],
        6: (6, "fay@example.com", "99.99", False, 2.0, D(2024, 3, 1), utc("13:10"), False),
    }
    # Unchanged rows keep the version (file, run) they were merged from.
    assert final_lineage(engine) == {
        1: (key2, "r2"),
        2: (key2, "r2"),
        3: (key1, "r1"),
        4: (key1, "r1"),
        5: (key1, "r1"),
        6: (key2, "r2"),
    }
    assert_lineage_points_at_staging(engine)
    assert engine.query("select count(*) from raw.raw_customers") == [(10,)]

    # Nothing pending: merging again changes nothing.
    before = final_rows(engine)
    assert engine.merge(CUSTOMERS, "r3", at(6)) == MergeResult(0, 0, 0, 0, 0, 0, 0, 6, 6, False)
    assert final_rows(engine) == before
    # No source change: only the row at the watermark (13:10) comes again, unchanged.
    exported, _, merged = engine.sync(CUSTOMERS, "r4", at(7))
    assert (exported.rows, exported.watermark_from) == (1, utc("13:10"))
    assert merged == MergeResult(1, 1, 0, 0, 0, 0, 1, 6, 6, False)
    assert final_rows(engine) == before
    assert sync_runs(engine) == [
        ("r1", "incremental", 1, 5, 0, 0, 5, 0, 0, 0, 5, dt.datetime(2024, 3, 2, 9, 0)),
        ("r2", "incremental", 1, 5, 0, 0, 1, 2, 2, 5, 6, dt.datetime(2024, 3, 2, 9, 5)),
        ("r3", "incremental", 0, 0, 0, 0, 0, 0, 0, 6, 6, dt.datetime(2024, 3, 2, 9, 6)),
        ("r4", "incremental", 1, 1, 0, 0, 0, 0, 1, 6, 6, dt.datetime(2024, 3, 2, 9, 7)),
    ]


def test_rows_committed_in_the_watermark_instant_after_the_export_are_not_lost(
    engine: Engine,
) -> None:
    engine.sync(CUSTOMERS, "r1")
    assert engine.watermark(CUSTOMERS) == utc("12:00")
    # Committed after r1's export, stamped with the very instant of the watermark: a `>`
    # export would skip both forever.
    pg(
        engine.dsn,
        INSERT_CUSTOMER,
        [(7, "gus@example.com", "1.25", None, None, None, "2024-03-01 12:00:00+00")],
    )
    pg(
        engine.dsn,
        "update public.customers set email = 'eve@new.example.com' where customer_id = 5",
    )

    exported, staged, merged = engine.sync(CUSTOMERS, "r2", at(1))

    assert (exported.rows, exported.watermark_from) == (3, utc("12:00"))  # rows 4, 5, 7
    assert staged == {run_key("customers", "r2"): 3}
    # 7 inserted, 5 updated (same watermark, other content), 4 unchanged.
    assert merged == MergeResult(1, 3, 0, 0, 1, 1, 1, 5, 6, False)
    assert final_rows(engine) == {
        **SEEDED,
        5: (5, "eve@new.example.com", "7.00", True, 3.0, D(2023, 12, 31), utc("12:00"), False),
        7: (7, "gus@example.com", "1.25", None, None, None, utc("12:00"), False),
    }
    assert final_lineage(engine)[4] == (run_key("customers", "r1"), "r1")
    assert final_lineage(engine)[5] == (run_key("customers", "r2"), "r2")


def test_a_run_killed_between_export_and_merge_is_retried_without_loss_or_duplicates(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine.sync(CUSTOMERS, "r1")
    pg(
        engine.dsn,
        "update public.customers set email = 'bo@new.example.com', "
        "updated_at = '2024-03-01 13:00:00+00' where customer_id = 2",
    )
    pg(
        engine.dsn,
        INSERT_CUSTOMER,
        [(6, "fay@example.com", "99.99", False, 2.0, "2024-03-01", "2024-03-01 13:30:00+00")],
    )
    # Run A exports (rows 4, 5, 2, 6) and stages, then dies before its merge.
    key_a = run_key("customers", "ra")
    assert engine.export(CUSTOMERS, "ra", at(1)).rows == 4
    assert engine.stage(CUSTOMERS, "ra", at(1)) == {key_a: 4}
    assert final_rows(engine) == SEEDED  # FINAL, hence the watermark, did not move
    assert engine.watermark(CUSTOMERS) == utc("12:00")

    # More changes before the retry.
    pg(
        engine.dsn,
        "update public.customers set email = 'bo@newer.example.com', "
        "updated_at = '2024-03-01 14:00:00+00' where customer_id = 2",
    )
    pg(
        engine.dsn,
        "update public.customers set vip = false, updated_at = '2024-03-01 14:30:00+00' "
        "where customer_id = 1",
    )
    expected = {
        1: (1, "ada@example.com", "10.50", False, 1.5, D(2024, 1, 1), utc("14:30"), False),
        2: (2, "bo@newer.example.com", "0.00", False, None, None, utc("14:00"), False),
        3: SEEDED[3],
        4: SEEDED[4],
        5: SEEDED[5],
        6: (6, "fay@example.com", "99.99", False, 2.0, D(2024, 3, 1), utc("13:30"), False),
    }

    # Run B dies inside its merge (after the MERGE statement, before the commit): nothing of
    # it sticks, both files stay pending.
    key_b = run_key("customers", "rb")
    exported = engine.export(CUSTOMERS, "rb", at(2))
    assert (exported.rows, exported.watermark_from) == (5, utc("12:00"))  # 4, 5, 6, 2, 1
    assert engine.stage(CUSTOMERS, "rb", at(2)) == {key_b: 5}

    def killed(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("worker killed")

    with monkeypatch.context() as mp:
        mp.setattr(sync_module, "_run_row", killed)
        with pytest.raises(RuntimeError, match="worker killed"):
            engine.merge(CUSTOMERS, "rb", at(2))
    assert final_rows(engine) == SEEDED
    assert engine.query("select count(*) from ops.sync_merges where run_id = 'rb'") == [(0,)]
    assert engine.query("select count(*) from staging.quarantine_customers") == [(0,)]
    assert len(sync_runs(engine)) == 1

    # The full retry: its export starts from the old watermark again; the merge takes both
    # pending files plus its own, newest version per key.
    key_c = run_key("customers", "rc")
    exported, staged, merged = engine.sync(CUSTOMERS, "rc", at(3))
    assert (exported.rows, exported.watermark_from) == (5, utc("12:00"))
    assert staged == {key_c: 5}  # A and B are staged once only
    # rows_in 4 + 5 + 5 = 14 copies of 5 distinct keys: 9 superseded copies.
    assert merged == MergeResult(3, 14, 0, 9, 1, 2, 2, 5, 6, False)
    assert final_rows(engine) == expected
    assert_no_duplicate_keys(engine)
    assert_lineage_points_at_staging(engine)
    assert engine.query(
        "select source_file, run_id from ops.sync_merges where table_name = 'customers' "
        "order by source_file"
    ) == sorted([(run_key("customers", "r1"), "r1"), (key_a, "rc"), (key_b, "rc"), (key_c, "rc")])
    assert engine.query("select count(*) from raw.raw_customers") == [(19,)]
    # And the next run is an ordinary incremental one from the new watermark.
    exported, _, merged = engine.sync(CUSTOMERS, "rd", at(4))
    assert (exported.rows, exported.watermark_from) == (1, utc("14:30"))
    assert merged == MergeResult(1, 1, 0, 0, 0, 0, 1, 6, 6, False)
    assert final_rows(engine) == expected


def test_a_full_refresh_after_a_killed_run_does_not_bring_back_hard_deleted_rows(
    engine: Engine,
) -> None:
    engine.sync(CUSTOMERS, "r1")
    pg(
        engine.dsn,
        "update public.customers set email = 'bo@new.example.com', "
        "updated_at = '2024-03-01 13:00:00+00' where customer_id = 2",
    )
    # Killed after staging: its file (rows 4, 5, 2) stays pending.
    assert engine.export(CUSTOMERS, "ra", at(1)).rows == 3
    engine.stage(CUSTOMERS, "ra", at(1))
    pg(engine.dsn, "delete from public.customers where customer_id = 2")

    exported, _, merged = engine.sync(CUSTOMERS, "rf", at(2), full=True)

    assert exported == ExportResult(run_key("customers", "rf", True), 4, None, "full", ())
    # The pending file is older than the full export: its 3 rows are superseded by it.
    assert merged == MergeResult(2, 7, 0, 3, 4, 0, 0, 5, 4, True)
    assert final_rows(engine) == {i: SEEDED[i] for i in (1, 3, 4, 5)}
    assert_lineage_points_at_staging(engine)


# --------------------------------------------------------------------------------------------
# 6: a dropped source connection mid-export
# --------------------------------------------------------------------------------------------

SLOW = SyncTable(
    "public", "customers_slow", "updated_at", ("customer_id",), soft_delete_col="is_deleted"
)


class CopyKiller:
    """Terminates the backend of every COPY running in the database (or only the first)."""

    def __init__(self, dsn: str, once: bool) -> None:
        self.database = dsn.rsplit("/", 1)[1]
        self.admin = dsn.rsplit("/", 1)[0] + "/postgres"
        self.once = once
        self.killed = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        conn = psycopg2.connect(self.admin)
        conn.autocommit = True
        try:
            while not self.stop.is_set() and not (self.once and self.killed):
                with conn.cursor() as cur:
                    cur.execute(
                        "select pg_terminate_backend(pid) from pg_stat_activity "
                        "where datname = %s and query like 'COPY (%%' "
                        "and pid <> pg_backend_pid()",
                        (self.database,),
                    )
                    self.killed += sum(1 for (done,) in cur.fetchall() if done)
                time.sleep(0.01)
        finally:
            conn.close()

    def __enter__(self) -> "CopyKiller":
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(timeout=5)


def test_a_dropped_source_connection_mid_export_is_retried_with_backoff(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The export reads a view that sleeps 0.4 s: long enough to kill the COPY under way.
    pg(
        engine.dsn,
        "create view public.customers_slow as select c.* from public.customers c "
        "cross join lateral pg_sleep(0.4) as pause",
    )
    engine.sync(SLOW, "r1")
    pg(
        engine.dsn,
        "update public.customers set email = 'ada@new.example.com', "
        "updated_at = '2024-03-01 13:00:00+00' where customer_id = 1",
    )
    monkeypatch.setattr(source_db_module, "RETRY_BASE_S", 0.05)
    sleeps: list[float] = []
    monkeypatch.setattr(source_db_module, "time", SimpleNamespace(sleep=sleeps.append))
    attempts: list[str] = []
    copy = SourceDatabaseResource._copy_to_arrow

    def counted(self: SourceDatabaseResource, *args: Any) -> pa.Table:
        attempts.append("copy")
        return copy(self, *args)

    monkeypatch.setattr(SourceDatabaseResource, "_copy_to_arrow", counted)

    # The first COPY is killed; the second attempt, 0.05 s later, succeeds.
    with CopyKiller(engine.dsn, once=True) as killer:
        exported = engine.export(SLOW, "r2", at(1))
    assert killer.killed == 1
    assert (len(attempts), sleeps) == (2, [0.05])
    assert exported == ExportResult(
        run_key("customers_slow", "r2"), 3, utc("12:00"), "incremental", ()
    )
    engine.stage(SLOW, "r2", at(1))
    assert engine.merge(SLOW, "r2", at(1)) == MergeResult(1, 3, 0, 0, 0, 1, 2, 5, 5, False)
    assert final_rows(engine, "customers_slow")[1][1:3] == ("ada@new.example.com", "10.50")

    # A source that keeps dropping: three attempts, backoff doubling, then one clear line.
    pg(
        engine.dsn,
        "update public.customers set email = 'bo@new.example.com', "
        "updated_at = '2024-03-01 14:00:00+00' where customer_id = 2",
    )
    attempts.clear()
    sleeps.clear()
    before = final_rows(engine, "customers_slow")
    files_before = [o.key for o in engine.zone.list("customers_slow/")]
    with CopyKiller(engine.dsn, once=False), pytest.raises(SourceConnectionLostError) as info:
        engine.export(SLOW, "r3", at(2))
    message = str(info.value)
    assert "\n" not in message
    database = engine.dsn.rsplit("/", 1)[1]
    assert message.startswith(f"connection to source PostgreSQL 127.0.0.1:5432/{database} was lost")
    assert (len(attempts), sleeps) == (3, [0.05, 0.1])
    # Nothing landed, nothing merged: the watermark stays where the last merge left it.
    assert [o.key for o in engine.zone.list("customers_slow/")] == files_before
    assert final_rows(engine, "customers_slow") == before
    assert engine.watermark(SLOW) == utc("13:00")

    # Once the source is back, the next run picks up from that watermark.
    exported, _, merged = engine.sync(SLOW, "r4", at(3))
    assert (exported.rows, exported.watermark_from) == (2, utc("13:00"))  # rows 1 and 2
    assert merged == MergeResult(1, 2, 0, 0, 0, 1, 1, 5, 5, False)
    assert final_rows(engine, "customers_slow")[2] == (
        2,
        "bo@new.example.com",
        "0.00",
        False,
        None,
        None,
        utc("14:00"),
        False,
    )


# --------------------------------------------------------------------------------------------
# 7-8: schema drift and pre-flight
# --------------------------------------------------------------------------------------------


def test_a_new_source_column_halts_the_export_unless_additive_columns_are_allowed(
    engine: Engine,
) -> None:
    engine.sync(CUSTOMERS, "r1")
    pg(engine.dsn, "alter table public.customers add column tier text")
    pg(
        engine.dsn,
        "update public.customers set tier = 'gold', updated_at = '2024-03-01 13:00:00+00' "
        "where customer_id = 1",
    )
    pg(
        engine.dsn,
        "insert into public.customers (customer_id, email, balance, updated_at, tier) "
        "values (6, 'fay@example.com', 1, '2024-03-01 13:30:00+00', 'silver')",
    )

    with pytest.raises(SchemaDriftError) as info:
        engine.export(CUSTOMERS, "r2", at(1))
    message = str(info.value)
    assert "tier" in message
    assert "public.customers" in message
    assert "allow_additive_columns" in message
    assert [o.key for o in engine.zone.list("customers/")] == [run_key("customers", "r1")]

    additive = dataclasses.replace(CUSTOMERS, allow_additive_columns=True)
    exported, _, merged = engine.sync(additive, "r3", at(2))

    assert exported == ExportResult(
        run_key("customers", "r3"), 4, utc("12:00"), "incremental", ("tier",)
    )
    assert merged == MergeResult(1, 4, 0, 0, 1, 1, 2, 5, 6, False)  # 6 new, 1 updated
    assert engine.query(
        "select customer_id, tier, updated_at from curated.customers_latest order by 1"
    ) == [
        (1, "gold", utc("13:00")),
        (2, None, utc("10:30")),
        (3, None, utc("11:00:00.123456")),
        (4, None, utc("12:00")),
        (5, None, utc("12:00")),
        (6, "silver", utc("13:30")),
    ]
    assert ("tier", "VARCHAR") in engine.query(
        "select column_name, data_type from information_schema.columns "
        "where table_schema = 'raw' and table_name = 'raw_customers'"
    )
    # STAGING: rows of the first export have no tier; the new export's rows have theirs.
    assert engine.query(
        "select run_id, customer_id, tier from raw.raw_customers "
        "where customer_id in (1, 4, 6) order by 1, 2"
    ) == [("r1", 1, None), ("r1", 4, None), ("r3", 1, "gold"), ("r3", 4, None), ("r3", 6, "silver")]
    # The next run sees no drift.
    assert engine.export(additive, "r4", at(3)).new_columns == ()


def test_pre_flight_names_a_missing_table_or_column(engine: Engine) -> None:
    def message(entry: dict[str, Any], error: type[Exception]) -> str:
        table = parse_table({**CUSTOMERS_ENTRY, **entry}, "test")
        with pytest.raises(error) as info:
            engine.export(table, "r1")
        assert "\n" not in str(info.value)
        return str(info.value)

    missing_table = message({"table_name": "public.clients"}, SourceQueryError)
    assert "public.clients does not exist" in missing_table
    other_schema = message({"table_name": "crm.customers"}, SourceQueryError)
    assert "crm.customers does not exist" in other_schema
    no_watermark = message({"watermark_col": "modified_at"}, NorthstarError)
    assert "public.customers has no column(s) modified_at" in no_watermark
    no_key = message({"primary_keys": ["customer_id", "region"]}, NorthstarError)
    assert "public.customers has no column(s) region" in no_key
    no_flag = message({"soft_delete_col": "deleted"}, NorthstarError)
    assert "public.customers has no column(s) deleted" in no_flag
    # Nothing landed, nothing created.
    assert engine.zone.list("") == []
    assert engine.query(
        "select count(*) from information_schema.tables where table_schema = 'curated'"
    ) == [(0,)]


# --------------------------------------------------------------------------------------------
# 11: S3 landing
# --------------------------------------------------------------------------------------------


def test_s3_landing_gives_the_same_final_as_a_local_folder(
    fresh_pg_dsn: str, tmp_path: Path, moto_s3: str, s3_bucket: str
) -> None:
    create_customers(fresh_pg_dsn)
    s3_zone = LandingResource(url=f"s3://{s3_bucket}/landing", s3_endpoint_url=moto_s3).get_zone()
    local = make_engine(fresh_pg_dsn, tmp_path / "local")
    on_s3 = make_engine(fresh_pg_dsn, tmp_path / "s3", zone=s3_zone)
    try:
        for e in (local, on_s3):
            e.sync(CUSTOMERS, "r1")
        pg(
            fresh_pg_dsn,
            "update public.customers set is_deleted = true, "
            "updated_at = '2024-03-01 13:00:00+00' where customer_id = 3",
        )
        results = [e.sync(CUSTOMERS, "r2", at(1)) for e in (local, on_s3)]

        assert results[0] == results[1]
        assert [o.key for o in s3_zone.list("customers/")] == [
            run_key("customers", "r1"),
            run_key("customers", "r2"),
        ]
        expected = {
            **SEEDED,
            3: (3, None, "123456789.99", None, -2.25, D(2024, 2, 29), utc("13:00"), True),
        }
        full = (
            f"select {BUSINESS}, source_file, line_no, run_id "
            "from curated.customers_latest order by 1"
        )
        assert final_rows(on_s3) == expected
        assert on_s3.query(full) == local.query(full)
        assert sync_runs(on_s3) == sync_runs(local)
        assert_lineage_points_at_staging(on_s3)
    finally:
        local.source.close()
        on_s3.source.close()


# --------------------------------------------------------------------------------------------
# Through Dagster: full refresh, dead letters, checks that fail
# --------------------------------------------------------------------------------------------

CHECKS = {
    "conserves_records",
    "row_count_delta",
    "watermark_drift_within_sla",
    "recent_source_rows_in_final",
    "no_duplicate_primary_keys",
    "dead_letters_reviewed",
}


@dataclass
class RunOutcome:
    success: bool
    materialized: dict[str, dict[str, Any]]
    """asset → metadata of its materialization."""
    checks: dict[str, tuple[bool, dict[str, Any]]]
    """check name → (passed, metadata)."""
    failures: list[str]

    def check(self, name: str) -> tuple[bool, dict[str, Any]]:
        return self.checks[name]


@dataclass
class DagsterSync:
    """`build_definitions()` on a test sync config, an ephemeral instance, one table."""

    table: str
    home: Path
    defs: dg.Definitions
    instance: dg.DagsterInstance

    @property
    def keys(self) -> list[dg.AssetKey]:
        return [
            dg.AssetKey(["landing", self.table]),
            dg.AssetKey(["raw", f"raw_{self.table}"]),
            dg.AssetKey(["curated", f"{self.table}_latest"]),
            dg.AssetKey(["staging", f"quarantine_{self.table}"]),
        ]

    def run(self, full_refresh: bool = False) -> RunOutcome:
        config: dict[str, Any] = dict(CONSOLE_QUIET)
        if full_refresh:
            config["ops"] = {f"landing__{self.table}": {"config": {"full_refresh": True}}}
        job = self.defs.resolve_implicit_global_asset_job_def()
        result = job.execute_in_process(
            asset_selection=self.keys,
            instance=self.instance,
            raise_on_error=False,
            run_config=config,
        )
        return self._outcome(result)

    def run_checks(self) -> RunOutcome:
        """Only the six sync checks of the table, nothing materialized."""
        job = self.defs.resolve_implicit_global_asset_job_def()
        checks = {
            k for k in job.asset_layer.asset_graph.asset_check_keys if k.asset_key in self.keys
        }
        assert {k.name for k in checks} == CHECKS
        subset = job.get_subset(asset_selection=set(), asset_check_selection=checks)
        result = subset.execute_in_process(
            instance=self.instance, raise_on_error=False, run_config=CONSOLE_QUIET
        )
        outcome = self._outcome(result)
        assert outcome.materialized == {}
        return outcome

    @staticmethod
    def _outcome(result: dg.ExecuteInProcessResult) -> RunOutcome:
        materialized: dict[str, dict[str, Any]] = {}
        checks: dict[str, tuple[bool, dict[str, Any]]] = {}
        failures = []
        for event in result.all_events:
            data = event.event_specific_data
            if event.event_type_value == "ASSET_MATERIALIZATION":
                meta = data.materialization.metadata
                materialized[event.asset_key.to_user_string()] = {
                    k: v.value for k, v in meta.items()
                }
            elif event.event_type_value == "ASSET_CHECK_EVALUATION":
                assert data.check_name not in checks
                checks[data.check_name] = (
                    bool(data.passed),
                    {k: v.value for k, v in data.metadata.items()},
                )
            elif event.event_type_value == "STEP_FAILURE":
                error = data.error
                failures.append(f"{event.step_key}: {error.cls_name if error else ''}")
        return RunOutcome(result.success, materialized, checks, failures)

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with DuckDBWarehouse(path=str(self.home / "warehouse.duckdb")).connect() as session:
            return session.fetchall(sql, params)


@pytest.fixture
def dagster_sync(
    fresh_pg_dsn: str, northstar_env: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[Callable[[dict[str, Any]], DagsterSync]]:
    """Builds the definitions for one configured table (NORTHSTAR_SYNC_CONFIG)."""
    from northstar_platform.definitions import build_definitions

    monkeypatch.setenv("NORTHSTAR_SOURCE_DSN", fresh_pg_dsn)
    with dg.DagsterInstance.ephemeral() as instance:

        def build(entry: dict[str, Any]) -> DagsterSync:
            config = tmp_path / "sync_tables.json"
            config.write_text(json.dumps({"tables": [entry]}))
            monkeypatch.setenv("NORTHSTAR_SYNC_CONFIG", str(config))
            table = entry["table_name"].split(".")[-1]
            return DagsterSync(table, northstar_env, build_definitions(), instance)

        yield build


def passing_checks(
    *,
    landed: int,
    rows_in: int,
    inserted: int,
    updated: int = 0,
    unchanged: int = 0,
    superseded: int = 0,
    dead_lettered: int = 0,
    before: int,
    after: int,
    mode: str = "incremental",
    source_max: str,
    final_max: str | None = None,
    drift_hours: float = 0.0,
    sampled: int,
) -> dict[str, tuple[bool, dict[str, Any]]]:
    """Every sync check passing, with the metadata they report for these (hand) numbers."""
    return {
        "conserves_records": (
            True,
            {"in_landed_rows_of_staged_files": landed, "out_staged": landed, "unaccounted": 0},
        ),
        "row_count_delta": (
            True,
            {
                "staged_rows_of_merged_files": rows_in,
                "rows_in": rows_in,
                "accounted": rows_in,
                "inserted": inserted,
                "updated": updated,
                "unchanged": unchanged,
                "superseded": superseded,
                "dead_lettered": dead_lettered,
                "final_rows_before": before,
                "final_rows_after": after,
                "final_rows_now": after,
                "mode": mode,
            },
        ),
        "watermark_drift_within_sla": (
            True,
            {
                "source_max": source_max,
                "final_max": final_max or source_max,
                "drift_hours": drift_hours,
                "sla_hours": 2.0,
            },
        ),
        "recent_source_rows_in_final": (
            True,
            {"sampled": sampled, "missing_or_different": 0, "examples": []},
        ),
        "no_duplicate_primary_keys": (True, {"duplicated_keys": 0, "sample": []}),
        "dead_letters_reviewed": (True, {"unreviewed": 0, "examples": []}),
    }


EXPORT_FILE = re.compile(r"^customers/\d{4}/\d{2}/\d{2}/\d{2}/run-[0-9a-f-]{36}(-full)?\.parquet$")


def test_full_refresh_through_dagster_reloads_and_the_next_run_is_incremental(
    dagster_sync: Callable[[dict[str, Any]], DagsterSync], fresh_pg_dsn: str
) -> None:
    create_customers(fresh_pg_dsn)
    platform = dagster_sync(CUSTOMERS_ENTRY)
    export_def = platform.defs.resolve_assets_def(platform.keys[0])
    assert export_def.op.retry_policy == dg.RetryPolicy(
        max_retries=2, delay=2, backoff=dg.Backoff.EXPONENTIAL
    )

    first = platform.run()
    assert first.success, first.failures
    assert first.checks == passing_checks(
        landed=5, rows_in=5, inserted=5, before=0, after=5,
        source_max="2024-03-01 12:00:00", sampled=5,
    )  # fmt: skip
    export_meta = first.materialized["landing/customers"]
    assert EXPORT_FILE.match(export_meta.pop("file"))
    assert export_meta == {
        "rows_exported": 5,
        "mode": "incremental",
        "watermark_from": "1970-01-01 (full backfill)",
        "new_columns": "none",
    }
    assert first.materialized["raw/raw_customers"] == {"files_loaded": 1, "rows_loaded": 5}
    assert first.materialized["curated/customers_latest"] == {
        "files": 1, "rows_in": 5, "inserted": 5, "updated": 0, "unchanged": 0,
        "superseded": 0, "dead_lettered": 0, "final_rows": 5, "mode": "incremental",
    }  # fmt: skip
    assert first.materialized["staging/quarantine_customers"] == {"dead_lettered": 0}

    # A hard delete an incremental run cannot see, and an update.
    pg(fresh_pg_dsn, "delete from public.customers where customer_id = 3")
    pg(
        fresh_pg_dsn,
        "update public.customers set balance = 20, updated_at = '2024-03-01 13:00:00+00' "
        "where customer_id = 1",
    )
    full = platform.run(full_refresh=True)
    assert full.success, full.failures
    assert full.checks == passing_checks(
        landed=9, rows_in=4, inserted=4, before=5, after=4, mode="full",
        source_max="2024-03-01 13:00:00", sampled=4,
    )  # fmt: skip
    export_meta = full.materialized["landing/customers"]
    assert export_meta.pop("file").endswith("-full.parquet")
    assert export_meta == {
        "rows_exported": 4,
        "mode": "full",
        "watermark_from": "1970-01-01 (full backfill)",
        "new_columns": "none",
    }
    final = f"select {BUSINESS} from curated.customers_latest order by 1"
    after_full = {
        1: (1, "ada@example.com", "20.00", True, 1.5, D(2024, 1, 1), utc("13:00"), False),
        2: SEEDED[2],
        4: SEEDED[4],
        5: SEEDED[5],
    }
    assert {r[0]: r for r in platform.query(final)} == after_full

    # The next run, without run config, is incremental from the watermark again.
    pg(
        fresh_pg_dsn,
        INSERT_CUSTOMER,
        [(6, "fay@example.com", "5", True, None, None, "2024-03-01 14:00:00+00")],
    )
    after = platform.run()
    assert after.success, after.failures
    assert after.checks == passing_checks(
        landed=11, rows_in=2, inserted=1, unchanged=1, before=4, after=5,
        source_max="2024-03-01 14:00:00", sampled=5,
    )  # fmt: skip
    export_meta = after.materialized["landing/customers"]
    assert not export_meta.pop("file").endswith("-full.parquet")
    assert export_meta == {
        "rows_exported": 2,  # row 1 at the 13:00 watermark, and row 6
        "mode": "incremental",
        "watermark_from": "2024-03-01 13:00:00",
        "new_columns": "none",
    }
    assert {r[0]: r for r in platform.query(final)} == {
        **after_full,
        6: (6, "fay@example.com", "5.00", True, None, None, utc("14:00"), False),
    }
    assert platform.query(
        "select mode, files, rows_in, inserted, final_rows_after from ops.sync_runs "
        "order by merged_at"
    ) == [("incremental", 1, 5, 5, 5), ("full", 1, 4, 4, 4), ("incremental", 1, 2, 1, 5)]


PREFERENCES_DDL = """
create table public.core_preferences (
    customer_key text,
    channel text,
    preference_state text,
    updated_ts timestamp
)
"""
PREFERENCES = [
    ("c-1", "email", "opt_in", "2024-03-01 09:00"),
    (None, "sms", "opt_out", "2024-03-01 09:30"),
    ("c-2", "sms", "opt_out", "2024-03-01 10:00"),
    ("c-3", None, "opt_in", "2024-03-01 10:30"),
    (None, "email", "opt_in", "2024-03-01 11:00"),
]
"""No primary-key constraint: three rows lack part of the configured key, among them the
newest (11:00), which sets the watermark."""
PREFERENCES_ENTRY = {
    "table_name": "public.core_preferences",
    "watermark_col": "updated_ts",
    "primary_keys": ["customer_key", "channel"],
}


def test_rows_without_a_key_are_dead_lettered_until_reviewed(
    dagster_sync: Callable[[dict[str, Any]], DagsterSync], fresh_pg_dsn: str
) -> None:
    pg(fresh_pg_dsn, PREFERENCES_DDL)
    pg(fresh_pg_dsn, "insert into public.core_preferences values (%s, %s, %s, %s)", PREFERENCES)
    platform = dagster_sync(PREFERENCES_ENTRY)

    first = platform.run()
    assert not first.success  # the blocking dead_letters_reviewed check fails the run
    assert first.failures == ["quarantine_core_preferences_checks: DagsterAssetCheckFailedError"]
    (export_file,) = [o[0] for o in platform.query("select source_file from ops.sync_loads")]
    expected = passing_checks(
        landed=5, rows_in=5, inserted=2, dead_lettered=3, before=0, after=2,
        source_max="2024-03-01 11:00:00", final_max="2024-03-01 10:00:00", drift_hours=1.0,
        sampled=2,
    )  # fmt: skip
    expected["dead_letters_reviewed"] = (
        False,
        {
            "unreviewed": 3,
            "examples": [
                f"{export_file}:2 primary_key_present",
                f"{export_file}:4 primary_key_present",
                f"{export_file}:5 primary_key_present",
            ],
        },
    )
    assert first.checks == expected
    assert first.materialized["staging/quarantine_core_preferences"] == {"dead_lettered": 3}
    assert platform.query(
        "select customer_key, channel, preference_state, updated_ts, is_deleted "
        "from curated.core_preferences_latest order by 1"
    ) == [
        ("c-1", "email", "opt_in", dt.datetime(2024, 3, 1, 9), False),
        ("c-2", "sms", "opt_out", dt.datetime(2024, 3, 1, 10), False),
    ]
    reason = (
        "raw.raw_core_preferences: a row needs customer_key, channel and updated_ts to be "
        "merged into curated.core_preferences_latest"
    )
    letters = platform.query(
        "select source, source_file, line_no, record_ref, rule, reason, payload "
        "from staging.quarantine_core_preferences order by line_no"
    )
    assert letters == [
        (
            "core_preferences", export_file, 2, None, "primary_key_present", reason,
            '{"channel": "sms", "customer_key": null, "preference_state": "opt_out", '
            '"updated_ts": "2024-03-01 09:30:00"}',
        ),
        (
            "core_preferences", export_file, 4, "c-3", "primary_key_present", reason,
            '{"channel": null, "customer_key": "c-3", "preference_state": "opt_in", '
            '"updated_ts": "2024-03-01 10:30:00"}',
        ),
        (
            "core_preferences", export_file, 5, None, "primary_key_present", reason,
            '{"channel": "email", "customer_key": null, "preference_state": "opt_in", '
            '"updated_ts": "2024-03-01 11:00:00"}',
        ),
    ]  # fmt: skip

    # The watermark counts the dead-lettered 11:00 row: the next export starts there, and
    # the same row exported again is not a new dead letter.
    second = platform.run()
    assert (
        second.materialized["landing/core_preferences"]["watermark_from"] == "2024-03-01 11:00:00"
    )
    assert second.materialized["landing/core_preferences"]["rows_exported"] == 1
    assert second.checks["row_count_delta"] == (
        True,
        {
            "staged_rows_of_merged_files": 1, "rows_in": 1, "accounted": 1, "inserted": 0,
            "updated": 0, "unchanged": 0, "superseded": 1, "dead_lettered": 0,
            "final_rows_before": 2, "final_rows_after": 2, "final_rows_now": 2,
            "mode": "incremental",
        },
    )  # fmt: skip
    assert second.checks["dead_letters_reviewed"] == expected["dead_letters_reviewed"]
    assert platform.query("select count(*) from staging.quarantine_core_preferences") == [(3,)]

    # Reviewing the three rows clears the check; later runs keep it clear.
    platform.query(
        "insert into ops.dead_letter_reviews select source, source_file, line_no, 'ops@example', "
        "timestamp '2024-03-02 10:00' from staging.quarantine_core_preferences"
    )
    reviewed = platform.run_checks()
    assert reviewed.checks["dead_letters_reviewed"] == (True, {"unreviewed": 0, "examples": []})
    third = platform.run()
    assert third.success, third.failures
    assert all(passed for passed, _ in third.checks.values()), third.checks
    assert set(third.checks) == CHECKS


def test_the_sync_checks_fail_when_final_is_tampered_with_or_drifts(
    dagster_sync: Callable[[dict[str, Any]], DagsterSync],
    fresh_pg_dsn: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    create_customers(fresh_pg_dsn)
    platform = dagster_sync(CUSTOMERS_ENTRY)
    synced = platform.run()
    assert synced.success, synced.failures
    assert all(passed for passed, _ in synced.checks.values())
    platform.query("create table ops.final_copy as select * from curated.customers_latest")

    def restore() -> None:
        platform.query("delete from curated.customers_latest")
        platform.query("insert into curated.customers_latest select * from ops.final_copy")

    def failed(outcome: RunOutcome) -> dict[str, dict[str, Any]]:
        assert set(outcome.checks) == CHECKS
        return {name: meta for name, (passed, meta) in outcome.checks.items() if not passed}

    # A row lost from FINAL (the newest one, so the sample sees it too).
    platform.query("delete from curated.customers_latest where customer_id = 5")
    lost = failed(platform.run_checks())
    assert set(lost) == {"row_count_delta", "recent_source_rows_in_final"}
    assert (
        lost["row_count_delta"]["final_rows_after"],
        lost["row_count_delta"]["final_rows_now"],
    ) == (5, 4)
    assert lost["recent_source_rows_in_final"] == {
        "sampled": 5,
        "missing_or_different": 1,
        "examples": ["5 | 2024-03-01 12:00:00"],
    }

    # A key twice.
    restore()
    platform.query(
        "insert into curated.customers_latest select * from ops.final_copy where customer_id = 2"
    )
    doubled = failed(platform.run_checks())
    assert set(doubled) == {"row_count_delta", "no_duplicate_primary_keys"}
    assert doubled["no_duplicate_primary_keys"] == {"duplicated_keys": 1, "sample": ["2"]}
    assert doubled["row_count_delta"]["final_rows_now"] == 6

    # A watermark that no longer matches the source.
    restore()
    platform.query(
        "update curated.customers_latest set updated_at = updated_at - interval 1 second "
        "where customer_id = 3"
    )
    shifted = failed(platform.run_checks())
    assert shifted == {
        "recent_source_rows_in_final": {
            "sampled": 5,
            "missing_or_different": 1,
            "examples": ["3 | 2024-03-01 11:00:00.123456"],
        }
    }

    # The source moves 3 h ahead of FINAL without a sync: drift beyond a 0.5 h SLA.
    restore()
    assert all(passed for passed, _ in platform.run_checks().checks.values())
    monkeypatch.setenv("NORTHSTAR_SYNC_DRIFT_SLA_HOURS", "0.5")
    pg(
        fresh_pg_dsn,
        "update public.customers set updated_at = '2024-03-01 15:00:00+00' where customer_id = 2",
    )
    drifted = failed(platform.run_checks())
    assert drifted == {
        "watermark_drift_within_sla": {
            "source_max": "2024-03-01 15:00:00",
            "final_max": "2024-03-01 12:00:00",
            "drift_hours": 3.0,
            "sla_hours": 0.5,
        }
    }
    # A sync catches up and every check passes again.
    caught_up = platform.run()
    assert caught_up.success, caught_up.failures
    assert failed(caught_up) == {}
    assert caught_up.checks["watermark_drift_within_sla"][1]["drift_hours"] == 0.0
