"""Privacy lines → parsed fields → rules → staged / held / collapsed, and which keys are a day's.

Expected values are written out by hand from DESIGN §4 (the privacy contract), §8 (UTC,
microseconds) and the rule table in `lib/privacy_events.py`; nothing is computed by the code
under test.
"""

import datetime as dt
import json
from typing import Any

import polars as pl
import pytest

from northstar_platform.defs.preferences.assets import privacy_partition, privacy_prefix
from northstar_platform.lib.privacy_events import (
    PRIVACY_RULES,
    parse_event_ts,
    parse_record,
    parse_records,
    stage_events,
)
from northstar_platform.lib.validation import validate_rows

ARRIVAL = dt.datetime(2024, 3, 1, 10, 0)
"""When the test's file arrived (naive UTC, as ingested_ts is stored)."""
LABEL = "raw.raw_privacy_events"
TEXT = "a JSON string (the field is missing, null, or another JSON type)"
ISO = (
    "an ISO-8601 date and time, YYYY-MM-DDTHH:MM[:SS[.ffffff]] with Z, an offset such as "
    "+02:00, or none for UTC"
)
SANE = "a UTC time on or after 2000-01-01 and at most one day after the file arrived"
CHANNEL = "an upper-case channel token such as EMAIL, SMS, PHONE, POST or ALL"


def event(**changes: Any) -> dict[str, Any]:
    """A valid privacy event (DESIGN §4); `changes` replace fields, `...` drops one."""
    body: dict[str, Any] = {
        "customer_key": "cust-1",
        "channel": "EMAIL",
        "preference_state": "OPT_OUT",
        "event_ts": "2024-03-01T09:15:30.123456Z",
        "source_record_id": "rec-1",
    }
    for name, value in changes.items():
        if value is ...:
            del body[name]
        else:
            body[name] = value
    return body


def line(**changes: Any) -> str:
    return json.dumps(event(**changes))


PARSED_OK = {
    "customer_key": "cust-1",
    "channel": "EMAIL",
    "preference_state": "OPT_OUT",
    "event_ts": "2024-03-01T09:15:30.123456Z",
    "event_ts_utc": dt.datetime(2024, 3, 1, 9, 15, 30, 123456),
    "source_record_id": "rec-1",
    "parse_rule": None,
    "parse_reason": None,
}
NOTHING = dict.fromkeys(PARSED_OK)


