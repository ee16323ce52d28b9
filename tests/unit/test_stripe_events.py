"""Stripe lines → parsed fields → rules, and the landing cursor behind the Stripe sensor.

Expected values are written out by hand from DESIGN §4 (the Stripe contract) and the rule
table in `lib/stripe_events.py`; nothing is computed by the code under test.
"""

import datetime as dt
import json
from typing import Any

import polars as pl
import pytest

from northstar_platform.defs.payments.assets import stripe_prefix
from northstar_platform.defs.payments.sensors import stripe_partition
from northstar_platform.lib.landed_lines import split_lines
from northstar_platform.lib.landing_cursor import Cursor, requests_by_partition, unseen
from northstar_platform.lib.stripe_events import EVENT_TYPES, STRIPE_RULES, parse_record
from northstar_platform.lib.stripe_events import parse_records as parse_frame
from northstar_platform.lib.validation import validate_rows
from northstar_platform.resources.landing import LandingObject

ARRIVAL = dt.datetime(2024, 3, 1, 10, 0, tzinfo=dt.UTC)
ARRIVAL_S = 1709287200
"""2024-03-01T10:00:00Z in epoch seconds."""
JAN_2010_S = 1262304000
"""2010-01-01T00:00:00Z: the earliest sane `created`."""
LABEL = "raw.raw_stripe_events"


def event(event_id: Any = "evt_1", **changes: Any) -> dict[str, Any]:
    """A valid Stripe event (DESIGN §4); `changes` replace or (value None) drop fields.

    Top-level names: id, type, created. Object names: object_id, amount, currency, status,
    order_id (inside data.object.metadata).
    """
    body: dict[str, Any] = {
        "id": event_id,
        "type": "charge.succeeded",
        "created": ARRIVAL_S - 600,
        "data": {
            "object": {
                "id": "ch_1",
                "amount": 1250,
                "currency": "usd",
                "status": "succeeded",
                "metadata": {"order_id": "o-1"},
            }
        },
    }
    obj = body["data"]["object"]
    for name, value in changes.items():
        target, key = {
            "type": (body, "type"),
            "created": (body, "created"),
            "object_id": (obj, "id"),
            "amount": (obj, "amount"),
            "currency": (obj, "currency"),
            "status": (obj, "status"),
            "order_id": (obj["metadata"], "order_id"),
        }[name]
        if value is None:
            del target[key]
        else:
            target[key] = value
    if event_id is None:
        del body["id"]
    return body


def line(event_id: Any = "evt_1", **changes: Any) -> str:
    return json.dumps(event(event_id, **changes))


PARSED_OK = {
    "event_id": "evt_1",
    "event_type": "charge.succeeded",
    "created": ARRIVAL_S - 600,
    "object_id": "ch_1",
    "amount": 1250,
    "currency": "usd",
    "status": "succeeded",
    "order_id": "o-1",
    "parse_rule": None,
    "parse_reason": None,
}
NOTHING = dict.fromkeys(PARSED_OK)


# --------------------------------------------------------------------------------------------
# split_lines: what one landed file becomes
# --------------------------------------------------------------------------------------------


def test_split_lines_zero_byte_file_has_no_lines():
    assert split_lines(b"") == []


def test_split_lines_a_newline_only_file_is_one_empty_line():
    assert split_lines(b"\n") == [("", True)]


def test_split_lines_keeps_a_truncated_last_line_without_newline():
    assert split_lines(b'{"id": "a"}\n{"id": "b') == [('{"id": "a"}', True), ('{"id": "b', True)]


def test_split_lines_final_newline_ends_the_last_line_and_adds_none():
    assert split_lines(b"a\nb\n") == [("a", True), ("b", True)]


def test_split_lines_keeps_empty_lines_in_place():
    assert split_lines(b"a\n\n\nb\n\n") == [
        ("a", True),
        ("", True),
        ("", True),
        ("b", True),
        ("", True),
    ]


def test_split_lines_flags_invalid_utf8_and_keeps_its_bytes_readable():
    data = b'{"note": "caf\xe9"}\n{"note": "caf\xc3\xa9"}\n\xff\xfe\n'
    assert split_lines(data) == [
        ('{"note": "caf\\xe9"}', False),
        ('{"note": "café"}', True),
        ("\\xff\\xfe", False),
    ]


def test_split_lines_keeps_a_carriage_return_as_delivered():
    assert split_lines(b"a\r\nb\r\n") == [("a\r", True), ("b\r", True)]


def test_stripe_prefix_is_the_days_folder():
    assert stripe_prefix("2024-03-01") == "stripe/2024/03/01/"


