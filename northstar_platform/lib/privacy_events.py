"""Privacy-system preference events: parse landed JSON lines and the rules they must keep.

One line is one event (DESIGN §4): `customer_key, channel, preference_state, event_ts,
source_record_id`. A line that is not UTF-8, empty, not JSON or not a JSON object is held
with a rule that says so before any field is looked at; the fields of an object are then
checked by `PRIVACY_RULES` (pandera), so a record breaking several rules names all of them.

Timestamps follow DESIGN §8: an offset is converted to UTC, a naive time is UTC, and
microseconds are kept. Fields that must be text but hold another JSON type (a number, a
boolean, an array, an object, null) are read as missing: the contract's keys are strings,
and guessing a text form for `12` or `true` would invent a key the producer never sent.
"""

import datetime as dt
import json
import re
from dataclasses import dataclass
from typing import Any

import pandera.polars as pa
import polars as pl

from northstar_platform.lib.json_values import is_unicode, json_kind
from northstar_platform.lib.loading import collapse_duplicates
from northstar_platform.lib.validation import RowRule, validate_rows

PREFERENCE_STATES = ("OPT_IN", "OPT_OUT")
CHANNEL_TOKEN = r"^[A-Z][A-Z0-9_]*$"
"""A channel's shape only (EMAIL, SMS, PHONE, POST, ALL, ...): which channels apply to which
products is the reference table `ref_channel_product_scope`, not a list in the code."""
EARLIEST_EVENT_TS = dt.datetime(2000, 1, 1)
MAX_CLOCK_SKEW = dt.timedelta(days=1)
"""An event may be stamped at most a day after its file arrived (clock skew), never later."""

TEXT_FIELDS = ("customer_key", "channel", "preference_state", "event_ts", "source_record_id")
PARSED = {
    "customer_key": pl.Utf8,
    "channel": pl.Utf8,
    "preference_state": pl.Utf8,
    "event_ts": pl.Utf8,
    "event_ts_utc": pl.Datetime("us"),
    "source_record_id": pl.Utf8,
    "parse_rule": pl.Utf8,
    "parse_reason": pl.Utf8,
}
"""`event_ts` is the text as delivered (so a reason can quote it); `event_ts_utc` its value."""

ISO_TIMESTAMP = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt ]([0-9]{2}):([0-9]{2})"
    r"(?::([0-9]{2})(?:[.,]([0-9]{1,9}))?)?"
    r"(?:([Zz])|([+-])([0-9]{2})(?::?([0-9]{2}))?)?",
    re.ASCII,
)
"""ISO-8601 extended date and time; seconds, fraction and zone optional (RFC 3339 is a subset)."""


def parse_event_ts(text: str) -> dt.datetime | None:
    """An ISO-8601 date and time as a naive UTC datetime, or None when it is not one.

    `Z` or `+hh:mm` / `+hhmm` / `+hh` are converted to UTC; no zone means UTC (DESIGN §8).
    A fraction keeps microseconds; digits beyond the sixth (nanoseconds) are cut, not
    rounded, so a time never moves into the next second. A date alone is not a time.
    """
    match = ISO_TIMESTAMP.fullmatch(text)
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction, zulu, sign, off_h, off_m = match.groups()
    micros = int((fraction or "0")[:6].ljust(6, "0"))
    try:
        moment = dt.datetime(
            int(year), int(month), int(day), int(hour), int(minute), int(second or 0), micros
        )
        if sign is None or zulu:
            return moment
        hours, minutes = int(off_h), int(off_m or 0)
        if hours > 23 or minutes > 59:
            return None
        offset = dt.timedelta(hours=hours, minutes=minutes)
        return moment - offset if sign == "+" else moment + offset
    except (ValueError, OverflowError):  # 2024-02-30, 24:00, a shift past year 1 or 9999
        return None


def _held(rule: str, reason: str) -> dict[str, Any]:
    return {**dict.fromkeys(PARSED), "parse_rule": rule, "parse_reason": reason}


def parse_record(record: str | None, utf8_valid: bool) -> dict[str, Any]:
    """One line's fields, or the rule it breaks before field validation (see `PARSED`)."""
    if not utf8_valid:
        return _held("utf8_valid", "line is not valid UTF-8")
    if record is None or not record.strip():
        return _held("line_not_empty", "line is empty, expected one JSON object per line")
    try:
        event = json.loads(record)
    except (json.JSONDecodeError, RecursionError) as exc:
        reason = f"line is not JSON ({exc.msg if hasattr(exc, 'msg') else exc})"
        return _held("json_parses", reason)
    except ValueError:  # int() refuses a literal of more than 4300 digits (CVE-2020-10735)
        return _held(
            "json_parses", "line is not readable JSON (a number in it has more than 4300 digits)"
        )
    if not isinstance(event, dict):
        return _held("json_object", f"line is a JSON {json_kind(event)}, expected an object")
    fields = {name: event.get(name) for name in TEXT_FIELDS}
    fields = {name: value if isinstance(value, str) else None for name, value in fields.items()}
    broken = [name for name, value in fields.items() if value is not None and not is_unicode(value)]
    if broken:
        return _held(
            "json_parses",
            f"line's field {broken[0]} escapes a lone surrogate (e.g. \\ud800), which is not "
            "Unicode text",
        )
    event_ts = fields["event_ts"]
    return {
        **fields,
        "event_ts_utc": parse_event_ts(event_ts) if event_ts is not None else None,
        "parse_rule": None,
        "parse_reason": None,
    }


def parse_records(raw: pl.DataFrame) -> pl.DataFrame:
    """`raw` (record, utf8_valid, loader columns) with the parsed fields appended."""
    parsed = pl.DataFrame(
        [parse_record(r, v) for r, v in zip(raw["record"], raw["utf8_valid"], strict=True)],
        schema=PARSED,
    )
    return pl.concat([raw, parsed], how="horizontal")


