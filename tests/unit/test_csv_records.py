"""Landed CSV files → physical lines → staged rows or held records (WMS and finance).

Expected values are written out by hand from DESIGN §4/§5, the module docs of
`lib/csv_records.py`, `lib/wms_shipments.py` and `lib/finance_revenue.py` and their rule
tables; nothing is computed by the code under test. Raw frames are built by hand, as the raw
asset stores them: the header is line 1, a 0-byte file is one row at line 0 without a record.
"""

import datetime as dt
from typing import Any

import polars as pl
import pytest

from northstar_platform.lib.csv_records import (
    header_problem,
    landed_row_count,
    lines_table,
    split_physical_lines,
    stage_csv,
)
from northstar_platform.lib.finance_revenue import FINANCE_CONTRACT
from northstar_platform.lib.finance_revenue import with_arrival_lag as finance_lag
from northstar_platform.lib.wms_shipments import WMS_CONTRACT
from northstar_platform.lib.wms_shipments import with_arrival_lag as wms_lag

WMS_HEADER = "shipment_id,order_id,status,quantity,warehouse_code,event_ts"
FINANCE_HEADER = "business_date,currency,gross_revenue_cents"
WMS = "raw.raw_wms_shipments"
FINANCE = "raw.raw_finance_revenue"
HOUR = "2024-03-01-10:00"
DAY = "2024-03-01"
ARRIVED = dt.datetime(2024, 3, 1, 10, 30)
"""Arrival (naive UTC) of the WMS files, unless a test says otherwise."""
STATUSES = "picked, packed, shipped, in_transit, delivered, returned, cancelled"
FIELDS = f"expected 6 ({WMS_HEADER})"
EMPTY = f"line is empty; expected 6 fields ({WMS_HEADER})"


# --------------------------------------------------------------------------------------------
# split_physical_lines and landed_row_count: what one landed file becomes in raw
# --------------------------------------------------------------------------------------------

SPLITS: list[tuple[bytes, list[tuple[str | None, bool, bool]]]] = [
    (b"", [(None, True, False)]),
    (b"\n", [("", True, True)]),
    (b"h\nr1\nr2\n", [("h", True, True), ("r1", True, True), ("r2", True, True)]),
    (b"h\r\nr1\r\n", [("h", True, True), ("r1", True, True)]),
    (b"\xef\xbb\xbfh\r\nr1\r\n", [("h", True, True), ("r1", True, True)]),
    (b"h\nr1\nr", [("h", True, True), ("r1", True, True), ("r", True, False)]),
    (b"h\r\nr1", [("h", True, True), ("r1", True, False)]),
    (b"h", [("h", True, False)]),
    (b"h\n\n\nr\n\n", [("h", True, True), ("", True, True), ("", True, True), ("r", True, True),
                      ("", True, True)]),
    (
        b"h\ncaf\xe9,1\ncaf\xc3\xa9,2\n\xff\xfe",
        [("h", True, True), ("caf\\xe9,1", False, True), ("café,2", True, True),
         ("\\xff\\xfe", False, False)],
    ),
    (b"a\rb\r\n", [("a\rb", True, True)]),
]  # fmt: skip
SPLIT_IDS = [
    "zero-bytes",
    "newline-only",
    "lf",
    "crlf",
    "bom-crlf",
    "no-final-newline",
    "crlf-no-final-newline",
    "one-line-no-newline",
    "empty-lines-kept",
    "invalid-utf8",
    "inner-cr-kept",
]


@pytest.mark.parametrize(("data", "expected"), SPLITS, ids=SPLIT_IDS)
def test_split_physical_lines(data: bytes, expected: list[tuple[str | None, bool, bool]]):
    assert split_physical_lines(data) == expected


@pytest.mark.parametrize(("data", "expected"), SPLITS, ids=SPLIT_IDS)
def test_landed_row_count_agrees_with_the_split(
    data: bytes, expected: list[tuple[str | None, bool, bool]]
):
    assert landed_row_count(data) == len(expected)
    assert landed_row_count(data) == len(split_physical_lines(data))


def test_a_file_holding_only_a_bom_is_one_raw_row_as_the_landed_count_says():
    """A 3-byte file with a BOM and nothing else has arrived: it must leave one raw row
    (held whole by staging), as `landed_row_count` counts it; otherwise it vanishes from raw
    and the raw conservation check of its partition fails (landed 1, raw 0)."""
    data = b"\xef\xbb\xbf"
    assert landed_row_count(data) == 1
    assert len(split_physical_lines(data)) == 1


def test_lines_table_numbers_lines_from_the_header_and_adds_loader_columns():
    table = lines_table(
        b"h\r\ncaf\xe9\nlast",
        partition_key=HOUR,
        source_file="wms/2024/03/01/10/a.csv",
        ingested_ts=dt.datetime(2024, 3, 1, 12, 30, tzinfo=dt.timezone(dt.timedelta(hours=2))),
        run_id="run-1",
    )
    assert table.to_pylist() == [
        {
            "record": record,
            "utf8_valid": ok,
            "has_line_end": ended,
            "partition_key": HOUR,
            "source_file": "wms/2024/03/01/10/a.csv",
            "line_no": line_no,
            "ingested_ts": ARRIVED,
            "run_id": "run-1",
        }
        for record, ok, ended, line_no in [
            ("h", True, True, 1),
            ("caf\\xe9", False, True, 2),
            ("last", True, False, 3),
        ]
    ]


