"""The WMS (hourly) and finance (daily) slices end to end: landed CSV → raw → staging +
quarantine, checks, sensors, release.

Each test writes small CSV files by hand into a landing folder (or a moto S3 bucket), with the
arrival time (file mtime) set explicitly where the rows depend on it, materializes only the
hours (one `run_partition` per hour, as the WMS sensor's runs do) or days (`materialize_range`)
it needs on `build_definitions()`, and reads the DuckDB warehouse read-only. Every expected row
is written out by hand from DESIGN §4/§5, the issue's list of bad inputs and the rule tables;
nothing is computed by the code under test.
"""

import datetime as dt
import io
import json
import os
import time
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dagster as dg
import pytest

from northstar_platform.resources.landing import LandingResource, LandingZone, LocalLandingZone

pytestmark = pytest.mark.integration

H1, H2 = "2024-03-01-10:00", "2024-03-01-11:00"
D1, D2 = "2024-03-01", "2024-03-02"
RAW = dg.AssetKey(["raw", "raw_wms_shipments"])
STG = dg.AssetKey(["staging", "stg_wms_shipments"])
QUARANTINE = dg.AssetKey(["staging", "quarantine_wms"])
WMS = [RAW, STG, QUARANTINE]
FIN_RAW = dg.AssetKey(["raw", "raw_finance_revenue"])
FIN_STG = dg.AssetKey(["staging", "stg_finance_revenue"])
FIN_QUARANTINE = dg.AssetKey(["staging", "quarantine_finance"])
FINANCE = [FIN_RAW, FIN_STG, FIN_QUARANTINE]
WMS_LABEL, FIN_LABEL = "raw.raw_wms_shipments", "raw.raw_finance_revenue"
WMS_HEADER = "shipment_id,order_id,status,quantity,warehouse_code,event_ts"
FIN_HEADER = "business_date,currency,gross_revenue_cents"
GATE = "quarantine_rate_within_threshold"
WMS_CHECK_NAMES = {
    ("raw/raw_wms_shipments", "conserves_records"),
    ("raw/raw_wms_shipments", "matches_contract"),
    ("staging/stg_wms_shipments", "conserves_records"),
    ("staging/stg_wms_shipments", "matches_contract"),
    ("staging/stg_wms_shipments", "no_duplicate_shipment_event"),
    ("staging/stg_wms_shipments", GATE),
    ("staging/stg_wms_shipments", "volume_within_baseline"),
    ("staging/quarantine_wms", "matches_contract"),
}
FIN_CHECK_NAMES = {
    ("raw/raw_finance_revenue", "conserves_records"),
    ("raw/raw_finance_revenue", "matches_contract"),
    ("staging/stg_finance_revenue", "conserves_records"),
    ("staging/stg_finance_revenue", "matches_contract"),
    ("staging/stg_finance_revenue", "no_duplicate_revenue_row"),
    ("staging/stg_finance_revenue", GATE),
    ("staging/stg_finance_revenue", "volume_within_baseline"),
    ("staging/quarantine_finance", "matches_contract"),
}


def at(day: str, clock: str) -> dt.datetime:
    """A naive UTC timestamp (how the warehouse stores them)."""
    return dt.datetime.fromisoformat(f"{day} {clock}")


def epoch(moment: dt.datetime) -> float:
    return moment.replace(tzinfo=dt.UTC).timestamp()


def csv(*lines: str) -> bytes:
    """Lines, each ended by a newline."""
    return "".join(f"{line}\n" for line in lines).encode()


def payload(record: str | None) -> str:
    return json.dumps({"record": record}, sort_keys=True)


# --------------------------------------------------------------------------------------------
# Fixtures and helpers
# --------------------------------------------------------------------------------------------


@dataclass
class Platform:
    """One settings environment on a local landing folder; runs hours or days, reads the
    warehouse."""

    home: Path
    instance: dg.DagsterInstance

    @property
    def landing(self) -> Path:
        return self.home / "landing"

    def drop(self, key: str, data: bytes, arrived: dt.datetime) -> None:
        """Land a file whose arrival time (mtime) is `arrived` (naive UTC)."""
        path = self.landing / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        os.utime(path, (epoch(arrived), epoch(arrived)))

    def run_hours(self, hours: list[str]) -> Any:
        """One run of the three WMS assets per hour (what the sensor's runs do)."""
        from northstar_platform.definitions import build_definitions
        from northstar_platform.runner import RangeReport, run_partition

        job = build_definitions().resolve_implicit_global_asset_job_def()
        report = RangeReport()
        for hour in hours:
            one = run_partition(job, self.instance, WMS, hour)
            for name, count in one.materialized.items():
                report.materialized[name] = report.materialized.get(name, 0) + count
            report.checks += one.checks
            report.failures += one.failures
            report.blocked += one.blocked
        return report

    def run_days(self, days: list[str]) -> Any:
        from northstar_platform.definitions import build_definitions
        from northstar_platform.runner import materialize_range

        return materialize_range(build_definitions(), self.instance, days, selection=FINANCE)

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with read_warehouse(self.home) as con:
            return [tuple(r) for r in con.execute(sql, list(params)).fetchall()]

    def metadata(self, key: dg.AssetKey, partition: str) -> dict[str, Any]:
        """The latest materialization metadata of one asset partition."""
        records = self.instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=key, asset_partitions=[partition]), limit=1
        ).records
        materialization = records[0].asset_materialization
        assert materialization is not None
        return {k: v.value for k, v in materialization.metadata.items()}


@contextmanager
def read_warehouse(home: Path) -> Iterator[Any]:
    import duckdb

    con = duckdb.connect(str(home / "warehouse.duckdb"), read_only=True)
    try:
        con.execute("set timezone = 'UTC'")
        yield con
    finally:
        con.close()


