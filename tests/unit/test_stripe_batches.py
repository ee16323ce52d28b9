"""The batch paths of the Stripe slice give exactly the per-line and whole-day answers.

`lines_table` splits a file with Arrow, `parse_records` reads most lines with pyarrow
(`lib/strict_json`) and `StripeDay` stages a day batch by batch. Each is checked against the
definition it must equal: `split_lines`, `parse_record` line by line, and a whole-day pass
written out below (the staging algorithm before batching). Expected values come from those
definitions, never from the code under test.
"""

import datetime as dt
import json
from typing import Any

import polars as pl
import pytest

from northstar_platform.layers import STG_STRIPE_EVENTS
from northstar_platform.lib import stripe_staging
from northstar_platform.lib.landed_lines import count_lines, lines_table, split_lines
from northstar_platform.lib.loading import collapse_duplicates
from northstar_platform.lib.quarantine import quarantine_rows
from northstar_platform.lib.strict_json import read_strict
from northstar_platform.lib.stripe_events import (
    PARSED,
    STRICT_SCHEMA,
    STRIPE_RULES,
    parse_record,
    parse_records,
)
from northstar_platform.lib.stripe_staging import StripeDay
from northstar_platform.lib.validation import validate_rows

ARRIVAL = dt.datetime(2024, 3, 1, 10, 0)
CREATED = 1709283600
"""2024-03-01T09:00:00Z: an hour before ARRIVAL."""
LABEL = "raw.raw_stripe_events"


def event(event_id: Any = "evt_1", **top: Any) -> dict[str, Any]:
    """A valid event (DESIGN §4) with extra fields as Stripe sends them; `top` replaces keys."""
    body: dict[str, Any] = {
        "id": event_id,
        "object": "event",
        "created": CREATED,
        "data": {
            "object": {
                "id": "ch_1",
                "object": "charge",
                "amount": 1250,
                "currency": "usd",
                "status": "succeeded",
                "metadata": {"order_id": "o-1", "note": "x"},
                "outcome": {"risk": [1, 2, {"level": "normal"}]},
            }
        },
        "livemode": False,
        "type": "charge.succeeded",
    }
    return {**body, **top}


def with_object(**fields: Any) -> str:
    body = event()
    body["data"]["object"].update(fields)
    return json.dumps(body)


PLAIN = [
    json.dumps(event()),
    json.dumps(event(), separators=(",", ":")),
    json.dumps(event(), indent=None, ensure_ascii=False) + "\r",
    json.dumps(event("evt_é", type="charge.refunded", note='café "quoted" \\ / \n')),
    json.dumps(event(), sort_keys=True),
    json.dumps({"id": "evt_min"}),
    "{}",
    json.dumps(event(data=None)),
    json.dumps(event(data={})),
    json.dumps(event(data={"object": None})),
    with_object(metadata=None),
    with_object(metadata={"order_id": None}),
    with_object(amount=-(2**63), currency=None),
    with_object(amount=2**63 - 1),
    with_object(amount=-0),
    json.dumps(event(id=None, created=None, type=None)),
    '{"id": "\\ud83d\\ude00", "type": "t\\u00e9", "created": 5}',
    json.dumps(event(padding="x" * 5000, digits="1" * 99)),
]
"""Lines pyarrow reads exactly as `parse_record` does."""