# --------------------------------------------------------------------------------------------
# parse_event_ts: ISO-8601 → naive UTC with microseconds (DESIGN §8)
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-03-01T10:00:00Z", dt.datetime(2024, 3, 1, 10, 0, 0)),
        ("2024-03-01t10:00:00z", dt.datetime(2024, 3, 1, 10, 0, 0)),
        ("2024-03-01T10:00:00", dt.datetime(2024, 3, 1, 10, 0, 0)),
        ("2024-03-01 10:00:00", dt.datetime(2024, 3, 1, 10, 0, 0)),
        ("2024-03-01T10:00", dt.datetime(2024, 3, 1, 10, 0, 0)),
        ("2024-03-01T10:00Z", dt.datetime(2024, 3, 1, 10, 0, 0)),
        ("2024-03-01T10:00:00.123456Z", dt.datetime(2024, 3, 1, 10, 0, 0, 123456)),
        ("2024-03-01T10:00:00.000001", dt.datetime(2024, 3, 1, 10, 0, 0, 1)),
        ("2024-03-01T10:00:00.5Z", dt.datetime(2024, 3, 1, 10, 0, 0, 500000)),
        ("2024-03-01T10:00:00,25Z", dt.datetime(2024, 3, 1, 10, 0, 0, 250000)),
        ("2024-03-01T10:00:00.123456789Z", dt.datetime(2024, 3, 1, 10, 0, 0, 123456)),
        ("2024-03-01T10:59:59.999999999Z", dt.datetime(2024, 3, 1, 10, 59, 59, 999999)),
        ("2024-03-01T12:00:00+02:00", dt.datetime(2024, 3, 1, 10, 0, 0)),
        ("2024-03-01T12:00:00.654321+02:00", dt.datetime(2024, 3, 1, 10, 0, 0, 654321)),
        ("2024-03-01T12:00:00+0200", dt.datetime(2024, 3, 1, 10, 0, 0)),
        ("2024-03-01T12:00:00+02", dt.datetime(2024, 3, 1, 10, 0, 0)),
        ("2024-03-01T04:30:00-05:30", dt.datetime(2024, 3, 1, 10, 0, 0)),
        ("2024-03-01T10:00:00-00:00", dt.datetime(2024, 3, 1, 10, 0, 0)),
        ("2024-03-01T10:00:00+00:00", dt.datetime(2024, 3, 1, 10, 0, 0)),
        ("2024-03-01T01:30:00.000001+02:00", dt.datetime(2024, 2, 29, 23, 30, 0, 1)),
        ("2024-12-31T23:30:00-01:00", dt.datetime(2025, 1, 1, 0, 30, 0)),
        ("2024-03-01T10:00:00+23:59", dt.datetime(2024, 2, 29, 10, 1, 0)),
    ],
)
def test_parse_event_ts_converts_to_naive_utc_keeping_microseconds(
    text: str, expected: dt.datetime
):
    assert parse_event_ts(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "yesterday",
        "1709287200",
        "2024-03-01",  # a date is not a time
        "2024-3-1T10:00:00Z",
        "20240301T100000Z",  # basic format: not accepted
        "2024-02-30T10:00:00Z",
        "2023-02-29T10:00:00Z",
        "2024-13-01T10:00:00Z",
        "2024-03-01T24:00:00Z",
        "2024-03-01T10:60:00Z",
        "2024-03-01T10:00:60Z",  # leap second
        "2024-03-01T10:00:00.Z",
        "2024-03-01T10:00:00.1234567890Z",  # more than nanoseconds
        "2024-03-01T10:00:00+24:00",
        "2024-03-01T10:00:00+02:60",
        "2024-03-01T10:00:00+2:00",
        "2024-03-01T10:00:00 Z",
        " 2024-03-01T10:00:00Z",
        "2024-03-01T10:00:00Z ",
        "2024-03-01T10:00:00ZZ",
        "2024-03-01T10:00:00Z+01:00",
        "2024-03-01T10:00:00 UTC",
        "\uff12\uff10\uff12\uff14-03-01T10:00:00Z",  # full-width digits
        "0001-01-01T00:30:00+01:00",  # before year 1 in UTC
        "9999-12-31T23:30:00-01:00",  # after year 9999 in UTC
        "0000-01-01T00:00:00Z",
    ],
)
def test_parse_event_ts_refuses_what_is_not_an_iso_date_and_time(text: str):
    assert parse_event_ts(text) is None


# --------------------------------------------------------------------------------------------
# parse_record: fields, or the parse rule a line breaks
# --------------------------------------------------------------------------------------------


def test_parse_record_reads_every_contract_field():
    assert parse_record(line(), True) == PARSED_OK


def test_parse_record_ignores_fields_outside_the_contract_and_a_carriage_return():
    extended = json.dumps({**event(), "note": "added later", "nested": {"a": [1, 2]}})
    assert parse_record(extended + "\r", True) == PARSED_OK


def test_parse_record_converts_an_offset_to_utc_and_keeps_the_text_as_delivered():
    parsed = parse_record(line(event_ts="2024-03-01T00:15:30.000007+01:00"), True)
    assert parsed == {
        **PARSED_OK,
        "event_ts": "2024-03-01T00:15:30.000007+01:00",
        "event_ts_utc": dt.datetime(2024, 2, 29, 23, 15, 30, 7),
    }


def test_parse_record_naive_time_is_utc():
    parsed = parse_record(line(event_ts="2024-03-01T09:15:30.5"), True)
    assert parsed["event_ts_utc"] == dt.datetime(2024, 3, 1, 9, 15, 30, 500000)


def test_parse_record_keeps_unparseable_event_ts_text_for_the_reason():
    parsed = parse_record(line(event_ts="01/03/2024 09:15"), True)
    assert parsed == {**PARSED_OK, "event_ts": "01/03/2024 09:15", "event_ts_utc": None}