# --------------------------------------------------------------------------------------------
# parse_record: fields, or the parse rule a line breaks
# --------------------------------------------------------------------------------------------


def test_parse_record_reads_every_contract_field():
    assert parse_record(line(), True) == PARSED_OK


def test_parse_record_accepts_a_crlf_line():
    assert parse_record(line() + "\r", True) == PARSED_OK


def test_parse_record_numeric_order_id_becomes_text():
    assert parse_record(line(order_id=12345), True)["order_id"] == "12345"


@pytest.mark.parametrize(
    ("record", "rule", "reason"),
    [
        ("", "json_parses", "line is not JSON (Expecting value)"),
        ("   ", "json_parses", "line is not JSON (Expecting value)"),
        (
            '{"id": "evt_cut", "type": "charge.succ',
            "json_parses",
            ("line is not JSON (Unterminated string starting at)"),
        ),
        ('{"id": "evt_cut"', "json_parses", "line is not JSON (Expecting ',' delimiter)"),
        ("not json", "json_parses", "line is not JSON (Expecting value)"),
        (
            '{"id": "evt_big", "created": 1' + "9" * 5000 + "}",
            "json_parses",
            "line is not readable JSON (a number in it has more than 4300 digits)",
        ),
        (
            "[" * 100_000,
            "json_parses",
            "line is not JSON (maximum recursion depth exceeded while decoding a JSON array "
            "from a unicode string)",
        ),
        ('[{"id": "evt_1"}]', "json_object", "line is a JSON array, expected an object"),
        ('"evt_1"', "json_object", "line is a JSON string, expected an object"),
        ("42", "json_object", "line is a JSON number, expected an object"),
        (
            '{"id": "evt_\\ud800", "type": "charge.succeeded"}',
            "json_parses",
            "line escapes a lone surrogate (e.g. \\ud800) in a field, which is not text",
        ),
    ],
    ids=[
        "empty",
        "blank",
        "truncated-string",
        "truncated-object",
        "text",
        "4301-digit-number",
        "nested-too-deep",
        "array",
        "string",
        "number",
        "lone-surrogate",
    ],
)
def test_parse_record_rules(record: str, rule: str, reason: str):
    assert parse_record(record, True) == {**NOTHING, "parse_rule": rule, "parse_reason": reason}


def test_parse_record_invalid_utf8_wins_over_everything_else():
    assert parse_record(line(), False) == {
        **NOTHING,
        "parse_rule": "utf8_valid",
        "parse_reason": "line is not valid UTF-8",
    }


@pytest.mark.parametrize(
    ("changes", "field", "expected"),
    [
        ({"amount": 2**63}, "amount", None),
        ({"amount": 2**63 - 1}, "amount", 2**63 - 1),
        ({"amount": -(2**63)}, "amount", -(2**63)),
        ({"amount": -(2**63) - 1}, "amount", None),
        ({"amount": 2**70}, "amount", None),
        ({"amount": 12.5}, "amount", None),
        ({"amount": 1e400}, "amount", None),
        ({"amount": True}, "amount", None),
        ({"amount": "1250"}, "amount", None),
        ({"created": str(ARRIVAL_S)}, "created", None),
        ({"created": float(ARRIVAL_S)}, "created", None),
        ({"type": 7}, "event_type", None),
        ({"currency": ["usd"]}, "currency", None),
        ({"order_id": None}, "order_id", None),
    ],
    ids=[
        "int64-max+1",
        "int64-max",
        "int64-min",
        "int64-min-1",
        "2^70",
        "float",
        "float-overflow",
        "bool",
        "numeric-string",
        "created-string",
        "created-float",
        "type-number",
        "currency-list",
        "no-order-id",
    ],
)
def test_parse_record_keeps_only_values_of_the_contract_type(
    changes: dict[str, Any], field: str, expected: Any
):
    parsed = parse_record(line(**changes), True)
    assert parsed == {**PARSED_OK, field: expected}


def test_parse_record_missing_or_wrong_shaped_data_gives_empty_fields():
    top = {"id": "evt_1", "type": "charge.succeeded", "created": ARRIVAL_S}
    expected = {**NOTHING, "event_id": "evt_1", "event_type": "charge.succeeded"}
    expected["created"] = ARRIVAL_S
    for data in ({}, {"data": None}, {"data": []}, {"data": {"object": "x"}}):
        assert parse_record(json.dumps({**top, **data}), True) == expected
    no_metadata = {**top, "data": {"object": {"id": "ch_1", "metadata": ["o-1"]}}}
    assert parse_record(json.dumps(no_metadata), True) == {**expected, "object_id": "ch_1"}