TO_PYTHON = [
    "",
    "   ",
    "not json",
    '{"id": "evt_cut", "type": "charge.succ',
    '{"id": "a",}',
    '{"id": "a"} x',
    '{"a": 1} {"b": 2}',
    '{"id": "a"}\x00',
    "\ufeff" + json.dumps(event()),
    "\t" + json.dumps(event()),
    '[{"id": "evt_1"}]',
    '"evt_1"',
    "42",
    "null",
    json.dumps(event(17)),
    json.dumps(event(created=True)),
    json.dumps(event(created=12.0)),
    json.dumps(event(created=1e3)),
    json.dumps(event(created="1709283600")),
    json.dumps(event(created=2**63)),
    json.dumps(event(type=["charge.succeeded"])),
    json.dumps(event(data=[])),
    json.dumps(event(data={"object": "x"})),
    with_object(metadata=["o-1"]),
    with_object(metadata={"order_id": 12345}),
    with_object(metadata={"order_id": True}),
    with_object(metadata={"order_id": 1.5}),
    with_object(metadata={"order_id": {"n": 1}}),
    with_object(amount=True),
    with_object(amount=12.5),
    with_object(amount="1250"),
    with_object(amount=2**70),
    with_object(amount=float("nan")),
    with_object(amount=float("inf")),
    with_object(currency=3),
    '{"id": "a", "id": "b"}',
    '{"i\\u0064": "b", "id": "a"}',
    '{"id": "a", "data": {"object": {"amount": 1, "amount": 2}}}',
    '{"id": "a", "x": NaN}',
    '{"id": "a", "x": -Infinity}',
    '{"id": "a", "x": Inf}',
    '{"id": "a", "x": 1E400}',
    '{"id": "a", "x": ' + "[" * 5000 + "]" * 5000 + "}",
    '{"id": "a", "x": ' + "[" * 150 + "]" * 150 + "}",
    '{"id": "a", "x": 1' + "0" * 4400 + "}",
    json.dumps(event(padding="x" * 5000, digits="1" * 100)),  # a string, but we cannot tell
    '{"id": "a", "x": "\\ud800"}',
    '{"id": "a", "x": "tab\there"}',
    '{"id": "a", "x": "\\x"}',
    '{"id": "a" /* c */}',
]
"""Lines pyarrow must not decide: it would refuse them, or read them differently."""


def frame(lines: list[str]) -> pl.DataFrame:
    return pl.DataFrame(
        {"record": lines, "utf8_valid": [True] * len(lines), "ingested_ts": [ARRIVAL] * len(lines)},
        schema={"record": pl.Utf8, "utf8_valid": pl.Boolean, "ingested_ts": pl.Datetime("us")},
    )


def test_pyarrow_decides_the_plain_lines_and_leaves_every_other_to_python():
    lines = PLAIN + TO_PYTHON
    _, decided = read_strict(pl.Series(lines), STRICT_SCHEMA, pl.Series([True] * len(lines)))
    assert decided.to_list() == [True] * len(PLAIN) + [False] * len(TO_PYTHON)


def test_a_line_flagged_not_utf8_is_never_decided_by_pyarrow():
    line = json.dumps(event())
    _, decided = read_strict(pl.Series([line, line]), STRICT_SCHEMA, pl.Series([True, False]))
    assert decided.to_list() == [True, False]