def test_lines_table_of_a_zero_byte_file_is_one_row_at_line_zero():
    table = lines_table(
        b"", partition_key=HOUR, source_file="z.csv", ingested_ts=ARRIVED, run_id="run-1"
    )
    assert table.to_pylist() == [
        {
            "record": None,
            "utf8_valid": True,
            "has_line_end": False,
            "partition_key": HOUR,
            "source_file": "z.csv",
            "line_no": 0,
            "ingested_ts": ARRIVED,
            "run_id": "run-1",
        }
    ]


# --------------------------------------------------------------------------------------------
# header_problem: the exact words
# --------------------------------------------------------------------------------------------

EXPECT_WMS = f"expected `{WMS_HEADER}`"


@pytest.mark.parametrize(
    ("line", "utf8_valid", "expected"),
    [
        (WMS_HEADER, True, None),
        (" shipment_id , order_id,status,quantity,warehouse_code,event_ts ", True, None),
        ('"shipment_id","order_id","status","quantity","warehouse_code","event_ts"', True, None),
        (
            "order_id,shipment_id,status,quantity,warehouse_code,event_ts",
            True,
            "header is `order_id,shipment_id,status,quantity,warehouse_code,event_ts` (the "
            f"contract's columns in another order or repeated); {EXPECT_WMS}",
        ),
        (
            f"{WMS_HEADER},event_ts",
            True,
            f"header is `{WMS_HEADER},event_ts` (the contract's columns in another order or "
            f"repeated); {EXPECT_WMS}",
        ),
        (
            "shipment_id,order_id,status,quantity,event_ts",
            True,
            "header is `shipment_id,order_id,status,quantity,event_ts` (missing warehouse_code); "
            f"{EXPECT_WMS}",
        ),
        (
            f"{WMS_HEADER},carrier",
            True,
            f"header is `{WMS_HEADER},carrier` (extra carrier); {EXPECT_WMS}",
        ),
        (
            "shipment_id,order_id,state,qty,warehouse_code,event_ts",
            True,
            "header is `shipment_id,order_id,state,qty,warehouse_code,event_ts` (missing status, "
            f"quantity; extra state, qty); {EXPECT_WMS}",
        ),
        (
            "s1,o1,shipped,1,WH-A,2024-03-01T10:00:00Z",
            True,
            "header is `s1,o1,shipped,1,WH-A,2024-03-01T10:00:00Z` (missing shipment_id, order_id, "
            "status, quantity, warehouse_code, event_ts; extra s1, o1, shipped, 1, WH-A, "
            f"2024-03-01T10:00:00Z); {EXPECT_WMS}",
        ),
        (
            "",
            True,
            "header is `` (missing shipment_id, order_id, status, quantity, warehouse_code, "
            f"event_ts); {EXPECT_WMS}",
        ),
        (None, True, f"file is empty (0 bytes); expected the header `{WMS_HEADER}`"),
        ("shipment_id,caf\\xe9", False, f"header line is not valid UTF-8; {EXPECT_WMS}"),
        (WMS_HEADER, False, f"header line is not valid UTF-8; {EXPECT_WMS}"),
    ],
    ids=[
        "exact",
        "padded-names",
        "quoted-names",
        "other-order",
        "repeated-column",
        "missing-column",
        "extra-column",
        "missing-and-extra",
        "no-header-data-first",
        "blank-line",
        "zero-bytes",
        "not-utf8",
        "not-utf8-wins",
    ],
)
def test_header_problem_wms(line: str | None, utf8_valid: bool, expected: str | None):
    assert header_problem(WMS_CONTRACT, line, utf8_valid) == expected


def test_header_problem_finance():
    expected = f"expected `{FINANCE_HEADER}`"
    assert header_problem(FINANCE_CONTRACT, FINANCE_HEADER, True) is None
    assert header_problem(FINANCE_CONTRACT, "currency,business_date,gross_revenue_cents", True) == (
        "header is `currency,business_date,gross_revenue_cents` (the contract's columns in "
        f"another order or repeated); {expected}"
    )
    assert header_problem(FINANCE_CONTRACT, "business_date,currency,gross_revenue", True) == (
        "header is `business_date,currency,gross_revenue` (missing gross_revenue_cents; extra "
        f"gross_revenue); {expected}"
    )
    assert header_problem(FINANCE_CONTRACT, None, True) == (
        f"file is empty (0 bytes); expected the header `{FINANCE_HEADER}`"
    )


# --------------------------------------------------------------------------------------------
# Hand-built raw frames
# --------------------------------------------------------------------------------------------

Line = str | tuple[str, bool]
"""A line's text, or (text, utf8_valid) for a line that was not valid UTF-8."""