def test_parse_record_id_must_be_text():
    assert parse_record(line(event_id=17), True) == {**PARSED_OK, "event_id": None}


# --------------------------------------------------------------------------------------------
# STRIPE_RULES through validate_rows: rule names and reasons, exactly
# --------------------------------------------------------------------------------------------


def validate(records: list[str]) -> tuple[list[str], dict[int, tuple[str, str]]]:
    """Parse lines that arrived at ARRIVAL; (valid line numbers, {line: (rule, reason)})."""
    raw = pl.DataFrame(
        {
            "record": records,
            "utf8_valid": [True] * len(records),
            "line_no": list(range(1, len(records) + 1)),
            "ingested_ts": [ARRIVAL.replace(tzinfo=None)] * len(records),
        },
        schema={
            "record": pl.Utf8,
            "utf8_valid": pl.Boolean,
            "line_no": pl.Int64,
            "ingested_ts": pl.Datetime("us"),
        },
    )
    parsed = parse_frame(raw)
    assert parsed["parse_rule"].null_count() == len(records)
    result = validate_rows(parsed, STRIPE_RULES, LABEL)
    held = {r["line_no"]: (r["rule"], r["reason"]) for r in result.quarantined.to_dicts()}
    return result.valid["line_no"].to_list(), held


def test_parse_records_computes_seconds_after_arrival():
    raw = pl.DataFrame(
        {
            "record": [line(created=ARRIVAL_S + 5), "[1]"],
            "utf8_valid": [True, True],
            "ingested_ts": [ARRIVAL.replace(tzinfo=None)] * 2,
        },
        schema={"record": pl.Utf8, "utf8_valid": pl.Boolean, "ingested_ts": pl.Datetime("us")},
    )
    parsed = parse_frame(raw)
    assert parsed["created_after_arrival_s"].to_list() == [5, None]
    assert parsed["parse_rule"].to_list() == [None, "json_object"]
    assert parsed.columns[:3] == ["record", "utf8_valid", "ingested_ts"]


def test_boundary_values_are_valid():
    valid, held = validate(
        [
            line("evt_a", created=JAN_2010_S, amount=0),
            line("evt_b", created=ARRIVAL_S + 86_400, amount=10**12 - 1),
            line("evt_c", object_id=None, status=None),
            *(line(f"evt_{t}", type=t) for t in EVENT_TYPES),
        ]
    )
    assert held == {}
    assert valid == list(range(1, 4 + len(EVENT_TYPES)))


ONE_TYPES = ", ".join(EVENT_TYPES)


@pytest.mark.parametrize(
    ("changes", "rule", "reason"),
    [
        ({"event_id": None}, "id_present", "column event_id=NULL: expected an event id"),
        (
            {"type": "charge.disputed"},
            "type_known",
            f"column event_type='charge.disputed': expected one of {ONE_TYPES}",
        ),
        ({"type": None}, "type_known", "column event_type=NULL: expected an event type"),
        (
            {"created": None},
            "created_present",
            "column created=NULL: expected an integer epoch-seconds `created`",
        ),
        (
            {"created": "2024-03-01T10:00:00Z"},
            "created_present",
            "column created=NULL: expected an integer epoch-seconds `created`",
        ),
        ({"created": 0}, "created_sane", "column created='0': expected a time after 2010-01-01"),
        (
            {"created": JAN_2010_S - 1},
            "created_sane",
            "column created='1262303999': expected a time after 2010-01-01",
        ),
        (
            {"created": ARRIVAL_S + 86_401},
            "created_sane",
            "column created_after_arrival_s='86401': expected a time at most 86400 s after "
            "the file arrived",
        ),
        (
            {"amount": None},
            "amount_valid",
            "column amount=NULL: expected an integer amount in minor units",
        ),
        (
            {"amount": 2**63},
            "amount_valid",
            "column amount=NULL: expected an integer amount in minor units",
        ),
        (
            {"amount": 12.5},
            "amount_valid",
            "column amount=NULL: expected an integer amount in minor units",
        ),
        (
            {"amount": -5},
            "amount_valid",
            "column amount='-5': expected an amount >= 0 and < 10^12",
        ),
        (
            {"amount": 10**12},
            "amount_valid",
            "column amount='1000000000000': expected an amount >= 0 and < 10^12",
        ),
        ({"currency": None}, "currency_code", "column currency=NULL: expected a currency code"),
        (
            {"currency": "USD"},
            "currency_code",
            "column currency='USD': expected three lower-case letters",
        ),
        (
            {"currency": "usdx"},
            "currency_code",
            "column currency='usdx': expected three lower-case letters",
        ),
        (
            {"order_id": None},
            "order_id_present",
            "column order_id=NULL: expected data.object.metadata.order_id",
        ),
    ],
    ids=[
        "no-id",
        "unknown-type",
        "no-type",
        "no-created",
        "created-iso-string",
        "created-1970",
        "created-before-2010",
        "created-future",
        "no-amount",
        "amount-beyond-int64",
        "amount-float",
        "amount-negative",
        "amount-10^12",
        "no-currency",
        "currency-upper",
        "currency-4-letters",
        "no-order-id",
    ],
)
def test_each_rule_holds_its_line_with_name_and_reason(
    changes: dict[str, Any], rule: str, reason: str
):
    event_id = changes.pop("event_id", "evt_bad")
    valid, held = validate([line("evt_ok"), line(event_id, **changes)])
    assert valid == [1]
    assert held == {2: (rule, f"{LABEL} {reason}")}