@pytest.mark.parametrize("spacing", [1, 7, 97])
def test_parse_records_equals_parse_record_line_by_line(spacing: int):
    """Thousands of plain lines with the others spread among them: blocks are refused and
    bisected, and every row still lands in its place with the Python parser's fields."""
    lines = []
    tricky = PLAIN + TO_PYTHON
    for n in range(5000):
        lines.append(tricky[n // spacing % len(tricky)] if n % spacing == 0 else "")
        if n % spacing:
            lines[-1] = json.dumps(event(f"evt_{n}", created=CREATED + n))
    parsed = parse_records(frame(lines))
    assert parsed.select(list(PARSED)).to_dicts() == [parse_record(x, True) for x in lines]
    assert parsed["record"].to_list() == lines


def test_a_lone_surrogate_is_held_not_fatal_on_either_path():
    """`\\ud800` decodes to a Python string no column can hold: the line is held, and the
    plain lines around it are still decided (pyarrow's block is refused and bisected)."""
    lone = json.dumps(event()).replace('"evt_1"', '"evt_\\ud800"')
    lines = [json.dumps(event(f"evt_{n}", created=CREATED + n)) for n in range(10)]
    lines.insert(5, lone)
    parsed = parse_records(frame(lines))
    assert parsed["parse_rule"].to_list() == [None] * 5 + ["json_parses"] + [None] * 5
    assert parsed.select(list(PARSED)).to_dicts() == [parse_record(x, True) for x in lines]


def test_parse_records_keeps_raw_columns_and_flags_invalid_utf8():
    raw = frame([json.dumps(event()), "caf\\xe9"]).with_columns(
        utf8_valid=pl.Series([False, False])
    )
    parsed = parse_records(raw)
    assert parsed["parse_rule"].to_list() == ["utf8_valid", "utf8_valid"]
    assert parsed.columns[:3] == ["record", "utf8_valid", "ingested_ts"]


FILES = [
    b"",
    b"\n",
    b"a",
    b"a\n",
    b"a\nb",
    b"a\n\n\nb\n\n",
    b"a\r\nb\r\n",
    b'{"note": "caf\xe9"}\n{"note": "caf\xc3\xa9"}\n\xff\xfe\n',
    b"ok\nbad \xe9 line\nok again\nlast without newline \xff",
    "é\n".encode() * 3,
    b"a\n\xe9\n\xe9\n\n\xe9b\nc\xc3",
]


@pytest.mark.parametrize("data", FILES)
def test_lines_table_and_count_lines_agree_with_split_lines(data: bytes):
    table = lines_table(data)
    assert list(zip(table["record"].to_pylist(), table["utf8_valid"].to_pylist(), strict=True)) == (
        split_lines(data)
    )
    assert count_lines(data) == len(split_lines(data))


# --------------------------------------------------------------------------------------------
# StripeDay: batch by batch = the whole day at once
# --------------------------------------------------------------------------------------------


def whole_day(raw: pl.DataFrame, run_id: str) -> tuple[pl.DataFrame, pl.DataFrame, dict]:
    """The staging step before batching, verbatim: parse, collapse, validate, hold."""
    parsed = parse_records(raw)
    unparsed = parsed.filter(pl.col("parse_rule").is_not_null()).with_columns(
        rule=pl.col("parse_rule"), reason=pl.col("parse_reason")
    )
    events = parsed.filter(pl.col("parse_rule").is_null())
    copies = events.filter(pl.col("event_id").is_not_null()).group_by("event_id").len("copies")
    kept, _ = collapse_duplicates(events, ["event_id"])
    kept = kept.join(copies, on="event_id", how="left").with_columns(
        pl.col("copies").fill_null(1).cast(pl.Int64)
    )
    result = validate_rows(kept, STRIPE_RULES, LABEL)
    held_ids = result.quarantined.filter(pl.col("event_id").is_not_null())
    held_events = pl.concat(
        [
            events.join(held_ids.select("event_id", "rule", "reason"), on="event_id"),
            result.quarantined.filter(pl.col("event_id").is_null()),
        ],
        how="diagonal_relaxed",
    )
    duplicates = int(result.valid["copies"].sum() - result.valid.height)
    held = quarantine_rows(
        pl.concat([unparsed, held_events], how="diagonal_relaxed"),
        source="stripe",
        record_ref="event_id",
        business_columns=["record"],
        run_id=run_id,
    )
    staged = result.valid.with_columns(
        created_at=pl.from_epoch("created", time_unit="s").cast(pl.Datetime("us")),
        run_id=pl.lit(run_id),
    ).select([c.name for c in STG_STRIPE_EVENTS.columns])
    counts = {
        "rows_in": raw.height,
        "staged": staged.height,
        "quarantined": held.height,
        "duplicates_collapsed": duplicates,
    }
    return staged, held, counts


def ev(event_id: str | None, **top: Any) -> str:
    return json.dumps(event(event_id, **top))


DAY_FILES: list[tuple[str, dt.datetime, list[str]]] = [
    # name, arrival, lines
    (
        "b.jsonl",
        ARRIVAL,
        [
            ev("evt_ok"),
            ev("evt_retry"),
            ev("evt_held", type="charge.disputed"),  # first delivery breaks a rule
            ev("evt_later_bad"),  # first delivery fine, a later one breaks a rule
            ev(None),
            "not json",
            ev("evt_retry"),
        ],
    ),
    ("a.jsonl", ARRIVAL + dt.timedelta(hours=1), [ev("evt_retry"), ev("evt_held"), "[1]"]),
    # c and d arrive at the same instant: the name decides.
    ("d.jsonl", ARRIVAL + dt.timedelta(hours=2), [ev("evt_tie"), ev("evt_later_bad", created=0)]),
    ("c.jsonl", ARRIVAL + dt.timedelta(hours=2), [ev("evt_tie", created=CREATED + 1)]),
    ("e.jsonl", ARRIVAL + dt.timedelta(hours=3), [ev("evt_held"), ev(None), ev("evt_ok2")]),
]


def day_raw() -> pl.DataFrame:
    rows = [
        {
            "record": line,
            "utf8_valid": True,
            "partition_key": "2024-03-01",
            "source_file": f"stripe/2024/03/01/{name}",
            "line_no": n,
            "ingested_ts": arrived,
            "run_id": "raw-run",
        }
        for name, arrived, lines in DAY_FILES
        for n, line in enumerate(lines, 1)
    ]
    return pl.DataFrame(rows).sort("ingested_ts", "source_file", "line_no")


@pytest.mark.parametrize(("batch", "reverse"), [(1, False), (2, True), (5, False), (100, True)])
def test_a_day_staged_batch_by_batch_equals_the_whole_day_at_once(
    batch: int, reverse: bool, monkeypatch: pytest.MonkeyPatch
):
    """In batches of any size, in landing order or backwards: the same rows and counts."""
    monkeypatch.setattr(stripe_staging, "WRITE_ROWS", 2)
    raw = day_raw()
    expected_staged, expected_held, expected_counts = whole_day(raw, "run-1")
    asked: list[tuple[str, list[int]]] = []

    def records(source_file: str, line_nos: list[int]) -> pl.DataFrame:
        asked.append((source_file, sorted(line_nos)))
        rows = raw.filter(pl.col("source_file") == source_file, pl.col("line_no").is_in(line_nos))
        return rows.select("line_no", "record")

    files = raw["source_file"].unique().to_list()
    day = StripeDay(partition_key="2024-03-01", run_id="run-1", files=files)
    starts = list(range(0, raw.height, batch))
    for start in reversed(starts) if reverse else starts:
        day.add(raw.slice(start, batch))
    chunks, held, counts = day.finish(records)
    columns = [c.name for c in STG_STRIPE_EVENTS.columns]
    staged = pl.concat([chunk.select(columns) for chunk in chunks])
    assert counts == expected_counts
    assert staged.sort("event_id").to_dicts() == expected_staged.sort("event_id").to_dicts()
    assert held.sort("source_file", "line_no").to_dicts() == (
        expected_held.sort("source_file", "line_no").to_dicts()
    )
    # The day has every case: retries, a held event with all its copies, null ids.
    assert counts == {"rows_in": 16, "staged": 5, "quarantined": 7, "duplicates_collapsed": 4}
    # Only the valid copies of the held event were read back.
    assert sorted(asked) == [("stripe/2024/03/01/a.jsonl", [2]), ("stripe/2024/03/01/e.jsonl", [1])]


def test_an_empty_day_stages_nothing():
    day = StripeDay(partition_key="2024-03-01", run_id="run-1", files=[])
    chunks, held, counts = day.finish(lambda name, lines: pl.DataFrame())
    assert list(chunks) == []
    assert held.is_empty()
    assert counts == {"rows_in": 0, "staged": 0, "quarantined": 0, "duplicates_collapsed": 0}