RAW_SCHEMA = {
    "record": pl.Utf8,
    "utf8_valid": pl.Boolean,
    "has_line_end": pl.Boolean,
    "partition_key": pl.Utf8,
    "source_file": pl.Utf8,
    "line_no": pl.Int64,
    "ingested_ts": pl.Datetime("us"),
    "run_id": pl.Utf8,
}


def landed(
    name: str, *lines: Line, arrived: dt.datetime = ARRIVED, cut: bool = False, pk: str = HOUR
) -> list[dict[str, Any]]:
    """The raw rows of one file: `lines` from line 1 (the header); `cut`: the last line has
    no line end; no lines at all: a 0-byte file (one row at line 0, no record)."""
    if not lines:
        return [
            {
                "record": None,
                "utf8_valid": True,
                "has_line_end": False,
                "partition_key": pk,
                "source_file": name,
                "line_no": 0,
                "ingested_ts": arrived,
                "run_id": "run-1",
            }
        ]
    rows = []
    for n, line in enumerate(lines, start=1):
        text, ok = line if isinstance(line, tuple) else (line, True)
        rows.append(
            {
                "record": text,
                "utf8_valid": ok,
                "has_line_end": not (cut and n == len(lines)),
                "partition_key": pk,
                "source_file": name,
                "line_no": n,
                "ingested_ts": arrived,
                "run_id": "run-1",
            }
        )
    return rows


def raw_frame(*files: list[dict[str, Any]]) -> pl.DataFrame:
    return pl.DataFrame([row for rows in files for row in rows], schema=RAW_SCHEMA)


def stage_wms(*files: list[dict[str, Any]]) -> Any:
    return stage_csv(WMS_CONTRACT, raw_frame(*files), wms_lag)


def stage_finance(*files: list[dict[str, Any]]) -> Any:
    return stage_csv(FINANCE_CONTRACT, raw_frame(*files), finance_lag)


def held_of(result: Any) -> list[tuple[Any, ...]]:
    return result.held.select("source_file", "line_no", "rule", "reason", "held_rows").rows()


WMS_STAGED = [
    "shipment_id",
    "order_id",
    "status",
    "quantity",
    "warehouse_code",
    "event_ts",
    "copies",
    "source_file",
    "line_no",
]


def staged_wms(result: Any) -> list[tuple[Any, ...]]:
    return result.staged.select(WMS_STAGED).rows()


def row(shipment: str, ts: str, *, status: str = "shipped", quantity: str = "1") -> str:
    """One WMS data line (DESIGN §4 column order)."""
    return f"{shipment},o-{shipment},{status},{quantity},WH-A,{ts}"


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


# --------------------------------------------------------------------------------------------
# stage_csv on WMS: every rule, exactly
# --------------------------------------------------------------------------------------------

TS = "2024-03-01T10:00:00Z"