def test_a_line_breaking_several_rules_is_held_once_under_the_first_with_every_reason():
    _, held = validate([line(None, type="refund", amount=-1, currency="EUR", order_id=None)])
    assert held == {
        1: (
            "id_present",
            f"{LABEL} column event_id=NULL: expected an event id; "
            f"{LABEL} column event_type='refund': expected one of {ONE_TYPES}; "
            f"{LABEL} column amount='-1': expected an amount >= 0 and < 10^12; "
            f"{LABEL} column currency='EUR': expected three lower-case letters; "
            f"{LABEL} column order_id=NULL: expected data.object.metadata.order_id",
        )
    }


def test_rule_names_are_the_documented_set():
    assert [r.name for r in STRIPE_RULES] == [
        "id_present",
        "type_known",
        "type_known",
        "created_present",
        "created_sane",
        "created_sane",
        "amount_valid",
        "amount_valid",
        "currency_code",
        "currency_code",
        "order_id_present",
    ]


# --------------------------------------------------------------------------------------------
# stripe_partition: which keys belong to which day
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "partition"),
    [
        ("stripe/2024/03/01/events-001.jsonl", "2024-03-01"),
        ("stripe/2024/02/29/x.jsonl", "2024-02-29"),
        ("stripe/2023/02/29/x.jsonl", None),
        ("stripe/2024/02/30/x.jsonl", None),
        ("stripe/2024/13/01/x.jsonl", None),
        ("stripe/2024/00/10/x.jsonl", None),
        ("stripe/2024/3/1/x.jsonl", None),
        ("stripe/2024/03/01/x.json", None),
        ("stripe/2024/03/01/x.jsonl.tmp", None),
        ("stripe/2024/03/01/sub/x.jsonl", None),
        ("stripe/x.jsonl", None),
        ("wms/2024/03/01/00/x.csv", None),
        ("archive/stripe/2024/03/01/x.jsonl", None),
    ],
)
def test_stripe_partition(key: str, partition: str | None):
    assert stripe_partition(key) == partition


# --------------------------------------------------------------------------------------------
# Landing cursor: unseen files, restarts, replaced files, run keys
# --------------------------------------------------------------------------------------------

T0 = dt.datetime(2024, 3, 1, 10, 0, 0, tzinfo=dt.UTC)


def obj(key: str, second: float, etag: str = "e1") -> LandingObject:
    return LandingObject(
        key=key, size=1, last_modified=T0 + dt.timedelta(seconds=second), etag=etag
    )


def keys(objects: list[LandingObject]) -> list[str]:
    return sorted(o.key for o in objects)


def test_empty_cursor_sees_everything_and_remembers_the_newest_instant():
    listing = [obj("a", 0), obj("b", 5), obj("c", 5)]
    new, cursor = unseen(listing, Cursor.from_json(None))
    assert keys(new) == ["a", "b", "c"]
    assert cursor.newest == T0 + dt.timedelta(seconds=5)
    assert len(cursor.keys_at_newest) == 2
    assert unseen(listing, cursor) == ([], cursor)


def test_nothing_listed_keeps_the_cursor():
    cursor = Cursor.from_json("")
    assert cursor == Cursor(None, frozenset())
    assert unseen([], cursor) == ([], cursor)


def test_a_file_arriving_at_the_same_instant_as_the_newest_seen_is_not_missed():
    _, cursor = unseen([obj("a", 5)], Cursor.from_json(None))
    new, after = unseen([obj("a", 5), obj("b", 5), obj("old", 4)], cursor)
    assert keys(new) == ["b"]
    assert after.newest == cursor.newest
    # Both keys at that instant are now remembered: neither comes back.
    assert unseen([obj("a", 5), obj("b", 5), obj("old", 4)], after)[0] == []