@pytest.fixture
def platform(
    northstar_env: Path, fresh_pg_dsn: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[Platform]:
    """A fresh home (local landing folder, embedded DuckDB); no table synced from the source."""
    no_sync = tmp_path / "no_synced_tables.json"
    no_sync.write_text('{"tables": []}')
    monkeypatch.setenv("NORTHSTAR_SYNC_CONFIG", str(no_sync))
    monkeypatch.setenv("NORTHSTAR_SOURCE_DSN", fresh_pg_dsn)
    with dg.DagsterInstance.ephemeral() as instance:
        yield Platform(home=northstar_env, instance=instance)


def checks_by_key(report: Any) -> dict[tuple[str, str, str], tuple[bool, dict[str, Any]]]:
    return {(c.asset, c.check, c.partition): (c.passed, c.metadata) for c in report.checks}


def outcomes(report: Any) -> dict[tuple[str, str, str], bool]:
    return {(c.asset, c.check, c.partition): c.passed for c in report.checks}


def expected_outcomes(
    names: set[tuple[str, str]],
    partitions: list[str],
    failed: Collection[tuple[str, str]] = (),
) -> dict[tuple[str, str, str], bool]:
    """Every check of `names` on every partition, passing except `failed` (check, partition)."""
    return {(a, c, p): (c, p) not in failed for a, c in names for p in partitions}


def snapshot(platform: Platform, tables: Sequence[str]) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the tables, every partition, every column but run_id."""
    return {t: platform.query(f"select * exclude (run_id) from {t} order by all") for t in tables}


def run_ids(platform: Platform, tables: Sequence[str], partition: str) -> set[str]:
    found: set[str] = set()
    for table in tables:
        sql = f"select distinct run_id from {table} where partition_key = ?"
        found |= {r[0] for r in platform.query(sql, (partition,))}
    return found


WMS_TABLES = ("raw.raw_wms_shipments", "staging.stg_wms_shipments", "staging.quarantine_wms")
FIN_TABLES = (
    "raw.raw_finance_revenue",
    "staging.stg_finance_revenue",
    "staging.quarantine_finance",
)
RAW_SQL = (
    "select source_file, line_no, record, utf8_valid, has_line_end, ingested_ts "
    "from raw.raw_wms_shipments where partition_key = ? order by source_file, line_no"
)
STG_SQL = (
    "select shipment_id, order_id, status, quantity, warehouse_code, event_ts, copies, "
    "source_file, line_no, ingested_ts from staging.stg_wms_shipments "
    "where partition_key = ? order by shipment_id, event_ts"
)
QUARANTINE_SQL = (
    "select source, source_file, line_no, record_ref, rule, reason, payload, quarantined_at, "
    "held_rows from staging.quarantine_wms where partition_key = ? order by source_file, line_no"
)
FIN_STG_SQL = (
    "select business_date, currency, gross_revenue_cents, copies, source_file, line_no, "
    "ingested_ts from staging.stg_finance_revenue where partition_key = ? "
    "order by business_date, currency"
)
FIN_QUARANTINE_SQL = (
    "select source, source_file, line_no, record_ref, rule, reason, payload, quarantined_at, "
    "held_rows from staging.quarantine_finance where partition_key = ? "
    "order by source_file, line_no"
)


# --------------------------------------------------------------------------------------------
# WMS: every bad input of the issue in one landing hour (H1), a clean hour (H2)
# --------------------------------------------------------------------------------------------

W1, W2 = "wms/2024/03/01/10/", "wms/2024/03/01/11/"
F1, F2 = f"{W1}shipments-001.csv", f"{W1}shipments-002.csv"
REORDERED, EXTRA, MISSING = f"{W1}reordered.csv", f"{W1}extra-column.csv", f"{W1}missing-column.csv"
HEADER_ONLY, BLANK, ZERO = f"{W1}header-only.csv", f"{W1}blank.csv", f"{W1}zero.csv"
A1, A2 = at(D1, "10:20:00"), at(D1, "10:40:00")
"""Arrivals of shipments-001.csv and shipments-002.csv (the re-send)."""
A_REORDERED, A_EXTRA, A_MISSING = at(D1, "10:21:00"), at(D1, "10:22:00"), at(D1, "10:23:00")
A_HEADER_ONLY, A_BLANK, A_ZERO = at(D1, "10:24:00"), at(D1, "10:25:00"), at(D1, "10:26:00")

SH1 = "sh-1,o-1,picked,2,WH-A,2024-03-01T10:05:00Z"
SH2 = "sh-2,o-2,packed,1,WH-A,2024-03-01T12:07:30.5+02:00"  # 10:07:30.5 UTC
SH3 = "sh-3,o-3,shipped,1000000,WH-B,2024-03-01T10:10:00"  # naive = UTC; the largest quantity
HUGE = "sh-4,o-4,shipped,99999999999999999999999,WH-A,2024-03-01T10:00:00Z"
EPOCH = "sh-5,o-5,shipped,1,WH-A,1970-01-01T00:00:00Z"
FUTURE = "sh-6,o-6,shipped,1,WH-A,2024-03-02T10:20:01Z"  # 86,401 s after A1
LOST = "sh-7,o-7,lost,1,WH-A,2024-03-01T10:00:00Z"
ZERO_QTY = "sh-8,o-8,shipped,0,WH-A,2024-03-01T10:00:00Z"
FIVE_FIELDS = "sh-9,o-9,shipped,1,WH-A"
LATIN1 = b"sh-10,o-10,caf\xe9,1,WH-A,2024-03-01T10:00:00Z"
LATIN1_TEXT = "sh-10,o-10,caf\\xe9,1,WH-A,2024-03-01T10:00:00Z"
TRUNCATED = "sh-11,o-11,shipped,2,WH-A,2024-03-01T10:1"
SH12 = "sh-12,o-12,delivered,3,WH-B,2024-03-01T10:30:00Z"
REORDERED_HEADER = "order_id,shipment_id,status,quantity,warehouse_code,event_ts"
SH20 = "sh-20,o-20,in_transit,5,WH-C,2024-03-01T11:05:00Z"

FILES_H1: list[tuple[str, bytes, dt.datetime]] = [
    (
        F1,
        csv(WMS_HEADER, SH1, SH2, SH3, HUGE, EPOCH, FUTURE, LOST, ZERO_QTY, "", FIVE_FIELDS)
        + LATIN1
        + b"\n"
        + TRUNCATED.encode(),  # cut off: no line end
        A1,
    ),
    (F2, csv(WMS_HEADER, SH1, SH12), A2),  # re-sends sh-1
    (REORDERED, csv(REORDERED_HEADER, "o-13,sh-13,shipped,1,WH-A,2024-03-01T10:00:00Z",
                    "o-14,sh-14,shipped,1,WH-A,2024-03-01T10:00:00Z"), A_REORDERED),
    (EXTRA, csv(f"{WMS_HEADER},carrier", f"{SH1},DHL"), A_EXTRA),
    (MISSING, csv("shipment_id,order_id,status,quantity,event_ts",
                  "sh-15,o-15,shipped,1,2024-03-01T10:00:00Z"), A_MISSING),
    (HEADER_ONLY, csv(WMS_HEADER), A_HEADER_ONLY),  # an empty report: no rows, nothing wrong
    (BLANK, b"\n", A_BLANK),  # one empty line: no header
    (ZERO, b"", A_ZERO),  # 0 bytes
    (f"{W1}notes.txt", b"not a drop\n", A1),  # not a .csv: not part of the hour
]  # fmt: skip
FILES_H2: list[tuple[str, bytes, dt.datetime]] = [
    # The same file name as in H1: H2's own file, and sh-1 is H2's own row there.
    (f"{W2}shipments-001.csv", csv(WMS_HEADER, SH1, SH20), at(D1, "11:15:00")),
]
EXPECTED_RAW_H1_F1 = [
    (F1, 1, WMS_HEADER, True, True, A1),
    (F1, 2, SH1, True, True, A1),
    (F1, 3, SH2, True, True, A1),
    (F1, 4, SH3, True, True, A1),
    (F1, 5, HUGE, True, True, A1),
    (F1, 6, EPOCH, True, True, A1),
    (F1, 7, FUTURE, True, True, A1),
    (F1, 8, LOST, True, True, A1),
    (F1, 9, ZERO_QTY, True, True, A1),
    (F1, 10, "", True, True, A1),
    (F1, 11, FIVE_FIELDS, True, True, A1),
    (F1, 12, LATIN1_TEXT, False, True, A1),
    (F1, 13, TRUNCATED, True, False, A1),
]
EXPECTED_STG_H1 = [
    ("sh-1", "o-1", "picked", 2, "WH-A", at(D1, "10:05:00"), 2, F1, 2, A1),
    ("sh-12", "o-12", "delivered", 3, "WH-B", at(D1, "10:30:00"), 1, F2, 3, A2),
    ("sh-2", "o-2", "packed", 1, "WH-A", at(D1, "10:07:30.5"), 1, F1, 3, A1),
    ("sh-3", "o-3", "shipped", 1_000_000, "WH-B", at(D1, "10:10:00"), 1, F1, 4, A1),
]
EXPECTED_WMS = f"expected `{WMS_HEADER}`"
ALL_MISSING = "missing shipment_id, order_id, status, quantity, warehouse_code, event_ts"
STATUSES = "picked, packed, shipped, in_transit, delivered, returned, cancelled"
EXPECTED_QUARANTINE_H1 = [
    ("wms", BLANK, 1, None, "header_matches",
     f"{WMS_LABEL}: header is `` ({ALL_MISSING}); {EXPECTED_WMS}; the whole file (1 line) is "
     "held", payload(""), A_BLANK, 1),
    ("wms", EXTRA, 1, None, "header_matches",
     f"{WMS_LABEL}: header is `{WMS_HEADER},carrier` (extra carrier); {EXPECTED_WMS}; the whole "
     "file (2 lines) is held", payload(f"{WMS_HEADER},carrier"), A_EXTRA, 2),
    ("wms", MISSING, 1, None, "header_matches",
     f"{WMS_LABEL}: header is `shipment_id,order_id,status,quantity,event_ts` (missing "
     f"warehouse_code); {EXPECTED_WMS}; the whole file (2 lines) is held",
     payload("shipment_id,order_id,status,quantity,event_ts"), A_MISSING, 2),
    ("wms", REORDERED, 1, None, "header_matches",
     f"{WMS_LABEL}: header is `{REORDERED_HEADER}` (the contract's columns in another order or "
     f"repeated); {EXPECTED_WMS}; the whole file (3 lines) is held", payload(REORDERED_HEADER),
     A_REORDERED, 3),
    ("wms", F1, 5, "sh-4", "quantity_integer",
     f"{WMS_LABEL}: column quantity='99999999999999999999999': expected an integer of at most "
     "18 digits", payload(HUGE), A1, 1),
    ("wms", F1, 6, "sh-5", "event_ts_sane",
     f"{WMS_LABEL} column event_ts='1970-01-01 00:00:00.000000': expected a time after "
     "2010-01-01", payload(EPOCH), A1, 1),
    ("wms", F1, 7, "sh-6", "event_ts_sane",
     f"{WMS_LABEL} column event_after_arrival_s='86401': expected an event time at most 86400 s "
     "after the file arrived", payload(FUTURE), A1, 1),
    ("wms", F1, 8, "sh-7", "status_known",
     f"{WMS_LABEL} column status='lost': expected one of {STATUSES}", payload(LOST), A1, 1),
    ("wms", F1, 9, "sh-8", "quantity_in_range",
     f"{WMS_LABEL} column quantity='0': expected a quantity from 1 to 1,000,000",
     payload(ZERO_QTY), A1, 1),
    ("wms", F1, 10, None, "column_count_matches",
     f"{WMS_LABEL}: line is empty; expected 6 fields ({WMS_HEADER})", payload(""), A1, 1),
    ("wms", F1, 11, None, "column_count_matches",
     f"{WMS_LABEL}: line has 5 fields; expected 6 ({WMS_HEADER})", payload(FIVE_FIELDS), A1, 1),
    ("wms", F1, 12, None, "utf8_valid", f"{WMS_LABEL}: line is not valid UTF-8",
     payload(LATIN1_TEXT), A1, 1),
    ("wms", F1, 13, "sh-11", "row_complete",
     f"last line has no line end (the file looks cut off): {WMS_LABEL}: column "
     "event_ts='2024-03-01T10:1': expected an ISO-8601 timestamp (e.g. 2026-11-01T10:15:00Z)",
     payload(TRUNCATED), A1, 1),
    ("wms", ZERO, 0, None, "file_not_empty",
     f"{WMS_LABEL}: file is empty (0 bytes); expected the header `{WMS_HEADER}`", payload(None),
     A_ZERO, 1),
]  # fmt: skip
"""Raw H1: 13 + 3 + 3 + 2 + 2 + 1 + 1 + 1 = 26 rows = 3 accepted headers (001, 002,
header-only) + 4 staged + 1 collapsed (sh-1 of 002) + 18 held rows (9 lines of 001, 3 + 2 + 2
+ 1 rows of the four wrong-header files, 1 for the 0-byte file) in 14 records."""


def drop_all(platform: Platform, files: list[tuple[str, bytes, dt.datetime]]) -> None:
    for key, data, arrived in files:
        platform.drop(key, data, arrived)


def test_wms_every_bad_input_is_held_with_its_reason_and_every_line_is_accounted_for(
    platform: Platform,
):
    drop_all(platform, FILES_H1 + FILES_H2)

    report = platform.run_hours([H1, H2])

    # Every check ran on both hours; only the 1% gate of the bad hour fails (18 of 26 rows).
    assert report.failures == []
    assert report.blocked == [H1]
    assert outcomes(report) == expected_outcomes(WMS_CHECK_NAMES, [H1, H2], {(GATE, H1)})
    checks = checks_by_key(report)
    stg = "staging/stg_wms_shipments"
    assert checks[(stg, GATE, H1)][1] == {
        "observed_rate": 0.692308,
        "threshold": 0.01,
        "numerator": 18,
        "denominator": 26,
        "note": "",
    }
    assert checks[(stg, GATE, H2)][1] == {
        "observed_rate": 0.0,
        "threshold": 0.01,
        "numerator": 0,
        "denominator": 3,
        "note": "",
    }
    # Conservation, exactly, with the bad inputs present.
    assert checks[("raw/raw_wms_shipments", "conserves_records", H1)][1] == {
        "in_landed_rows": 26,
        "out_raw": 26,
        "unaccounted": 0,
    }
    assert checks[(stg, "conserves_records", H1)][1] == {
        "in_raw": 26,
        "out_headers": 3,
        "out_staged": 4,
        "out_collapsed_duplicates": 1,
        "out_held_rows": 18,
        "unaccounted": 0,
    }
    assert checks[(stg, "conserves_records", H2)][1] == {
        "in_raw": 3,
        "out_headers": 1,
        "out_staged": 2,
        "out_collapsed_duplicates": 0,
        "out_held_rows": 0,
        "unaccounted": 0,
    }
    assert checks[(stg, "no_duplicate_shipment_event", H1)][1] == {
        "duplicated_keys": 0,
        "sample": [],
    }
    for table in WMS_TABLES:
        asset = table.replace(".", "/")
        assert checks[(asset, "matches_contract", H1)][1]["differences"] == "none"
    assert report.materialized == {
        "raw/raw_wms_shipments": 2,
        "staging/stg_wms_shipments": 2,
        "staging/quarantine_wms": 2,
    }

    raw_h1 = platform.query(RAW_SQL, (H1,))
    assert [r for r in raw_h1 if r[0] == F1] == EXPECTED_RAW_H1_F1
    assert [r[:3] for r in raw_h1 if r[0] == ZERO] == [(ZERO, 0, None)]
    assert {r[0] for r in raw_h1} == {F1, F2, REORDERED, EXTRA, MISSING, HEADER_ONLY, BLANK, ZERO}
    assert platform.query(STG_SQL, (H1,)) == EXPECTED_STG_H1
    assert platform.query(QUARANTINE_SQL, (H1,)) == EXPECTED_QUARANTINE_H1
    # The same file name in H2 is H2's own file: two files in two partitions.
    h2_file, a_h2 = f"{W2}shipments-001.csv", at(D1, "11:15:00")
    assert platform.query(STG_SQL, (H2,)) == [
        ("sh-1", "o-1", "picked", 2, "WH-A", at(D1, "10:05:00"), 1, h2_file, 2, a_h2),
        ("sh-20", "o-20", "in_transit", 5, "WH-C", at(D1, "11:05:00"), 1, h2_file, 3, a_h2),
    ]
    assert platform.query(QUARANTINE_SQL, (H2,)) == []
    assert platform.query(
        "select partition_key, source_file, count(*) from raw.raw_wms_shipments "
        "where source_file like '%shipments-001.csv' group by all order by all"
    ) == [(H1, F1, 13), (H2, h2_file, 3)]
    # The shared view lists the WMS quarantine.
    assert platform.query(
        "select partition_key, count(*), sum(held_rows) from staging.quarantine_records "
        "where source = 'wms' group by all"
    ) == [(H1, 14, 18)]
    counts = {
        "rows_in": 26,
        "headers": 3,
        "staged": 4,
        "quarantined": 14,
        "held_rows": 18,
        "duplicates_collapsed": 1,
    }
    assert platform.metadata(STG, H1) == counts
    assert platform.metadata(QUARANTINE, H1) == counts
    assert platform.metadata(RAW, H1) == {"rows": 26, "files": 8}

    # Materializing H1 again gives the same rows in every column but run_id, only on H1.
    before = snapshot(platform, WMS_TABLES)
    h1_run, h2_run = run_ids(platform, WMS_TABLES, H1), run_ids(platform, WMS_TABLES, H2)
    assert len(h1_run) == 1
    assert len(h2_run) == 1
    again = platform.run_hours([H1])
    assert outcomes(again) == expected_outcomes(WMS_CHECK_NAMES, [H1], {(GATE, H1)})
    assert snapshot(platform, WMS_TABLES) == before
    assert run_ids(platform, WMS_TABLES, H2) == h2_run
    new_h1_run = run_ids(platform, WMS_TABLES, H1)
    assert len(new_h1_run) == 1
    assert new_h1_run != h1_run


def test_wms_gate_passes_at_exactly_one_percent_and_fails_above_it(platform: Platform):
    """100 raw rows with 1 held passes (1%); 99 raw rows with 1 held (1.0101%) fails."""
    good = [f"g-{n:03},o-{n:03},shipped,1,WH-A,2024-03-01T10:00:00Z" for n in range(97)]
    bad = "b-1,o-b,shipped,0,WH-A,2024-03-01T10:00:00Z"
    arrived = at(D1, "10:30:00")
    platform.drop(f"{W1}s.csv", csv(WMS_HEADER, *good, bad, good[0]), arrived)  # 100 rows
    platform.drop(f"{W2}s.csv", csv(WMS_HEADER, *good, bad), at(D1, "11:30:00"))  # 99 rows

    report = platform.run_hours([H1, H2])

    gate = {p: (passed, meta) for (_, c, p), (passed, meta) in checks_by_key(report).items()
            if c == GATE}  # fmt: skip
    assert gate == {
        H1: (True, {"observed_rate": 0.01, "threshold": 0.01, "numerator": 1,
                    "denominator": 100, "note": ""}),
        H2: (False, {"observed_rate": 0.010101, "threshold": 0.01, "numerator": 1,
                     "denominator": 99, "note": ""}),
    }  # fmt: skip
    assert report.blocked == [H2]
    assert report.failures == []


def test_wms_a_late_file_rematerializes_its_old_hour_only(platform: Platform):
    from northstar_platform.defs.fulfillment.sensors import wms_files_sensor

    drop_all(platform, FILES_H2)
    platform.drop(f"{W1}shipments-001.csv", csv(WMS_HEADER, SH1, SH2), A1)
    landing = LandingResource(url=str(platform.landing))
    first, cursor = tick(wms_files_sensor, landing, None)
    assert [p for p, _ in first] == [H1, H2]
    platform.run_hours([p for p, _ in first])
    h2_before = snapshot_partition(platform, H2)

    # Hours later, a file lands in H1's folder: sh-1 again, and a new event.
    late = f"{W1}late.csv"
    arrived = at(D1, "14:00:00")
    platform.drop(late, csv(WMS_HEADER, SH1, "sh-30,o-30,delivered,1,WH-C,2024-03-01T10:50:00Z"),
                  arrived)  # fmt: skip
    requests, cursor = tick(wms_files_sensor, landing, cursor)
    assert [p for p, _ in requests] == [H1]
    assert requests[0][1] not in {run_key for _, run_key in first}
    report = platform.run_hours([p for p, _ in requests])

    assert report.failures == []
    assert report.blocked == []
    assert outcomes(report) == expected_outcomes(WMS_CHECK_NAMES, [H1])
    assert platform.query(STG_SQL, (H1,)) == [
        ("sh-1", "o-1", "picked", 2, "WH-A", at(D1, "10:05:00"), 2, f"{W1}shipments-001.csv", 2,
         A1),
        ("sh-2", "o-2", "packed", 1, "WH-A", at(D1, "10:07:30.5"), 1, f"{W1}shipments-001.csv",
         3, A1),
        ("sh-30", "o-30", "delivered", 1, "WH-C", at(D1, "10:50:00"), 1, late, 3, arrived),
    ]  # fmt: skip
    assert snapshot_partition(platform, H2) == h2_before  # H2 untouched, run ids included
    assert tick(wms_files_sensor, landing, cursor)[0] == []


def snapshot_partition(platform: Platform, partition: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every column (run_id included) of one partition of the three WMS tables."""
    return {
        t: platform.query(f"select * from {t} where partition_key = ? order by all", (partition,))
        for t in WMS_TABLES
    }


def test_wms_a_file_below_the_hours_folder_is_not_part_of_the_hour(platform: Platform):
    """DESIGN §4: an hour's files are `wms/YYYY/MM/DD/HH/*.csv`, the ones the sensor maps to
    the hour. A file one folder further down (an archive, a sub-drop) belongs to no hour, so
    no sensor run ever follows it; it must not be loaded with the hour either."""
    from northstar_platform.defs.fulfillment.sensors import wms_partition

    archived = f"{W1}archive/shipments-000.csv"
    assert wms_partition(archived) is None
    platform.drop(f"{W1}shipments-001.csv", csv(WMS_HEADER, SH1), A1)
    platform.drop(archived, csv(WMS_HEADER, SH2), A1)

    platform.run_hours([H1])

    assert platform.query(
        "select distinct source_file from raw.raw_wms_shipments where partition_key = ?", (H1,)
    ) == [(f"{W1}shipments-001.csv",)]
    assert [r[0] for r in platform.query(STG_SQL, (H1,))] == ["sh-1"]


def test_wms_a_file_holding_only_a_bom_is_accounted_for(platform: Platform):
    """A 3-byte file with nothing but a UTF-8 BOM landed: raw must keep a row for it (as for a
    0-byte file) and the raw conservation check (which counts it as 1 landed row) must pass."""
    platform.drop(f"{W1}shipments-001.csv", csv(WMS_HEADER, SH1), A1)
    platform.drop(f"{W1}bom-only.csv", b"\xef\xbb\xbf", A2)

    report = platform.run_hours([H1])

    assert checks_by_key(report)[("raw/raw_wms_shipments", "conserves_records", H1)] == (
        True,
        {"in_landed_rows": 3, "out_raw": 3, "unaccounted": 0},
    )
    assert [
        r[:2] for r in platform.query(QUARANTINE_SQL, (H1,)) if r[1] == f"{W1}bom-only.csv"
    ] == [("wms", f"{W1}bom-only.csv")]


def test_wms_malformed_values_are_held_and_never_fail_the_hours_run(platform: Platform):
    """DESIGN §5.7: bad input is quarantined, never a crash. A quantity with two signs and a
    timestamp whose UTC conversion leaves the calendar must be held like any bad value."""
    two_signs = "sh-40,o-40,shipped,-+5,WH-A,2024-03-01T10:00:00Z"
    year_one = "sh-41,o-41,shipped,1,WH-A,0001-01-01T00:00:00+01:00"
    platform.drop(f"{W1}shipments-001.csv", csv(WMS_HEADER, SH1, two_signs, year_one), A1)

    report = platform.run_hours([H1])

    assert report.failures == []
    assert [r[0] for r in platform.query(STG_SQL, (H1,))] == ["sh-1"]
    assert [(r[2], r[3]) for r in platform.query(QUARANTINE_SQL, (H1,))] == [
        (3, "sh-40"),
        (4, "sh-41"),
    ]


# --------------------------------------------------------------------------------------------
# Finance: the same bad inputs in a landing day, the latest report wins
# --------------------------------------------------------------------------------------------

FD1, FD2 = "finance/2024/03/01/", "finance/2024/03/02/"
R1, R2 = f"{FD1}daily_revenue.csv", f"{FD1}daily_revenue_restated.csv"
R_REORDERED, R_ZERO = f"{FD1}reordered.csv", f"{FD1}zero.csv"
RA1, RA2 = at(D1, "06:00:00"), at(D1, "09:00:00")
RA_REORDERED, RA_ZERO = at(D1, "06:30:00"), at(D1, "06:40:00")
FIN_LOWER = "2024-02-29,usd,1"
FIN_FUTURE = "2024-03-03,GBP,1"  # two days after the report arrived
FIN_1970 = "1970-01-01,USD,1"
FIN_HUGE = "2024-02-29,JPY,10000000000000000"
FIN_DIGITS = "2024-02-29,CHF,99999999999999999999"
FIN_LATIN1 = b"2024-02-29,\xe9UR,1"
FIN_LATIN1_TEXT = "2024-02-29,\\xe9UR,1"
FIN_FOUR = "2024-02-29,SEK,1,extra"
FIN_CUT = "2024-02-29,NO"
FIN_REORDERED_HEADER = "currency,business_date,gross_revenue_cents"
AMOUNT = "an amount from 0 to 1,000,000,000,000,000 cents"

FILES_D1: list[tuple[str, bytes, dt.datetime]] = [
    (
        R1,
        csv(FIN_HEADER, "2024-02-29,USD,123456", "2024-02-29,EUR,5000", FIN_LOWER, FIN_FUTURE,
            "2024-03-02,GBP,700", FIN_1970, FIN_HUGE, FIN_DIGITS, "")
        + FIN_LATIN1 + b"\n" + csv(FIN_FOUR) + FIN_CUT.encode(),
        RA1,
    ),
    (R2, csv(FIN_HEADER, "2024-02-29,USD,124000"), RA2),  # the restated USD figure
    (R_REORDERED, csv(FIN_REORDERED_HEADER, "USD,2024-02-29,1"), RA_REORDERED),
    (R_ZERO, b"", RA_ZERO),
]  # fmt: skip
D2_FILE = f"{FD2}daily_revenue.csv"
FILES_D2 = [
    (D2_FILE, csv(FIN_HEADER, "2024-03-01,USD,1000", "2024-03-01,EUR,2000", "2024-03-01,GBP,300"),
     at(D2, "06:00:00")),
]  # fmt: skip
EXPECTED_FIN_QUARANTINE_D1 = [
    ("finance", R1, 4, "2024-02-29", "currency_code",
     f"{FIN_LABEL} column currency='usd': expected three upper-case letters", payload(FIN_LOWER),
     RA1, 1),
    ("finance", R1, 5, "2024-03-03", "business_date_sane",
     f"{FIN_LABEL} column business_date_after_arrival_d='2': expected a business date no later "
     "than the day after the report arrived", payload(FIN_FUTURE), RA1, 1),
    ("finance", R1, 7, "1970-01-01", "business_date_sane",
     f"{FIN_LABEL} column business_date='1970-01-01': expected a date after 2010-01-01",
     payload(FIN_1970), RA1, 1),
    ("finance", R1, 8, "2024-02-29", "gross_revenue_in_range",
     f"{FIN_LABEL} column gross_revenue_cents='10000000000000000': expected {AMOUNT}",
     payload(FIN_HUGE), RA1, 1),
    ("finance", R1, 9, "2024-02-29", "gross_revenue_integer",
     f"{FIN_LABEL}: column gross_revenue_cents='99999999999999999999': expected an integer "
     "amount in minor units", payload(FIN_DIGITS), RA1, 1),
    ("finance", R1, 10, None, "column_count_matches",
     f"{FIN_LABEL}: line is empty; expected 3 fields ({FIN_HEADER})", payload(""), RA1, 1),
    ("finance", R1, 11, None, "utf8_valid", f"{FIN_LABEL}: line is not valid UTF-8",
     payload(FIN_LATIN1_TEXT), RA1, 1),
    ("finance", R1, 12, None, "column_count_matches",
     f"{FIN_LABEL}: line has 4 fields; expected 3 ({FIN_HEADER})", payload(FIN_FOUR), RA1, 1),
    ("finance", R1, 13, None, "row_complete",
     f"last line has no line end (the file looks cut off): {FIN_LABEL}: line has 2 fields; "
     f"expected 3 ({FIN_HEADER})", payload(FIN_CUT), RA1, 1),
    ("finance", R_REORDERED, 1, None, "header_matches",
     f"{FIN_LABEL}: header is `{FIN_REORDERED_HEADER}` (the contract's columns in another order "
     f"or repeated); expected `{FIN_HEADER}`; the whole file (2 lines) is held",
     payload(FIN_REORDERED_HEADER), RA_REORDERED, 2),
    ("finance", R_ZERO, 0, None, "file_not_empty",
     f"{FIN_LABEL}: file is empty (0 bytes); expected the header `{FIN_HEADER}`", payload(None),
     RA_ZERO, 1),
]  # fmt: skip
"""Raw D1: 13 + 2 + 2 + 1 = 18 rows = 2 headers + 3 staged + 1 collapsed (the first USD figure)
+ 12 held rows (9 lines of daily_revenue.csv, 2 of reordered.csv, 1 for the 0-byte file)."""


def test_finance_bad_inputs_are_held_the_latest_report_wins_and_every_line_counts(
    platform: Platform,
):
    drop_all(platform, FILES_D1 + FILES_D2)

    report = platform.run_days([D1, D2])

    assert report.failures == []
    assert report.blocked == [D1]
    assert outcomes(report) == expected_outcomes(FIN_CHECK_NAMES, [D1, D2], {(GATE, D1)})
    checks = checks_by_key(report)
    stg = "staging/stg_finance_revenue"
    assert checks[("raw/raw_finance_revenue", "conserves_records", D1)][1] == {
        "in_landed_rows": 18,
        "out_raw": 18,
        "unaccounted": 0,
    }
    assert checks[(stg, "conserves_records", D1)][1] == {
        "in_raw": 18,
        "out_headers": 2,
        "out_staged": 3,
        "out_collapsed_duplicates": 1,
        "out_held_rows": 12,
        "unaccounted": 0,
    }
    assert checks[(stg, GATE, D1)][1]["observed_rate"] == 0.666667
    assert checks[(stg, GATE, D2)][1]["observed_rate"] == 0.0
    assert platform.query(FIN_STG_SQL, (D1,)) == [
        (dt.date(2024, 2, 29), "EUR", 5000, 1, R1, 3, RA1),
        (dt.date(2024, 2, 29), "USD", 124000, 2, R2, 2, RA2),
        (dt.date(2024, 3, 2), "GBP", 700, 1, R1, 6, RA1),
    ]
    assert platform.query(FIN_QUARANTINE_SQL, (D1,)) == EXPECTED_FIN_QUARANTINE_D1
    # The same file name on D2 is D2's own report.
    a_d2 = at(D2, "06:00:00")
    assert platform.query(FIN_STG_SQL, (D2,)) == [
        (dt.date(2024, 3, 1), "EUR", 2000, 1, D2_FILE, 3, a_d2),
        (dt.date(2024, 3, 1), "GBP", 300, 1, D2_FILE, 4, a_d2),
        (dt.date(2024, 3, 1), "USD", 1000, 1, D2_FILE, 2, a_d2),
    ]
    assert platform.query(FIN_QUARANTINE_SQL, (D2,)) == []

    # Materializing D1 again gives the same rows in every column but run_id, only on D1.
    before = snapshot(platform, FIN_TABLES)
    d2_run = run_ids(platform, FIN_TABLES, D2)
    again = platform.run_days([D1])
    assert outcomes(again) == expected_outcomes(FIN_CHECK_NAMES, [D1], {(GATE, D1)})
    assert snapshot(platform, FIN_TABLES) == before
    assert run_ids(platform, FIN_TABLES, D2) == d2_run


# --------------------------------------------------------------------------------------------
# Sensors: local folder and moto S3
# --------------------------------------------------------------------------------------------


@dataclass
class Drops:
    """Writes into a landing zone; local files get strictly increasing mtimes."""

    zone: LandingZone
    clock: float = 0.0

    def put(self, key: str, data: bytes, same_instant: bool = False) -> None:
        """Write `key`; `same_instant`: at the arrival time of the previous write (local), or
        within the same second as it, almost surely (S3, right after `next_instant`)."""
        self.zone.write_bytes(key, data)
        if isinstance(self.zone, LocalLandingZone):
            if not same_instant:
                self.clock = max(self.clock + 1, time.time())
            os.utime(self.zone.root / key, (self.clock, self.clock))

    def next_instant(self) -> None:
        """Make the next write arrive at a later instant than every write so far (S3
        `LastModified` has whole seconds)."""
        if not isinstance(self.zone, LocalLandingZone):
            time.sleep(1.05 - time.time() % 1)


@pytest.fixture(params=["local", "s3"])
def landing(request: pytest.FixtureRequest, tmp_path: Path) -> LandingResource:
    if request.param == "local":
        return LandingResource(url=str(tmp_path / "landing"))
    endpoint = request.getfixturevalue("moto_s3")
    bucket = request.getfixturevalue("s3_bucket")
    return LandingResource(url=f"s3://{bucket}/landing", s3_endpoint_url=endpoint)


def tick(
    sensor: Any, landing: LandingResource, cursor: str | None
) -> tuple[list[tuple[str, str]], str]:
    """One sensor evaluation: ([(partition, run key)], the new cursor)."""
    with dg.build_sensor_context(cursor=cursor, resources={"landing": landing}) as context:
        result = sensor(context)
    assert isinstance(result, dg.SensorResult)
    assert result.cursor is not None
    requests = [(str(r.partition_key), str(r.run_key)) for r in result.run_requests or []]
    return requests, result.cursor


WMS_IGNORED = [
    "wms/2024/03/01/24/a.csv",  # no hour 24
    "wms/2024/02/30/10/a.csv",  # no such date
    "wms/2024/03/01/1/a.csv",  # not zero-padded
    "wms/2024/03/01/a.csv",  # a day's folder, no hour
    "wms/2024/03/01/12/notes.txt",  # not a .csv: hour 12 gets no run
    "wms/2024/03/01/13/archive/a.csv",  # below the hour's folder: hour 13 gets no run
    "wms/a.csv",
    "finance/2024/03/01/a.csv",  # another source
    "wms-archive/2024/03/01/10/a.csv",
]
FIN_IGNORED = [
    "finance/2024/02/30/daily_revenue.csv",
    "finance/2024/3/1/daily_revenue.csv",
    "finance/2024/03/03/notes.txt",
    "finance/2024/03/04/old/daily_revenue.csv",
    "finance/2024/03/01/10/daily_revenue.csv",  # an hour folder: not a finance day
    "finance/daily_revenue.csv",
    "wms/2024/03/01/10/a.csv",
    "finance-archive/2024/03/01/daily_revenue.csv",
]


def sensor_scenario(
    sensor: Any,
    landing: LandingResource,
    *,
    keys: tuple[str, str, str],
    partitions: tuple[str, str, str],
    ignored: list[str],
) -> None:
    """keys[0] and keys[1] share a file name in two partitions; keys[2] lands in a third."""
    drops = Drops(landing.get_zone())
    first_key, second_key, third_key = keys
    p1, p2, p3 = partitions
    drops.put(first_key, b"a\n")
    drops.put(second_key, b"a\n")  # the same name and content, another partition
    for key in ignored:
        drops.put(key, b"x\n")

    first, cursor = tick(sensor, landing, None)
    assert [p for p, _ in first] == [p1, p2]
    for partition, run_key in first:
        assert run_key.startswith(f"{partition}:")
        assert len(run_key) == len(partition) + 1 + 16
    assert first[0][1][-16:] != first[1][1][-16:]
    run_keys = {run_key for _, run_key in first}

    # A restart resumes from the saved cursor string: nothing is asked for again.
    assert tick(sensor, landing, cursor) == ([], cursor)

    # A new file in a third partition, and a late file in the first: exactly those two.
    drops.next_instant()
    drops.put(third_key, b"c\n")
    late_key = first_key.rsplit("/", 1)[0] + "/late.csv"
    drops.put(late_key, b"late\n")
    second, cursor = tick(sensor, landing, cursor)
    assert sorted(p for p, _ in second) == sorted([p1, p3])
    assert not run_keys & {run_key for _, run_key in second}
    run_keys |= {run_key for _, run_key in second}

    # A replaced file: its partition again, under a new run key ...
    drops.next_instant()
    drops.put(second_key, b"a\nb\n")
    replaced, cursor = tick(sensor, landing, cursor)
    assert [p for p, _ in replaced] == [p2]
    assert replaced[0][1] not in run_keys
    run_keys.add(replaced[0][1])
    # ... also when it is replaced again within the instant the last tick recorded.
    drops.put(second_key, b"a\nb\nc\n", same_instant=True)
    again, cursor = tick(sensor, landing, cursor)
    assert [p for p, _ in again] == [p2]
    assert again[0][1] not in run_keys
    assert tick(sensor, landing, cursor)[0] == []

    # The same content written again (a later arrival): the same run key, so Dagster starts
    # no second run for it.
    drops.next_instant()
    drops.put(second_key, b"a\nb\nc\n")
    same, cursor = tick(sensor, landing, cursor)
    assert same == again
    # A restart from the saved cursor asks for nothing.
    assert tick(sensor, landing, cursor) == ([], cursor)


def test_wms_sensor_asks_for_the_hour_of_each_new_or_replaced_file(landing: LandingResource):
    from northstar_platform.defs.fulfillment.sensors import wms_files_sensor

    sensor_scenario(
        wms_files_sensor,
        landing,
        keys=(f"{W1}shipments.csv", f"{W2}shipments.csv", "wms/2024/03/02/00/shipments.csv"),
        partitions=(H1, H2, "2024-03-02-00:00"),
        ignored=WMS_IGNORED,
    )


def test_finance_sensor_asks_for_the_day_of_each_new_or_replaced_report(
    landing: LandingResource,
):
    from northstar_platform.defs.finance.sensors import finance_files_sensor

    sensor_scenario(
        finance_files_sensor,
        landing,
        keys=(f"{FD1}daily_revenue.csv", f"{FD2}daily_revenue.csv",
              "finance/2024/03/05/daily_revenue.csv"),
        partitions=(D1, D2, "2024-03-05"),
        ignored=FIN_IGNORED,
    )  # fmt: skip


def test_sensors_are_registered_and_target_their_jobs(
    northstar_env: Path, fresh_pg_dsn: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
):
    from northstar_platform.definitions import build_definitions

    no_sync = tmp_path / "no_synced_tables.json"
    no_sync.write_text('{"tables": []}')
    monkeypatch.setenv("NORTHSTAR_SYNC_CONFIG", str(no_sync))
    monkeypatch.setenv("NORTHSTAR_SOURCE_DSN", fresh_pg_dsn)
    defs = build_definitions()
    noon = epoch(at(D1, "12:34:56"))
    for sensor_name, job_name, assets, partition in (
        ("wms_files_sensor", "ingest_wms_job", WMS, "2024-03-01-12:00"),
        ("finance_files_sensor", "ingest_finance_job", FINANCE, D1),
    ):
        sensor = defs.resolve_sensor_def(sensor_name)
        assert sensor.job_name == job_name
        assert sensor.required_resource_keys == {"landing"}
        assert sensor.default_status == dg.DefaultSensorStatus.RUNNING
        job = defs.resolve_job_def(job_name)
        assert job.asset_layer.selected_asset_keys == set(assets)
        assert job.partitions_def is not None
        assert job.partitions_def.get_partition_key_for_timestamp(noon) == partition


def test_s3_drops_are_requested_by_the_sensors_and_ingested(
    platform: Platform, monkeypatch: pytest.MonkeyPatch, moto_s3: str, s3_bucket: str
):
    from northstar_platform.defs.finance.sensors import finance_files_sensor
    from northstar_platform.defs.fulfillment.sensors import wms_files_sensor

    url = f"s3://{s3_bucket}/landing"
    monkeypatch.setenv("NORTHSTAR_LANDING_URL", url)
    monkeypatch.setenv("NORTHSTAR_S3_ENDPOINT_URL", moto_s3)
    landing = LandingResource(url=url, s3_endpoint_url=moto_s3)
    zone = landing.get_zone()
    # S3 sets the arrival (now): the event must not be more than a day after it.
    stored = zone.write_bytes(f"{W1}shipments-001.csv", csv(WMS_HEADER, SH1, SH2, SH1))
    report_stored = zone.write_bytes(R1, csv(FIN_HEADER, "2024-02-29,USD,123456"))
    arrived = stored.last_modified.astimezone(dt.UTC).replace(tzinfo=None)
    report_arrived = report_stored.last_modified.astimezone(dt.UTC).replace(tzinfo=None)

    hours, _ = tick(wms_files_sensor, landing, None)
    assert [p for p, _ in hours] == [H1]
    days, _ = tick(finance_files_sensor, landing, None)
    assert [p for p, _ in days] == [D1]
    wms_report = platform.run_hours([p for p, _ in hours])
    finance_report = platform.run_days([p for p, _ in days])

    assert outcomes(wms_report) == expected_outcomes(WMS_CHECK_NAMES, [H1])
    assert outcomes(finance_report) == expected_outcomes(FIN_CHECK_NAMES, [D1])
    assert platform.query(STG_SQL, (H1,)) == [
        ("sh-1", "o-1", "picked", 2, "WH-A", at(D1, "10:05:00"), 2, F1, 2, arrived),
        ("sh-2", "o-2", "packed", 1, "WH-A", at(D1, "10:07:30.5"), 1, F1, 3, arrived),
    ]
    assert platform.query(FIN_STG_SQL, (D1,)) == [
        (dt.date(2024, 2, 29), "USD", 123456, 1, R1, 2, report_arrived)
    ]


# --------------------------------------------------------------------------------------------
# `northstar quarantine release` after a corrected file landed under the same name
# --------------------------------------------------------------------------------------------


def test_release_of_a_wms_hour_after_a_corrected_file(
    platform: Platform, monkeypatch: pytest.MonkeyPatch
):
    from click.testing import CliRunner
    from rich.console import Console

    from northstar_platform import cli

    key = f"{W1}shipments-001.csv"
    platform.drop(key, csv(WMS_HEADER, SH1, LOST), A1)
    first = platform.run_hours([H1])
    assert first.blocked == [H1]  # 1 held of 3 rows
    out = io.StringIO()
    monkeypatch.setattr(cli, "console", Console(file=out, width=200, highlight=False))
    runner = CliRunner()

    listed = runner.invoke(cli.main, ["quarantine", "list", "--source", "wms", "--tsv"])
    assert listed.exit_code == 0, listed.output + out.getvalue()
    assert listed.output.splitlines() == [
        "# 1 quarantined records",
        "\t".join(
            [
                "wms",
                H1,
                key,
                "3",
                "sh-7",
                "status_known",
                f"{WMS_LABEL} column status='lost': expected one of {STATUSES}",
            ]
        ),
    ]

    fixed = "sh-7,o-7,delivered,1,WH-A,2024-03-01T10:00:00Z"
    platform.drop(key, csv(WMS_HEADER, SH1, fixed), at(D1, "10:50:00"))  # the same name
    released = runner.invoke(
        cli.main, ["quarantine", "release", "--source", "wms", "--partition", H1]
    )

    assert released.exit_code == 0, released.output + out.getvalue()
    assert f"wms {H1}: 1 record(s) released, 0 still held" in out.getvalue()
    assert platform.query(QUARANTINE_SQL, (H1,)) == []
    fixed_at = at(D1, "10:50:00")
    assert platform.query(STG_SQL, (H1,)) == [
        ("sh-1", "o-1", "picked", 2, "WH-A", at(D1, "10:05:00"), 1, key, 2, fixed_at),
        ("sh-7", "o-7", "delivered", 1, "WH-A", at(D1, "10:00:00"), 1, key, 3, fixed_at),
    ]
    after = runner.invoke(cli.main, ["quarantine", "list", "--source", "wms", "--tsv"])
    assert after.output.splitlines() == ["# 0 quarantined records"]


def test_wms_volume_compares_an_hour_with_the_same_hour_of_earlier_days(platform: Platform):
    """Hour 10 carries 120 rows a day, hour 11 only 5. Against the *same hour* of earlier days
    a fourth day's 10:00 of 120 passes and its 11:00 of 120 (+2300%, 115 rows above) fails;
    against the previous hours (which mix 5s and 120s) both would be judged on a blend."""

    def rows(day: str, hour: int, count: int) -> bytes:
        lines = [
            f"s-{day}-{hour}-{n:03},o-{n:03},shipped,1,WH-A,{day}T{hour:02}:05:00Z"
            for n in range(count)
        ]
        return csv(WMS_HEADER, *lines)

    days = ["2024-03-01", "2024-03-02", "2024-03-03", "2024-03-04"]
    for day in days:
        y, m, d = day.split("-")
        platform.drop(f"wms/{y}/{m}/{d}/10/s.csv", rows(day, 10, 120), at(day, "10:30:00"))
        eleven = 120 if day == days[-1] else 5
        platform.drop(f"wms/{y}/{m}/{d}/11/s.csv", rows(day, 11, eleven), at(day, "11:30:00"))

    report = platform.run_hours([f"{day}-{hour}:00" for day in days for hour in (10, 11)])

    volume = {
        p: (passed, meta["rows"], meta["baseline_median"], meta["partitions_in_baseline"])
        for (_, c, p), (passed, meta) in checks_by_key(report).items()
        if c == "volume_within_baseline"
    }
    assert volume == {
        "2024-03-01-10:00": (True, 120, "none", 0),
        "2024-03-01-11:00": (True, 5, "none", 0),
        "2024-03-02-10:00": (True, 120, 120.0, 1),
        "2024-03-02-11:00": (True, 5, 5.0, 1),
        "2024-03-03-10:00": (True, 120, 120.0, 2),
        "2024-03-03-11:00": (True, 5, 5.0, 2),
        "2024-03-04-10:00": (True, 120, 120.0, 3),
        "2024-03-04-11:00": (False, 120, 5.0, 3),
    }
    assert report.blocked == ["2024-03-04-11:00"]