@pytest.mark.parametrize(
    ("line", "rule", "reason"),
    [
        (
            "s1,o1,shipped,1,WH-A",
            "column_count_matches",
            f"{WMS}: line has 5 fields; {FIELDS}",
        ),
        (
            f"s1,o1,shipped,1,WH-A,{TS},extra",
            "column_count_matches",
            f"{WMS}: line has 7 fields; {FIELDS}",
        ),
        ("", "column_count_matches", f"{WMS}: {EMPTY}"),
        ("   ", "column_count_matches", f"{WMS}: {EMPTY}"),
        (
            f's1,"o1,shipped,1,WH-A,{TS}',
            "column_count_matches",
            f"{WMS}: line is not valid CSV (unexpected end of data)",
        ),
        (
            row("s1", TS, quantity="1.5"),
            "quantity_integer",
            f"{WMS}: column quantity='1.5': expected an integer of at most 18 digits",
        ),
        (
            row("s1", TS, quantity="two"),
            "quantity_integer",
            f"{WMS}: column quantity='two': expected an integer of at most 18 digits",
        ),
        (
            row("s1", TS, quantity="1e3"),
            "quantity_integer",
            f"{WMS}: column quantity='1e3': expected an integer of at most 18 digits",
        ),
        (
            row("s1", TS, quantity=""),
            "quantity_integer",
            f"{WMS}: column quantity='': expected an integer of at most 18 digits",
        ),
        (
            row("s1", TS, quantity="9" * 19),
            "quantity_integer",
            f"{WMS}: column quantity='{'9' * 19}': expected an integer of at most 18 digits",
        ),
        (
            row("s1", TS, quantity="9" * 400),
            "quantity_integer",
            f"{WMS}: column quantity='{'9' * 400}': expected an integer of at most 18 digits",
        ),
        (
            row("s1", "yesterday"),
            "event_ts_parses",
            f"{WMS}: column event_ts='yesterday': expected an ISO-8601 timestamp "
            "(e.g. 2026-11-01T10:15:00Z)",
        ),
        (
            row("s1", "2024-02-30T10:00:00Z"),
            "event_ts_parses",
            f"{WMS}: column event_ts='2024-02-30T10:00:00Z': expected an ISO-8601 timestamp "
            "(e.g. 2026-11-01T10:15:00Z)",
        ),
        (
            row("s1", "1970-01-01T00:00:00Z"),
            "event_ts_sane",
            f"{WMS} column event_ts='1970-01-01 00:00:00.000000': expected a time after 2010-01-01",
        ),
        (
            row("s1", "2009-12-31T23:59:59.999999Z"),
            "event_ts_sane",
            f"{WMS} column event_ts='2009-12-31 23:59:59.999999': expected a time after 2010-01-01",
        ),
        (
            row("s1", "2024-03-02T10:30:01Z"),
            "event_ts_sane",
            f"{WMS} column event_after_arrival_s='86401': expected an event time at most 86400 s "
            "after the file arrived",
        ),
        (
            row("s1", "2099-01-01T00:00:00Z"),
            "event_ts_sane",
            f"{WMS} column event_after_arrival_s='2361619800': expected an event time at most "
            "86400 s after the file arrived",
        ),
        (
            row("s1", TS, status="lost"),
            "status_known",
            f"{WMS} column status='lost': expected one of {STATUSES}",
        ),
        (
            row("s1", TS, status="SHIPPED"),
            "status_known",
            f"{WMS} column status='SHIPPED': expected one of {STATUSES}",
        ),
        (
            row("s1", TS, status=""),
            "status_known",
            f"{WMS} column status=NULL: expected a status",
        ),
        (
            row("s1", TS, quantity="0"),
            "quantity_in_range",
            f"{WMS} column quantity='0': expected a quantity from 1 to 1,000,000",
        ),
        (
            row("s1", TS, quantity="-3"),
            "quantity_in_range",
            f"{WMS} column quantity='-3': expected a quantity from 1 to 1,000,000",
        ),
        (
            row("s1", TS, quantity="1000001"),
            "quantity_in_range",
            f"{WMS} column quantity='1000001': expected a quantity from 1 to 1,000,000",
        ),
        (
            row("s1", TS, quantity="999999999999999999"),
            "quantity_in_range",
            f"{WMS} column quantity='999999999999999999': expected a quantity from 1 to 1,000,000",
        ),
        (
            f",o1,shipped,1,WH-A,{TS}",
            "shipment_id_present",
            f"{WMS} column shipment_id=NULL: expected a shipment id",
        ),
        (
            f"s1, ,shipped,1,WH-A,{TS}",
            "order_id_present",
            f"{WMS} column order_id=NULL: expected an order id",
        ),
        (
            f"s1,o1,shipped,1,,{TS}",
            "warehouse_code_present",
            f"{WMS} column warehouse_code=NULL: expected a warehouse code",
        ),
        (
            row("s1", TS, status="lost", quantity="0"),
            "status_known",
            f"{WMS} column status='lost': expected one of {STATUSES}; "
            f"{WMS} column quantity='0': expected a quantity from 1 to 1,000,000",
        ),
    ],
    ids=[
        "5-fields",
        "7-fields",
        "empty-line",
        "blank-line",
        "unclosed-quote",
        "quantity-decimal",
        "quantity-word",
        "quantity-exponent",
        "quantity-empty",
        "quantity-19-digits",
        "quantity-400-digits",
        "ts-word",
        "ts-no-such-date",
        "ts-1970",
        "ts-just-before-2010",
        "ts-one-second-past-a-day-after-arrival",
        "ts-2099",
        "status-unknown",
        "status-upper-case",
        "status-empty",
        "quantity-0",
        "quantity-negative",
        "quantity-above-max",
        "quantity-18-digits",
        "no-shipment-id",
        "blank-order-id",
        "no-warehouse",
        "two-rules-first-wins",
    ],
)
def test_wms_rule(line: str, rule: str, reason: str):
    result = stage_wms(landed("a.csv", WMS_HEADER, line))
    assert held_of(result) == [("a.csv", 2, rule, reason, 1)]
    assert result.staged.height == 0
    assert (result.headers, result.collapsed) == (1, 0)


def test_wms_invalid_utf8_line_is_held_whatever_it_holds():
    result = stage_wms(landed("a.csv", WMS_HEADER, (row("s1", TS, status="caf\\xe9"), False)))
    assert held_of(result) == [("a.csv", 2, "utf8_valid", f"{WMS}: line is not valid UTF-8", 1)]
    assert result.staged.height == 0


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-03-01T10:00:00Z", at("2024-03-01 10:00:00")),
        ("2024-03-01T12:07:30+02:00", at("2024-03-01 10:07:30")),
        ("2024-03-01T05:00:00.123456-05:00", at("2024-03-01 10:00:00.123456")),
        ("2024-03-01T23:30:00+14:00", at("2024-03-01 09:30:00")),
        ("2024-03-01T10:00:00", at("2024-03-01 10:00:00")),
        ("2024-03-01 10:00:00.5", at("2024-03-01 10:00:00.5")),
        ("2024-03-01T10:00:00+00:00", at("2024-03-01 10:00:00")),
        ("2010-01-01T00:00:00Z", at("2010-01-01 00:00:00")),
        ("2024-03-02T10:30:00Z", at("2024-03-02 10:30:00")),
        ("2024-03-02T11:30:00+01:00", at("2024-03-02 10:30:00")),
    ],
    ids=[
        "z",
        "plus-2",
        "minus-5-micro",
        "plus-14",
        "naive-is-utc",
        "space-separator",
        "zero-offset",
        "exactly-2010",
        "exactly-a-day-after-arrival",
        "a-day-after-arrival-with-offset",
    ],
)
def test_wms_event_ts_is_stored_as_naive_utc(text: str, expected: dt.datetime):
    result = stage_wms(landed("a.csv", WMS_HEADER, row("s1", text)))
    assert held_of(result) == []
    assert result.staged["event_ts"].to_list() == [expected]