def test_a_newer_instant_resets_the_keys_remembered():
    _, cursor = unseen([obj("a", 5), obj("b", 5)], Cursor.from_json(None))
    new, after = unseen([obj("a", 5), obj("b", 5), obj("c", 6)], cursor)
    assert keys(new) == ["c"]
    assert after.newest == T0 + dt.timedelta(seconds=6)
    assert len(after.keys_at_newest) == 1


def test_restarting_from_the_serialized_cursor_misses_nothing_and_repeats_nothing():
    """Files land between ticks (some at the instant of the last tick's newest file); each
    tick starts from the cursor string only, like a restarted daemon."""
    waves = [
        [obj("a", 1), obj("b", 2), obj("c", 2)],
        [obj("d", 2), obj("e", 3)],  # d: same instant as b and c, seen after them
        [],
        [obj("f", 3), obj("g", 3), obj("h", 3.000001)],
        [obj("i", 10)],
    ]
    listing: list[LandingObject] = []
    text: str | None = None
    delivered: list[str] = []
    for wave in waves:
        listing = listing + wave
        new, cursor = unseen(sorted(listing, key=lambda o: o.key), Cursor.from_json(text))
        assert keys(new) == keys(wave)
        delivered += keys(new)
        text = cursor.to_json()
        assert Cursor.from_json(text) == cursor
    assert delivered == ["a", "b", "c", "d", "e", "f", "g", "h", "i"]


def test_cursor_json_round_trip_keeps_microseconds_and_time_zone():
    cursor = Cursor(T0 + dt.timedelta(microseconds=7), frozenset({"x", "y"}))
    assert Cursor.from_json(cursor.to_json()) == cursor
    assert json.loads(cursor.to_json())["newest"] == "2024-03-01T10:00:00.000007+00:00"


def test_a_replaced_file_with_new_content_is_seen_again():
    _, cursor = unseen([obj("a", 1, "e1")], Cursor.from_json(None))
    new, _ = unseen([obj("a", 2, "e2")], cursor)
    assert new == [obj("a", 2, "e2")]


def test_a_file_replaced_within_the_same_instant_is_seen_again():
    """S3 `LastModified` has whole seconds: a file replaced in the second of the last tick
    keeps its arrival time, and only its content tag changes."""
    _, cursor = unseen([obj("a", 1, "e1")], Cursor.from_json(None))
    new, after = unseen([obj("a", 1, "e2")], Cursor.from_json(cursor.to_json()))
    assert new == [obj("a", 1, "e2")]
    assert unseen([obj("a", 1, "e2")], Cursor.from_json(after.to_json()))[0] == []


def test_the_same_file_listed_again_unchanged_is_not_seen_again():
    _, cursor = unseen([obj("a", 1, "e1")], Cursor.from_json(None))
    assert unseen([obj("a", 1, "e1")], Cursor.from_json(cursor.to_json()))[0] == []


def _day(key: str) -> str | None:
    return key.split("/")[0] if "/" in key else None


def test_requests_by_partition_one_run_per_day_files_outside_days_ignored():
    requests = requests_by_partition(
        [obj("d2/x", 1), obj("d1/a", 1), obj("loose", 1), obj("d1/b", 2)], _day
    )
    assert list(requests) == ["d1", "d2"]
    for partition, run_key in requests.items():
        prefix, digest = run_key.split(":")
        assert prefix == partition
        assert len(digest) == 16
        int(digest, 16)
    assert requests_by_partition([obj("loose", 1)], _day) == {}


def test_run_keys_are_identical_for_identical_content_whatever_the_order_or_time():
    first = requests_by_partition([obj("d1/a", 1, "ea"), obj("d1/b", 2, "eb")], _day)
    again = requests_by_partition([obj("d1/b", 9, "eb"), obj("d1/a", 8, "ea")], _day)
    assert first == again


def test_run_keys_differ_when_content_or_files_change():
    base = requests_by_partition([obj("d1/a", 1, "ea"), obj("d1/b", 2, "eb")], _day)["d1"]
    changed = requests_by_partition([obj("d1/a", 1, "ea2"), obj("d1/b", 2, "eb")], _day)["d1"]
    fewer = requests_by_partition([obj("d1/a", 1, "ea")], _day)["d1"]
    renamed = requests_by_partition([obj("d1/c", 1, "ea"), obj("d1/b", 2, "eb")], _day)["d1"]
    other_day = requests_by_partition([obj("d2/a", 1, "ea"), obj("d2/b", 2, "eb")], _day)["d2"]
    assert len({base, changed, fewer, renamed}) == 4
    assert other_day.split(":")[1] != base.split(":")[1]