@pytest.mark.parametrize(
    ("record", "rule", "reason"),
    [
        ("", "line_not_empty", "line is empty, expected one JSON object per line"),
        ("   ", "line_not_empty", "line is empty, expected one JSON object per line"),
        ("\r", "line_not_empty", "line is empty, expected one JSON object per line"),
        ("\t \r", "line_not_empty", "line is empty, expected one JSON object per line"),
        ("not json", "json_parses", "line is not JSON (Expecting value)"),
        (
            '{"customer_key": "cust-1", "chan',
            "json_parses",
            "line is not JSON (Unterminated string starting at)",
        ),
        ('{"customer_key": "c"', "json_parses", "line is not JSON (Expecting ',' delimiter)"),
        (
            "{'customer_key': 'c'}",
            "json_parses",
            "line is not JSON (Expecting property name enclosed in double quotes)",
        ),
        (
            '{"customer_key": ' + "9" * 5000 + "}",
            "json_parses",
            "line is not readable JSON (a number in it has more than 4300 digits)",
        ),
        (
            "[" * 100_000,
            "json_parses",
            "line is not JSON (maximum recursion depth exceeded while decoding a JSON array "
            "from a unicode string)",
        ),
        ('[{"customer_key": "cust-1"}]', "json_object", "line is a JSON array, expected an object"),
        ("[]", "json_object", "line is a JSON array, expected an object"),
        ('"cust-1"', "json_object", "line is a JSON string, expected an object"),
        ("42", "json_object", "line is a JSON number, expected an object"),
        ("1e999", "json_object", "line is a JSON number, expected an object"),
        ("true", "json_object", "line is a JSON boolean, expected an object"),
        ("null", "json_object", "line is a JSON null, expected an object"),
        (
            '{"customer_key": "c\\ud800", "source_record_id": "r"}',
            "json_parses",
            "line's field customer_key escapes a lone surrogate (e.g. \\ud800), which is not "
            "Unicode text",
        ),
    ],
    ids=[
        "empty",
        "blank",
        "carriage-return-only",
        "tab-and-cr",
        "text",
        "truncated-string",
        "truncated-object",
        "single-quotes",
        "5000-digit-number",
        "nested-too-deep",
        "array-of-objects",
        "empty-array",
        "string",
        "number",
        "number-overflowing-to-infinity",
        "boolean",
        "null",
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


def test_a_surrogate_outside_the_contract_fields_does_no_harm():
    extended = json.dumps({**event(), "note": "x"}).replace('"x"', '"\\udc00"')
    assert parse_record(extended, True) == PARSED_OK


@pytest.mark.parametrize(
    "value",
    [12, 12.5, 10**30, 2**63, -1, 1e308, True, False, None, [], ["cust-1"], {}, {"id": "c"}],
    ids=[
        "int",
        "float",
        "10^30",
        "2^63",
        "negative",
        "float-max",
        "true",
        "false",
        "null",
        "empty-array",
        "array",
        "empty-object",
        "object",
    ],
)
@pytest.mark.parametrize(
    "field", ["customer_key", "channel", "preference_state", "event_ts", "source_record_id"]
)
def test_parse_record_reads_a_value_that_is_not_a_string_as_missing(field: str, value: Any):
    expected = {**PARSED_OK, field: None}
    if field == "event_ts":
        expected["event_ts_utc"] = None
    assert parse_record(line(**{field: value}), True) == expected


def test_parse_record_a_missing_field_is_missing():
    assert parse_record(line(channel=...), True) == {**PARSED_OK, "channel": None}


def test_parse_record_a_number_too_large_for_a_float_in_a_field_is_missing():
    record = line(source_record_id="@").replace('"@"', "1" + "0" * 400)
    assert parse_record(record, True) == {**PARSED_OK, "source_record_id": None}


def test_parse_record_keeps_strings_exactly_including_unicode_and_spaces():
    parsed = parse_record(line(customer_key=" Zoë\u00a0", source_record_id="r\u00e9c 1"), True)
    assert parsed == {**PARSED_OK, "customer_key": " Zoë\u00a0", "source_record_id": "réc 1"}


# --------------------------------------------------------------------------------------------
# PRIVACY_RULES through validate_rows: rule names and reasons, exactly
# --------------------------------------------------------------------------------------------


def raw_frame(rows: list[tuple[str, int, str, dt.datetime]]) -> pl.DataFrame:
    """raw_privacy_events rows: (source_file, line_no, record, ingested_ts), all UTF-8."""
    return pl.DataFrame(
        {
            "record": [r[2] for r in rows],
            "utf8_valid": [True] * len(rows),
            "partition_key": ["2024-03-01"] * len(rows),
            "source_file": [r[0] for r in rows],
            "line_no": [r[1] for r in rows],
            "ingested_ts": [r[3] for r in rows],
        },
        schema={
            "record": pl.Utf8,
            "utf8_valid": pl.Boolean,
            "partition_key": pl.Utf8,
            "source_file": pl.Utf8,
            "line_no": pl.Int64,
            "ingested_ts": pl.Datetime("us"),
        },
    )


def validate(records: list[str]) -> tuple[list[int], dict[int, tuple[str, str]]]:
    """Lines of one file that arrived at ARRIVAL: (valid line numbers, {line: (rule, reason)})."""
    raw = raw_frame([("f.jsonl", n, r, ARRIVAL) for n, r in enumerate(records, start=1)])
    parsed = parse_records(raw)
    assert parsed["parse_rule"].null_count() == len(records)
    result = validate_rows(parsed, PRIVACY_RULES, LABEL)
    held = {r["line_no"]: (r["rule"], r["reason"]) for r in result.quarantined.to_dicts()}
    return result.valid["line_no"].to_list(), held


def test_boundary_values_are_valid():
    valid, held = validate(
        [
            line(event_ts="2000-01-01T00:00:00Z"),
            line(event_ts="2000-01-01T01:00:00+01:00"),  # 2000-01-01 00:00 UTC
            line(event_ts="2024-03-02T10:00:00Z"),  # exactly a day after the arrival
            line(event_ts="2024-03-02T12:00:00.000000+02:00"),  # the same instant
            line(event_ts="2024-03-02T10:00:00"),  # naive = UTC: the same instant
            *(line(channel=c) for c in ("SMS", "PHONE", "POST", "ALL", "PUSH_V2", "X")),
            line(preference_state="OPT_IN"),
            line(customer_key="c", source_record_id="0"),
            line(customer_key=" c ", source_record_id="\tr\t"),
        ]
    )
    assert held == {}
    assert valid == list(range(1, 15))


@pytest.mark.parametrize(
    ("changes", "rule", "reason"),
    [
        (
            {"source_record_id": ...},
            "source_record_id_present",
            f"column source_record_id=NULL: expected source_record_id as {TEXT}",
        ),
        (
            {"source_record_id": 42},
            "source_record_id_present",
            f"column source_record_id=NULL: expected source_record_id as {TEXT}",
        ),
        (
            {"source_record_id": ""},
            "source_record_id_present",
            "column source_record_id='': expected a source_record_id that is not blank",
        ),
        (
            {"source_record_id": " \t "},
            "source_record_id_present",
            "column source_record_id=' \\t ': expected a source_record_id that is not blank",
        ),
        (
            {"customer_key": None},
            "customer_key_present",
            f"column customer_key=NULL: expected customer_key as {TEXT}",
        ),
        (
            {"customer_key": 1001},
            "customer_key_present",
            f"column customer_key=NULL: expected customer_key as {TEXT}",
        ),
        (
            {"customer_key": ""},
            "customer_key_present",
            "column customer_key='': expected a customer_key that is not blank",
        ),
        ({"channel": ...}, "channel_present", f"column channel=NULL: expected channel as {TEXT}"),
        (
            {"channel": ["EMAIL"]},
            "channel_present",
            f"column channel=NULL: expected channel as {TEXT}",
        ),
        ({"channel": "email"}, "channel_format", f"column channel='email': expected {CHANNEL}"),
        ({"channel": "Email"}, "channel_format", f"column channel='Email': expected {CHANNEL}"),
        ({"channel": "E-MAIL"}, "channel_format", f"column channel='E-MAIL': expected {CHANNEL}"),
        ({"channel": "EMAIL "}, "channel_format", f"column channel='EMAIL ': expected {CHANNEL}"),
        ({"channel": "2FA"}, "channel_format", f"column channel='2FA': expected {CHANNEL}"),
        ({"channel": ""}, "channel_format", f"column channel='': expected {CHANNEL}"),
        (
            {"preference_state": ...},
            "preference_state_known",
            f"column preference_state=NULL: expected preference_state as {TEXT}",
        ),
        (
            {"preference_state": True},
            "preference_state_known",
            f"column preference_state=NULL: expected preference_state as {TEXT}",
        ),
        (
            {"preference_state": "opt_out"},
            "preference_state_known",
            "column preference_state='opt_out': expected one of OPT_IN, OPT_OUT",
        ),
        (
            {"preference_state": "OPTED_OUT"},
            "preference_state_known",
            "column preference_state='OPTED_OUT': expected one of OPT_IN, OPT_OUT",
        ),
        (
            {"event_ts": ...},
            "event_ts_present",
            f"column event_ts=NULL: expected event_ts as {TEXT}",
        ),
        (
            {"event_ts": 1709284530},
            "event_ts_present",
            f"column event_ts=NULL: expected event_ts as {TEXT}",
        ),
        (
            {"event_ts": "yesterday"},
            "event_ts_parses",
            f"column event_ts='yesterday': expected {ISO}",
        ),
        ({"event_ts": ""}, "event_ts_parses", f"column event_ts='': expected {ISO}"),
        (
            {"event_ts": "2024-03-01"},
            "event_ts_parses",
            f"column event_ts='2024-03-01': expected {ISO}",
        ),
        (
            {"event_ts": "2024-02-30T09:00:00Z"},
            "event_ts_parses",
            f"column event_ts='2024-02-30T09:00:00Z': expected {ISO}",
        ),
        (
            {"event_ts": "1999-12-31T23:59:59.999999Z"},
            "event_ts_sane",
            f"column event_ts_utc='1999-12-31 23:59:59.999999': expected {SANE}",
        ),
        (
            {"event_ts": "2000-01-01T00:30:00+01:00"},
            "event_ts_sane",
            f"column event_ts_utc='1999-12-31 23:30:00.000000': expected {SANE}",
        ),
        (
            {"event_ts": "1970-01-01T00:00:00Z"},
            "event_ts_sane",
            f"column event_ts_utc='1970-01-01 00:00:00.000000': expected {SANE}",
        ),
        (
            {"event_ts": "2024-03-02T10:00:00.000001Z"},
            "event_ts_sane",
            f"column event_ts_utc='2024-03-02 10:00:00.000001': expected {SANE}",
        ),
        (
            {"event_ts": "2024-03-02T11:00:01+01:00"},
            "event_ts_sane",
            f"column event_ts_utc='2024-03-02 10:00:01.000000': expected {SANE}",
        ),
    ],
    ids=[
        "no-record-id",
        "record-id-number",
        "record-id-empty",
        "record-id-blank",
        "customer-null",
        "customer-number",
        "customer-empty",
        "no-channel",
        "channel-array",
        "channel-lower",
        "channel-mixed-case",
        "channel-hyphen",
        "channel-trailing-space",
        "channel-leading-digit",
        "channel-empty",
        "no-state",
        "state-boolean",
        "state-lower",
        "state-unknown",
        "no-event-ts",
        "event-ts-epoch-number",
        "event-ts-words",
        "event-ts-empty",
        "event-ts-date-only",
        "event-ts-no-such-day",
        "event-ts-1999",
        "event-ts-offset-into-1999",
        "event-ts-1970",
        "event-ts-1us-past-a-day-after-arrival",
        "event-ts-offset-past-a-day-after-arrival",
    ],
)
def test_each_rule_holds_its_line_with_name_and_reason(
    changes: dict[str, Any], rule: str, reason: str
):
    valid, held = validate([line(), line(**changes)])
    assert valid == [1]
    assert held == {2: (rule, f"{LABEL} {reason}")}


def test_a_line_breaking_several_rules_is_held_once_under_the_first_with_every_reason():
    _, held = validate(
        [
            line(
                source_record_id=...,
                customer_key="",
                channel="sms",
                preference_state="YES",
                event_ts="1999-06-01T00:00:00Z",
            )
        ]
    )
    assert held == {
        1: (
            "source_record_id_present",
            f"{LABEL} column source_record_id=NULL: expected source_record_id as {TEXT}; "
            f"{LABEL} column customer_key='': expected a customer_key that is not blank; "
            f"{LABEL} column channel='sms': expected {CHANNEL}; "
            f"{LABEL} column preference_state='YES': expected one of OPT_IN, OPT_OUT; "
            f"{LABEL} column event_ts_utc='1999-06-01 00:00:00.000000': expected {SANE}",
        )
    }


def test_an_unparseable_event_ts_is_not_also_reported_as_insane():
    _, held = validate([line(event_ts="soon")])
    assert held == {1: ("event_ts_parses", f"{LABEL} column event_ts='soon': expected {ISO}")}


def test_rule_names_are_the_documented_set():
    assert [r.name for r in PRIVACY_RULES] == [
        "source_record_id_present",
        "source_record_id_present",
        "customer_key_present",
        "customer_key_present",
        "channel_present",
        "channel_format",
        "preference_state_known",
        "preference_state_known",
        "event_ts_present",
        "event_ts_parses",
        "event_ts_sane",
    ]


# --------------------------------------------------------------------------------------------
# stage_events: re-sent records collapse, held records hold every delivery, nothing is lost
# --------------------------------------------------------------------------------------------

T1 = dt.datetime(2024, 3, 1, 8, 0)
T2 = dt.datetime(2024, 3, 1, 9, 0)
T3 = dt.datetime(2024, 3, 1, 10, 0)


def staged_rows(frame: pl.DataFrame) -> list[tuple[Any, ...]]:
    return [
        tuple(r)
        for r in frame.select(
            "source_record_id",
            "customer_key",
            "preference_state",
            "event_ts_utc",
            "copies",
            "source_file",
            "line_no",
            "ingested_ts",
        ).iter_rows()
    ]


def held_rows(frame: pl.DataFrame) -> list[tuple[Any, ...]]:
    return [
        tuple(r)
        for r in frame.select("source_file", "line_no", "source_record_id", "rule").iter_rows()
    ]


def test_a_resent_record_collapses_to_its_earliest_delivery_even_when_content_differs():
    raw = raw_frame(
        [
            # b.jsonl arrived later than a.jsonl although its name sorts first: arrival decides
            ("b.jsonl", 1, line(source_record_id="r1", preference_state="OPT_IN"), T2),
            ("a.jsonl", 1, line(source_record_id="r2"), T1),
            ("a.jsonl", 2, line(source_record_id="r1"), T1),
            ("a.jsonl", 3, line(source_record_id="r1"), T1),
            # same arrival instant: the file name, then the line decides
            ("c.jsonl", 1, line(source_record_id="r3", customer_key="late"), T3),
            ("b2.jsonl", 4, line(source_record_id="r3", customer_key="kept"), T3),
            ("b2.jsonl", 2, line(source_record_id="r3", customer_key="kept-first"), T3),
        ]
    )
    split = stage_events(raw, LABEL)
    ts = dt.datetime(2024, 3, 1, 9, 15, 30, 123456)
    assert staged_rows(split.staged) == [
        ("r2", "cust-1", "OPT_OUT", ts, 1, "a.jsonl", 1, T1),
        ("r1", "cust-1", "OPT_OUT", ts, 3, "a.jsonl", 2, T1),
        ("r3", "kept-first", "OPT_OUT", ts, 3, "b2.jsonl", 2, T3),
    ]
    assert split.held.height == 0
    assert split.collapsed == 4  # r1: 2, r3: 2
    assert raw.height == split.staged.height + split.held.height + split.collapsed


def test_a_held_earliest_delivery_holds_every_copy_and_names_the_one_that_decided():
    raw = raw_frame(
        [
            ("a.jsonl", 1, line(source_record_id="r1", channel="email"), T1),
            ("b.jsonl", 1, line(source_record_id="r1"), T2),  # a correct re-send, later
            ("b.jsonl", 2, line(source_record_id="r2"), T2),
        ]
    )
    split = stage_events(raw, LABEL)
    assert staged_rows(split.staged) == [
        ("r2", "cust-1", "OPT_OUT", dt.datetime(2024, 3, 1, 9, 15, 30, 123456), 1, "b.jsonl", 2, T2)
    ]
    reason = f"{LABEL} column channel='email': expected {CHANNEL}"
    assert [
        tuple(r) for r in split.held.select("source_file", "line_no", "rule", "reason").iter_rows()
    ] == [
        ("a.jsonl", 1, "channel_format", reason),
        (
            "b.jsonl",
            1,
            "channel_format",
            "held with the earliest delivery of this source_record_id (a.jsonl line 1): " + reason,
        ),
    ]
    assert split.collapsed == 0
    # raw = staged + held + collapsed: 3 = 1 + 2 + 0
    assert (split.staged.height, split.held.height) == (1, 2)


def test_lines_without_a_record_id_are_never_collapsed_and_parse_failures_are_held():
    raw = raw_frame(
        [
            ("a.jsonl", 1, line(source_record_id=...), T1),
            ("a.jsonl", 2, line(source_record_id=...), T1),
            ("a.jsonl", 3, "", T1),
            ("a.jsonl", 4, '["rec-9"]', T1),
            ("a.jsonl", 5, line(source_record_id=""), T1),
            ("a.jsonl", 6, line(source_record_id=""), T1),
            ("a.jsonl", 7, line(source_record_id="ok"), T1),
        ]
    )
    split = stage_events(raw, LABEL)
    assert split.staged["source_record_id"].to_list() == ["ok"]
    assert held_rows(split.held) == [
        ("a.jsonl", 1, None, "source_record_id_present"),
        ("a.jsonl", 2, None, "source_record_id_present"),
        ("a.jsonl", 3, None, "line_not_empty"),
        ("a.jsonl", 4, None, "json_object"),
        ("a.jsonl", 5, "", "source_record_id_present"),
        ("a.jsonl", 6, "", "source_record_id_present"),
    ]
    assert split.collapsed == 0
    # raw = staged + held + collapsed: 7 = 1 + 6 + 0
    assert (raw.height, split.held.height) == (7, 6)


def test_an_empty_day_stages_nothing():
    split = stage_events(raw_frame([]), LABEL)
    assert (split.staged.height, split.held.height, split.collapsed) == (0, 0, 0)


# --------------------------------------------------------------------------------------------
# Which landed keys are a day's privacy drops
# --------------------------------------------------------------------------------------------


def test_privacy_prefix_is_the_days_folder():
    assert privacy_prefix("2024-03-01") == "privacy/2024/03/01/"


@pytest.mark.parametrize(
    ("key", "partition"),
    [
        ("privacy/2024/03/01/prefs-001.jsonl", "2024-03-01"),
        ("privacy/2024/02/29/x.jsonl", "2024-02-29"),
        ("privacy/2023/02/29/x.jsonl", None),
        ("privacy/2024/02/30/x.jsonl", None),
        ("privacy/2024/13/01/x.jsonl", None),
        ("privacy/2024/3/1/x.jsonl", None),
        ("privacy/2024/03/01/x.json", None),
        ("privacy/2024/03/01/x.jsonl.tmp", None),
        ("privacy/2024/03/01/sub/x.jsonl", None),
        ("privacy/x.jsonl", None),
        ("stripe/2024/03/01/x.jsonl", None),
        ("archive/privacy/2024/03/01/x.jsonl", None),
    ],
)
def test_privacy_partition(key: str, partition: str | None):
    assert privacy_partition(key) == partition