def test_wms_values_at_the_edges_of_the_rules_are_staged_typed_and_trimmed():
    result = stage_wms(
        landed(
            "a.csv",
            WMS_HEADER,
            " s1 , o1 , picked , 1 ,WH-A,2024-03-01T10:00:00Z",
            row("s2", TS, status="cancelled", quantity="1000000"),
            row("s3", TS, status="in_transit", quantity="+7"),
            '"s4","o-s4","returned","0002","WH,B","2024-03-01T10:00:00Z"',
        )
    )
    assert held_of(result) == []
    ts = at("2024-03-01 10:00:00")
    assert staged_wms(result) == [
        ("s1", "o1", "picked", 1, "WH-A", ts, 1, "a.csv", 2),
        ("s2", "o-s2", "cancelled", 1_000_000, "WH-A", ts, 1, "a.csv", 3),
        ("s3", "o-s3", "in_transit", 7, "WH-A", ts, 1, "a.csv", 4),
        ("s4", "o-s4", "returned", 2, "WH,B", ts, 1, "a.csv", 5),
    ]
    assert result.staged.schema["quantity"] == pl.Int64
    assert result.staged.schema["event_ts"] == pl.Datetime("us")


def test_wms_a_quantity_with_two_signs_is_held_as_not_an_integer_instead_of_crashing():
    """`-+5` is not an integer: it must be held under quantity_integer like `1.5`, not raise
    (a ValueError from int() stops the whole hour's staging step)."""
    result = stage_wms(landed("a.csv", WMS_HEADER, row("s1", TS, quantity="-+5"), row("s2", TS)))
    assert held_of(result) == [
        (
            "a.csv",
            2,
            "quantity_integer",
            f"{WMS}: column quantity='-+5': expected an integer of at most 18 digits",
            1,
        )
    ]
    assert result.staged["shipment_id"].to_list() == ["s2"]


@pytest.mark.parametrize(
    "text", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"], ids=["year-1", "year-9999"]
)
def test_wms_a_timestamp_beyond_the_calendar_in_utc_is_held_instead_of_crashing(
    text: str,
):
    """Read as ISO-8601 but out of the representable range once converted to UTC: the line
    must be held (it is not a sane event time), not raise OverflowError from the whole step."""
    result = stage_wms(landed("a.csv", WMS_HEADER, row("s1", text), row("s2", TS)))
    held = held_of(result)
    assert [(f, n, rows) for f, n, _, _, rows in held] == [("a.csv", 2, 1)]
    assert held[0][2] in {"event_ts_parses", "event_ts_sane"}
    assert result.staged["shipment_id"].to_list() == ["s2"]


def test_wms_a_cut_off_last_line_is_held_as_row_complete_with_the_rule_it_broke():
    result = stage_wms(
        landed(
            "a.csv",
            WMS_HEADER,
            row("s1", TS),
            "s2,o-s2,shipped,1,WH-A,2024-03-01T10:0",
            cut=True,
        ),
        landed("b.csv", WMS_HEADER, "s3,o-s3,ship", cut=True),
        landed("c.csv", WMS_HEADER, row("s4", TS), cut=True),
        landed("d.csv", WMS_HEADER, ("s5,o-s5,caf\\xe9", False), cut=True),
    )
    cut = "last line has no line end (the file looks cut off): "
    assert held_of(result) == [
        (
            "a.csv",
            3,
            "row_complete",
            f"{cut}{WMS}: column event_ts='2024-03-01T10:0': expected an ISO-8601 timestamp "
            "(e.g. 2026-11-01T10:15:00Z)",
            1,
        ),
        ("b.csv", 2, "row_complete", f"{cut}{WMS}: line has 3 fields; {FIELDS}", 1),
        ("d.csv", 2, "row_complete", f"{cut}{WMS}: line is not valid UTF-8", 1),
    ]
    # A last line that reads whole is a row like any other, line end or not.
    assert result.staged.select("shipment_id", "source_file", "line_no").rows() == [
        ("s1", "a.csv", 2),
        ("s4", "c.csv", 2),
    ]
    assert (result.headers, result.collapsed) == (4, 0)


