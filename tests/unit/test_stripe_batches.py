"""The batch paths of the Stripe slice give exactly the per-line answers.

`lines_table` splits a file with Arrow and `parse_records` reads most lines with pyarrow
(`lib/strict_json`). Each is checked against the definition it must equal: `split_lines`, and
`parse_record` line by line. Expected values come from those definitions, never from the code
under test.
"""

import datetime as dt
import json
from typing import Any

import polars as pl
import pytest

from northstar_platform.lib.landed_lines import count_lines, lines_table, split_lines
from northstar_platform.lib.strict_json import read_strict
from northstar_platform.lib.stripe_events import PARSED, STRICT_SCHEMA, parse_record, parse_records

ARRIVAL = dt.datetime(2024, 3, 1, 10, 0)
CREATED = 1709283600
"""2024-03-01T09:00:00Z: an hour before ARRIVAL."""


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
