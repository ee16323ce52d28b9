"""Fingerprints: equal content gives equal fingerprints whatever the row order and the run
bookkeeping; any business change gives another; partitions are matched as text."""

import datetime as dt
import decimal
import hashlib

import duckdb
import pytest

from northstar_platform.lib.fingerprints import BOOKKEEPING_COLUMNS, fingerprint, to_json
from northstar_platform.resources.warehouse import DuckDBSession

pytestmark = pytest.mark.integration

ROWS = [
    # business_date, order_id, amount, note, run_id (bookkeeping)
    (dt.date(2026, 3, 1), "o-2", decimal.Decimal("10.50"), None, "run-a"),
    (dt.date(2026, 3, 1), "o-1", decimal.Decimal("3.00"), "x", "run-a"),
    (dt.date(2026, 3, 2), "o-3", decimal.Decimal("7.25"), "y", "run-a"),
]


def _session(rows: list[tuple], name: str = "t") -> DuckDBSession:
    con = duckdb.connect()
    con.execute("create schema audit")
    con.execute(
        f"create table audit.{name} (business_date date, order_id varchar, "
        "amount decimal(12, 2), note varchar, run_id varchar)"
    )
    con.executemany(f"insert into audit.{name} values (?, ?, ?, ?, ?)", rows)
    return DuckDBSession(con)


def expected_hash(rows: list[tuple[str, ...]]) -> str:
    """sha256 of the canonical text, written out independently of the module."""
    text = "".join("\x1f".join(r) + "\n" for r in sorted(rows))
    return hashlib.sha256(text.encode()).hexdigest()


def test_partition_fingerprint_is_the_sorted_canonical_text_without_bookkeeping() -> None:
    got = fingerprint(_session(ROWS), "audit", "t", "2026-03-01")
    assert got.rows == 2
    assert got.content_hash == expected_hash(
        [("2026-03-01", "o-1", "3", "x"), ("2026-03-01", "o-2", "10.5", "\\N")]
    )
    assert got.relation == "audit.t" and got.partition == "2026-03-01"


def test_row_order_and_run_ids_do_not_change_it_but_content_does() -> None:
    base = fingerprint(_session(ROWS), "audit", "t")
    rerun = [(*r[:4], "run-b") for r in reversed(ROWS)]
    assert fingerprint(_session(rerun), "audit", "t") == base
    changed = [*ROWS[:2], (dt.date(2026, 3, 2), "o-3", decimal.Decimal("7.26"), "y", "run-a")]
    other = fingerprint(_session(changed), "audit", "t")
    assert other.rows == base.rows and other.content_hash != base.content_hash
    # The changed row is in the other partition: the first partition's fingerprint holds.
    assert fingerprint(_session(changed), "audit", "t", "2026-03-01") == fingerprint(
        _session(ROWS), "audit", "t", "2026-03-01"
    )
    assert "run_id" in BOOKKEEPING_COLUMNS


def test_missing_table_and_unpartitioned_table_are_named() -> None:
    session = _session(ROWS)
    with pytest.raises(LookupError, match=r"audit\.nope does not exist"):
        fingerprint(session, "audit", "nope")
    session.execute("create table audit.plain (k varchar)")
    with pytest.raises(LookupError, match=r"audit\.plain has no partition column"):
        fingerprint(session, "audit", "plain", "2026-03-01")


def test_json_form_lists_relation_partition_rows_and_hash() -> None:
    got = fingerprint(_session(ROWS), "audit", "t", "2026-03-02")
    assert to_json([got]) == (
        '[{"content_hash": "'
        + expected_hash([("2026-03-02", "o-3", "7.25", "y")])
        + '", "partition": "2026-03-02", "relation": "audit.t", "rows": 1}]'
    )


def test_a_range_covers_both_ends() -> None:
    session = _session(ROWS)
    both = fingerprint(session, "audit", "t", "2026-03-01..2026-03-02")
    assert both.rows == 3
    assert both.content_hash == fingerprint(session, "audit", "t").content_hash
    assert fingerprint(session, "audit", "t", "2026-03-02..2026-03-09").rows == 1