def test_wms_a_file_with_a_wrong_header_is_held_whole_and_the_others_go_on():
    reordered = "order_id,shipment_id,status,quantity,warehouse_code,event_ts"
    result = stage_wms(
        landed("a.csv", WMS_HEADER, row("s1", TS)),
        landed("b.csv", reordered, "o-s2,s2,shipped,1,WH-A," + TS, "o-s3,s3,shipped,1,WH-A," + TS),
        landed("c.csv", f"{WMS_HEADER},carrier", row("s4", TS) + ",DHL"),
        landed("d.csv", "shipment_id,order_id,status,quantity,event_ts"),
        landed("e.csv", ("shipment_id,caf\\xe9", False), row("s5", TS), row("s6", TS)),
        landed("f.csv", ""),
        landed("g.csv", row("s7", TS), row("s8", TS)),
    )
    whole = "; the whole file ({} line{}) is held"
    assert held_of(result) == [
        (
            "b.csv",
            1,
            "header_matches",
            f"{WMS}: header is `{reordered}` (the contract's columns in another order or "
            f"repeated); {EXPECT_WMS}{whole.format(3, 's')}",
            3,
        ),
        (
            "c.csv",
            1,
            "header_matches",
            f"{WMS}: header is `{WMS_HEADER},carrier` (extra carrier); {EXPECT_WMS}"
            f"{whole.format(2, 's')}",
            2,
        ),
        (
            "d.csv",
            1,
            "header_matches",
            f"{WMS}: header is `shipment_id,order_id,status,quantity,event_ts` (missing "
            f"warehouse_code); {EXPECT_WMS}{whole.format(1, '')}",
            1,
        ),
        (
            "e.csv",
            1,
            "header_matches",
            f"{WMS}: header line is not valid UTF-8; {EXPECT_WMS}{whole.format(3, 's')}",
            3,
        ),
        (
            "f.csv",
            1,
            "header_matches",
            f"{WMS}: header is `` (missing shipment_id, order_id, status, quantity, "
            f"warehouse_code, event_ts); {EXPECT_WMS}{whole.format(1, '')}",
            1,
        ),
        (
            "g.csv",
            1,
            "header_matches",
            f"{WMS}: header is `{row('s7', TS)}` (missing shipment_id, order_id, status, "
            "quantity, warehouse_code, event_ts; extra s7, o-s7, shipped, 1, WH-A, "
            f"2024-03-01T10:00:00Z); {EXPECT_WMS}{whole.format(2, 's')}",
            2,
        ),
    ]
    assert result.staged.select("shipment_id", "source_file").rows() == [("s1", "a.csv")]
    # 2 + 3 + 2 + 1 + 3 + 1 + 2 = 14 raw rows = 1 header + 1 staged + 0 collapsed + 12 held.
    assert (result.headers, result.collapsed) == (1, 0)


def test_wms_a_zero_byte_file_is_one_held_record_for_its_one_row():
    result = stage_wms(landed("z.csv"), landed("a.csv", WMS_HEADER, row("s1", TS)))
    assert held_of(result) == [
        (
            "z.csv",
            0,
            "file_not_empty",
            f"{WMS}: file is empty (0 bytes); expected the header `{WMS_HEADER}`",
            1,
        )
    ]
    assert result.staged["shipment_id"].to_list() == ["s1"]
    assert (result.headers, result.collapsed) == (1, 0)


def test_wms_a_partition_of_only_a_zero_byte_file_or_only_a_header():
    zero = stage_wms(landed("z.csv"))
    assert [(f, n, rule, rows) for f, n, rule, _, rows in held_of(zero)] == [
        ("z.csv", 0, "file_not_empty", 1)
    ]
    assert (zero.staged.height, zero.headers, zero.collapsed) == (0, 0, 0)
    header_only = stage_wms(landed("h.csv", WMS_HEADER, cut=True))
    assert held_of(header_only) == []
    assert (header_only.staged.height, header_only.headers, header_only.collapsed) == (0, 1, 0)


def test_wms_resent_rows_collapse_on_shipment_and_event_time_keeping_the_earliest_landed():
    early, late = dt.datetime(2024, 3, 1, 10, 5), dt.datetime(2024, 3, 1, 10, 50)
    result = stage_wms(
        # Sorts first by name but landed last: its copies are not the ones kept.
        landed(
            "a-resend.csv",
            WMS_HEADER,
            row("s1", TS, status="packed"),
            row("s2", "2024-03-01T10:00:00Z"),
            arrived=late,
        ),
        landed(
            "b.csv",
            WMS_HEADER,
            row("s1", TS),
            row("s2", "2024-03-01T12:00:00+02:00"),  # the same instant as a-resend's s2
            row("s1", "2024-03-01T10:01:00Z"),  # another event of s1: its own row
            row("s1", TS, quantity="0"),  # held: not a copy of anything
            row("s1", TS),
            arrived=early,
        ),
    )
    ts = at("2024-03-01 10:00:00")
    assert result.staged.select([*WMS_STAGED, "ingested_ts"]).rows() == [
        ("s1", "o-s1", "shipped", 1, "WH-A", ts, 3, "b.csv", 2, early),
        ("s2", "o-s2", "shipped", 1, "WH-A", ts, 2, "b.csv", 3, early),
        ("s1", "o-s1", "shipped", 1, "WH-A", at("2024-03-01 10:01:00"), 1, "b.csv", 4, early),
    ]
    assert [(f, n, rule) for f, n, rule, _, _ in held_of(result)] == [
        ("b.csv", 5, "quantity_in_range")
    ]
    assert (result.headers, result.collapsed) == (2, 3)