def _parses(data: Any) -> pl.LazyFrame:
    """Delivered `event_ts` text that did not become a time fails (missing is another rule)."""
    return data.lazyframe.select(pl.col(data.key).is_null() | pl.col("event_ts_utc").is_not_null())


def _sane(data: Any) -> pl.LazyFrame:
    """From 2000-01-01 up to a day after the line's file arrived (its `ingested_ts`)."""
    moment = pl.col(data.key)
    latest = pl.col("ingested_ts") + pl.duration(days=MAX_CLOCK_SKEW.days)
    return data.lazyframe.select(
        ((moment >= EARLIEST_EVENT_TS) & (moment <= latest)).fill_null(True)
    )


def _not_blank(column: str) -> pa.Check:
    """Some character that is not white space (`str_matches` would anchor it at the start)."""
    return pa.Check.str_contains(r"\S", name=f"{column}_not_blank")


TEXT = "a JSON string (the field is missing, null, or another JSON type)"
ISO_SHAPE = "YYYY-MM-DDTHH:MM[:SS[.ffffff]] with Z, an offset such as +02:00, or none for UTC"

PRIVACY_RULES = [
    RowRule("source_record_id_present", "source_record_id", f"source_record_id as {TEXT}"),
    RowRule(
        "source_record_id_present",
        "source_record_id",
        "a source_record_id that is not blank",
        _not_blank("source_record_id"),
    ),
    RowRule("customer_key_present", "customer_key", f"customer_key as {TEXT}"),
    RowRule(
        "customer_key_present",
        "customer_key",
        "a customer_key that is not blank",
        _not_blank("customer_key"),
    ),
    RowRule("channel_present", "channel", f"channel as {TEXT}"),
    RowRule(
        "channel_format",
        "channel",
        "an upper-case channel token such as EMAIL, SMS, PHONE, POST or ALL",
        pa.Check.str_matches(CHANNEL_TOKEN),
    ),
    RowRule("preference_state_known", "preference_state", f"preference_state as {TEXT}"),
    RowRule(
        "preference_state_known",
        "preference_state",
        f"one of {', '.join(PREFERENCE_STATES)}",
        pa.Check.isin(PREFERENCE_STATES),
    ),
    RowRule("event_ts_present", "event_ts", f"event_ts as {TEXT}"),
    RowRule(
        "event_ts_parses",
        "event_ts",
        f"an ISO-8601 date and time, {ISO_SHAPE}",
        pa.Check(_parses, name="event_ts_parses"),
    ),
    RowRule(
        "event_ts_sane",
        "event_ts_utc",
        "a UTC time on or after 2000-01-01 and at most one day after the file arrived",
        pa.Check(_sane, name="event_ts_sane"),
    ),
]
"""Rules in the order a record's first broken rule is reported: identity first, as Stripe.

The frame validated must carry `ingested_ts` (the file's arrival) beside `event_ts_utc`.
"""


@dataclass(frozen=True)
class StagedEvents:
    """One day's privacy lines split into what stages and what is held; nothing else."""

    staged: pl.DataFrame
    """One valid record per source_record_id (earliest arrival), `copies` = its deliveries."""
    held: pl.DataFrame
    """Every held line (loader columns, `record`, `source_record_id`, `rule`, `reason`)."""
    collapsed: int
    """Deliveries folded into a staged record: raw = staged + held + collapsed."""


def stage_events(raw: pl.DataFrame, label: str) -> StagedEvents:
    """Parse, collapse repeated deliveries of a source_record_id, validate one day of lines.

    The same source_record_id delivered several times is one record: the earliest arrival
    (file arrival time, file name, line) is kept and validated, the others are counted in
    its `copies`. A later delivery that differs in content is still a copy of that record:
    the privacy system's id names the record, so its first delivery stands and the
    difference stays visible in raw. When the kept delivery is held, every delivery of that
    id is held with it (each line is then accounted for as held, none as collapsed), the
    later ones with a reason naming the delivery that decided.
    """
    parsed = parse_records(raw)
    unparsed = parsed.filter(pl.col("parse_rule").is_not_null()).with_columns(
        rule=pl.col("parse_rule"), reason=pl.col("parse_reason")
    )
    events = parsed.filter(pl.col("parse_rule").is_null())
    key = "source_record_id"
    copies = events.filter(pl.col(key).is_not_null()).group_by(key).len("copies")
    kept, _ = collapse_duplicates(events, [key])
    kept = kept.join(copies, on=key, how="left").with_columns(
        pl.col("copies").fill_null(1).cast(pl.Int64)
    )
    result = validate_rows(kept, PRIVACY_RULES, label)
    decided = result.quarantined.filter(pl.col(key).is_not_null()).select(
        key, "rule", "reason", kept_file="source_file", kept_line="line_no"
    )
    is_kept = (pl.col("source_file") == pl.col("kept_file")) & (
        pl.col("line_no") == pl.col("kept_line")
    )
    later = pl.format(
        "held with the earliest delivery of this source_record_id ({} line {}): {}",
        "kept_file",
        "kept_line",
        "reason",
    )
    held_copies = (
        events.join(decided, on=key)
        .with_columns(reason=pl.when(is_kept).then(pl.col("reason")).otherwise(later))
        .drop("kept_file", "kept_line")
    )
    held = pl.concat(
        [unparsed, held_copies, result.quarantined.filter(pl.col(key).is_null())],
        how="diagonal_relaxed",
    ).sort(["source_file", "line_no"])
    collapsed = int(result.valid["copies"].sum()) - result.valid.height
    return StagedEvents(staged=result.valid, held=held, collapsed=collapsed)