def test_wms_accounting_identity_on_a_mixed_partition():
    """Counted by hand: 20 raw rows = 3 accepted headers + 4 staged + 2 collapsed + 11 held."""
    later = dt.datetime(2024, 3, 1, 10, 45)
    raw = raw_frame(
        landed(
            "a.csv",
            WMS_HEADER,  # 1 header
            row("s1", TS),  # 2 staged (copies 3)
            row("s2", TS),  # 3 staged (copies 1)
            "",  # 4 held
            row("s3", TS, quantity="0"),  # 5 held
            row("s4", "1970-01-01T00:00:00Z"),  # 6 held
            row("s5", "2024-03-09T00:00:00Z"),  # 7 held
            ("caf\\xe9", False),  # 8 held
            row("s1", TS),  # 9 collapsed into line 2
            "s6,o-s6,sh",  # 10 held (row_complete)
            cut=True,
        ),
        landed(
            "b.csv",
            WMS_HEADER,  # 1 header
            row("s1", TS),  # 2 collapsed into a.csv line 2
            row("s7", TS),  # 3 staged
            arrived=later,
        ),
        landed("c.csv", "order_id,shipment_id", "x", "y"),  # 3 rows held as one record
        landed("d.csv"),  # 0 bytes: 1 row held
        landed("e.csv", WMS_HEADER, row("s8", TS), row("s9", TS, status="lost")),  # 1+1+1
    )
    result = stage_csv(WMS_CONTRACT, raw, wms_lag)
    assert raw.height == 20
    assert result.headers == 3
    assert result.staged.height == 4
    assert result.collapsed == 2
    assert result.held.height == 9
    assert result.held["held_rows"].sum() == 11
    assert result.staged["copies"].sum() == 4 + 2
    assert raw.height == (
        result.headers + result.staged.height + result.collapsed + result.held["held_rows"].sum()
    )


# --------------------------------------------------------------------------------------------
# stage_csv on finance: rules, and the latest landed copy wins
# --------------------------------------------------------------------------------------------

REPORTED = dt.datetime(2024, 3, 1, 6, 0)
"""Arrival (naive UTC) of the finance reports, unless a test says otherwise."""
AMOUNT = "an amount from 0 to 1,000,000,000,000,000 cents"


def report(name: str, *lines: Line, arrived: dt.datetime = REPORTED, cut: bool = False) -> Any:
    return landed(name, FINANCE_HEADER, *lines, arrived=arrived, cut=cut, pk=DAY)


@pytest.mark.parametrize(
    ("line", "rule", "reason"),
    [
        (
            "2024-02-30,USD,1",
            "business_date_parses",
            f"{FINANCE}: column business_date='2024-02-30': expected a date YYYY-MM-DD",
        ),
        (
            "29/02/2024,USD,1",
            "business_date_parses",
            f"{FINANCE}: column business_date='29/02/2024': expected a date YYYY-MM-DD",
        ),
        (
            "2024-02-29,USD,12.50",
            "gross_revenue_integer",
            f"{FINANCE}: column gross_revenue_cents='12.50': expected an integer amount in "
            "minor units",
        ),
        (
            "2024-02-29,USD," + "9" * 19,
            "gross_revenue_integer",
            f"{FINANCE}: column gross_revenue_cents='{'9' * 19}': expected an integer amount in "
            "minor units",
        ),
        (
            "2024-02-29,USD,-+5",
            "gross_revenue_integer",
            f"{FINANCE}: column gross_revenue_cents='-+5': expected an integer amount in minor "
            "units",
        ),
        (
            "2024-02-29,USD,1000000000000001",
            "gross_revenue_in_range",
            f"{FINANCE} column gross_revenue_cents='1000000000000001': expected {AMOUNT}",
        ),
        (
            "2024-02-29,USD,-1",
            "gross_revenue_in_range",
            f"{FINANCE} column gross_revenue_cents='-1': expected {AMOUNT}",
        ),
        (
            "2024-02-29,usd,1",
            "currency_code",
            f"{FINANCE} column currency='usd': expected three upper-case letters",
        ),
        (
            "2024-02-29,US,1",
            "currency_code",
            f"{FINANCE} column currency='US': expected three upper-case letters",
        ),
        (
            "2024-02-29,,1",
            "currency_code",
            f"{FINANCE} column currency=NULL: expected a currency code",
        ),
        (
            "1970-01-01,USD,1",
            "business_date_sane",
            f"{FINANCE} column business_date='1970-01-01': expected a date after 2010-01-01",
        ),
        (
            "2024-03-03,USD,1",
            "business_date_sane",
            f"{FINANCE} column business_date_after_arrival_d='2': expected a business date no "
            "later than the day after the report arrived",
        ),
        (
            "2024-02-29,USD",
            "column_count_matches",
            f"{FINANCE}: line has 2 fields; expected 3 ({FINANCE_HEADER})",
        ),
        ("", "column_count_matches", f"{FINANCE}: line is empty; expected 3 fields "
         f"({FINANCE_HEADER})"),
    ],
    ids=[
        "no-such-date",
        "not-iso-date",
        "decimal-amount",
        "19-digit-amount",
        "double-sign",
        "huge-amount",
        "negative-amount",
        "lower-case-currency",
        "short-currency",
        "no-currency",
        "1970",
        "two-days-after-arrival",
        "2-fields",
        "empty-line",
    ],
)  # fmt: skip
def test_finance_rule(line: str, rule: str, reason: str):
    result = stage_finance(report("f.csv", line))
    assert held_of(result) == [("f.csv", 2, rule, reason, 1)]
    assert result.staged.height == 0


def test_finance_values_at_the_edges_are_staged():
    result = stage_finance(
        report(
            "f.csv",
            "2024-03-02,USD,1000000000000000",  # the day after arrival; the largest amount
            "2010-01-01,EUR,0",
            " 2024-02-29 , GBP ,+12",
        )
    )
    assert held_of(result) == []
    assert result.staged.select(
        "business_date", "currency", "gross_revenue_cents", "copies", "line_no"
    ).rows() == [
        (dt.date(2024, 3, 2), "USD", 10**15, 1, 2),
        (dt.date(2010, 1, 1), "EUR", 0, 1, 3),
        (dt.date(2024, 2, 29), "GBP", 12, 1, 4),
    ]


def test_finance_keeps_the_latest_landed_copy_of_a_date_and_currency():
    restated = dt.datetime(2024, 3, 1, 9, 0)
    result = stage_finance(
        # Landed last though its name sorts first: its USD row is finance's newest statement.
        report("a-restated.csv", "2024-02-29,USD,124000", arrived=restated),
        report(
            "daily_revenue.csv",
            "2024-02-29,USD,123456",
            "2024-02-29,EUR,5000",
            "2024-02-28,USD,999",  # another date: its own row
            "2024-02-29,EUR,5100",  # same file, later line: wins over line 3
            "2024-02-29,USD,-1",  # held: not a copy of anything
        ),
    )
    assert result.staged.select(
        "business_date", "currency", "gross_revenue_cents", "copies", "source_file", "line_no"
    ).sort("business_date", "currency").rows() == [
        (dt.date(2024, 2, 28), "USD", 999, 1, "daily_revenue.csv", 4),
        (dt.date(2024, 2, 29), "EUR", 5100, 2, "daily_revenue.csv", 5),
        (dt.date(2024, 2, 29), "USD", 124000, 2, "a-restated.csv", 2),
    ]
    assert [(f, n, rule) for f, n, rule, _, _ in held_of(result)] == [
        ("daily_revenue.csv", 6, "gross_revenue_in_range")
    ]
    # 2 + 6 = 8 raw rows = 2 headers + 3 staged + 2 collapsed + 1 held.
    assert (result.headers, result.collapsed) == (2, 2)


def test_finance_accounting_identity_with_whole_files_held():
    """Counted by hand: 13 raw rows = 1 header + 2 staged + 1 collapsed + 9 held."""
    raw = raw_frame(
        report(
            "daily_revenue.csv",
            "2024-02-29,USD,100",  # staged (copies 2)
            "2024-02-29,USD,100",  # collapsed
            "2024-02-29,EUR,7",  # staged
            "2024-02-29,usd,1",  # held
            ("2024-02-29,\\xe9UR,1", False),  # held
            "2024-02-29,NO",  # held, cut off
            cut=True,
        ),
        landed("reordered.csv", "currency,business_date,gross_revenue_cents", "USD,2024-02-29,1",
               "EUR,2024-02-29,2", pk=DAY),  # 3 rows, one record
        landed("zero.csv", pk=DAY),  # 1 row
        landed("bad-header.csv", ("business_date,curr\\xe9ncy", False), "2024-02-29,USD,1",
               pk=DAY),  # 2 rows, one record
    )  # fmt: skip
    result = stage_csv(FINANCE_CONTRACT, raw, finance_lag)
    assert raw.height == 13
    assert (result.headers, result.staged.height, result.collapsed) == (1, 2, 1)
    assert [(f, n, rule, rows) for f, n, rule, _, rows in held_of(result)] == [
        ("bad-header.csv", 1, "header_matches", 2),
        ("daily_revenue.csv", 5, "currency_code", 1),
        ("daily_revenue.csv", 6, "utf8_valid", 1),
        ("daily_revenue.csv", 7, "row_complete", 1),
        ("reordered.csv", 1, "header_matches", 3),
        ("zero.csv", 0, "file_not_empty", 1),
    ]
    assert raw.height == (
        result.headers + result.staged.height + result.collapsed + result.held["held_rows"].sum()
    )
