"""Deterministic Stripe webhook files for `bench/stripe_ingest.py`, with their expected counts.

Every line is a pure function of its index `j` in the day (no random numbers), generated with
polars one file at a time, so a day of 8M lines never sits in memory. The expected numbers
(staged events, quarantined lines, collapsed retries) come from the kind each line was given
here, never from parsing the files: the code under test cannot grade itself.

Per line index `j` of `n`:

- `j % 25000 == 13`: a malformed delivery (7 kinds in turn: truncated JSON, empty line,
  invalid UTF-8, a JSON array, an HTML error page, a number of 5000 digits, `NaN` amount);
- `j % 25000 == 37`: an event breaking one field rule (8 kinds in turn: negative amount,
  `USD`, unknown type, no order id, `created` 0, amount `true`, `12.5` or `"1250"`);
- `j % 1000000 in (987, 99987)`: an invalid event (amount -500) and its retry, both held;
- `j % 50 == 25`: a retry of an earlier event (~100k lines back, usually in an earlier file),
  of the event 25 lines back (same file), or of an event a file ahead (it arrives first);
- anything else: a valid event.
"""

import datetime as dt
import os
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

EVENT_KINDS = (
    ("payment_intent.succeeded", "pi", "payment_intent", "succeeded"),
    ("payment_intent.payment_failed", "pi", "payment_intent", "requires_payment_method"),
    ("payment_intent.canceled", "pi", "payment_intent", "canceled"),
    ("charge.succeeded", "ch", "charge", "succeeded"),
    ("charge.failed", "ch", "charge", "failed"),
    ("charge.refunded", "ch", "charge", "succeeded"),
)
"""(type, object id prefix, object name, status): the event types the contract knows."""
CURRENCIES = ("usd", "eur", "gbp")
ARRIVAL_LAG_S = 7
"""A slice's file lands this long after the slice ends."""
BAD_UTF8 = ("caf\u00e9".encode(), b"caf\xe9")
"""Marker text of the invalid-UTF-8 lines and the Latin-1 bytes it becomes on disk."""


@dataclass
class Expected:
    """What a correct ingestion of the generated files must report."""

    lines: int = 0
    staged: int = 0
    quarantined: int = 0
    collapsed: int = 0
    bytes: int = 0
    files: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)

    def add(self, counts: dict[str, int], size: int) -> None:
        for kind, count in counts.items():
            self.by_kind[kind] = self.by_kind.get(kind, 0) + count
        self.lines += sum(counts.values())
        self.staged += counts.get("event", 0)
        self.collapsed += counts.get("retry", 0)
        self.quarantined += sum(counts.get(k, 0) for k in ("malformed", "invalid", "held"))
        self.bytes += size
        self.files += 1


def _far_gap(n: int) -> int:
    """Distance of a far retry: ≡ 25 (mod 1000), so every event is retried at most once."""
    return max(1, min(100, n // 2000)) * 1000 + 25


def _text(expr: pl.Expr, width: int = 0) -> pl.Expr:
    text = expr.cast(pl.String)
    return text.str.zfill(width) if width else text


def lines_frame(first: int, last: int, n: int, start_s: int, span_s: int) -> pl.DataFrame:
    """Lines `first..last-1` of a day of `n`: columns `line` and `kind`."""
    j = pl.col("j")
    far, ahead = _far_gap(n), _far_gap(n) - 50
    slot, m1000, m25k = j % 50 == 25, j % 1000, j % 25_000
    near = slot & (m1000 == 525)
    forward = slot & (m1000 == 75) & (j + ahead < n)
    back = slot & (m1000 != 525) & (m1000 != 75) & (j - far >= 0)
    held_copy = j % 1_000_000 == 99_987
    malformed, invalid = m25k == 13, m25k == 37
    held = (j % 1_000_000 == 987) | held_copy
    src = (
        pl.when(near)
        .then(j - 25)
        .when(forward)
        .then(j + ahead)
        .when(back)
        .then(j - far)
        .when(held_copy)
        .then(j - 99_000)
        .otherwise(j)
    )
    frame = pl.DataFrame({"j": pl.int_range(first, last, dtype=pl.Int64, eager=True)})
    frame = frame.with_columns(src=src, variant=(j // 25_000) % 8, bad=malformed)
    s, v, bad = pl.col("src"), pl.col("variant"), pl.col("bad")
    kind = s % len(EVENT_KINDS)

    def pick(index: int) -> pl.Expr:
        mapping = {k: spec[index] for k, spec in enumerate(EVENT_KINDS)}
        return kind.replace_strict(mapping, return_dtype=pl.String)

    digits = pl.concat_str(_text(s, 10), pl.lit("Kx"), _text((s * 7_919) % 1_000_003, 7))
    event_type = pl.when(invalid & (v == 2)).then(pl.lit("charge.disputed")).otherwise(pick(0))
    created = pl.when(invalid & (v == 4)).then(0).otherwise(start_s + (s * span_s) // n)
    amount = (
        pl.when((invalid & (v == 0)) | held)
        .then(pl.lit("-500"))
        .when(invalid & (v == 5))
        .then(pl.lit("true"))
        .when(invalid & (v == 6))
        .then(pl.lit("12.5"))
        .when(invalid & (v == 7))
        .then(pl.lit('"1250"'))
        .when(bad & (v % 7 == 6))
        .then(pl.lit("NaN"))
        .otherwise(_text(100 + (s * 104_729) % 500_000))
    )
    currency = pl.when(invalid & (v == 1)).then(pl.lit("USD"))
    currency = currency.otherwise(s.mod(3).replace_strict(dict(enumerate(CURRENCIES))))
    metadata = (
        pl.when(invalid & (v == 3))
        .then(pl.lit("{}"))
        .otherwise(pl.concat_str(pl.lit('{"order_id": "ord-'), _text(s // 2, 9), pl.lit('"}')))
    )
    event = pl.concat_str(
        pl.lit('{"id": "evt_1Q'),
        digits,
        pl.lit('", "object": "event", "api_version": "2024-06-20", "created": '),
        _text(created),
        pl.lit(', "data": {"object": {"id": "'),
        pick(1),
        pl.lit("_3Q"),
        digits,
        pl.lit('", "object": "'),
        pick(2),
        pl.lit('", "amount": '),
        amount,
        pl.lit(', "currency": "'),
        currency,
        pl.lit('", "status": "'),
        pick(3),
        pl.lit('", "metadata": '),
        metadata,
        pl.lit('}}, "livemode": false, "pending_webhooks": 1, "type": "'),
        event_type,
        pl.lit('"}'),
    )
    shape = v % 7
    broken = (
        pl.when(shape == 0)
        .then(event.str.slice(0, 80))
        .when(shape == 1)
        .then(pl.lit(""))
        .when(shape == 2)
        .then(pl.concat_str(pl.lit('{"id": "evt_utf8_'), _text(j), pl.lit('", "note": "café"}')))
        .when(shape == 3)
        .then(pl.concat_str(pl.lit("["), event, pl.lit("]")))
        .when(shape == 4)
        .then(pl.lit("<html><body><h1>502 Bad Gateway</h1></body></html>"))
        .when(shape == 5)
        .then(pl.lit('{"id": "evt_big", "amount": ' + "9" * 5000 + "}"))
        .otherwise(event)
    )
    label = (
        pl.when(bad)
        .then(pl.lit("malformed"))
        .when(invalid)
        .then(pl.lit("invalid"))
        .when(held)
        .then(pl.lit("held"))
        .when(s != j)
        .then(pl.lit("retry"))
        .otherwise(pl.lit("event"))
    )
    return frame.select(line=pl.when(bad).then(broken).otherwise(event), kind=label)


def file_name(index: int, files: int, span_s: int) -> str:
    """`events-HHMM.jsonl`, named after the start of the file's slice of the day."""
    minute = index * span_s // files // 60
    return f"events-{minute // 60:02d}{minute % 60:02d}.jsonl"


def write_day(folder: Path, day: dt.date, n: int, files: int, span_s: int = 86_400) -> Expected:
    """Write `n` lines in `files` files under `folder` (a day's landing folder)."""
    start_s = int(dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC).timestamp())
    folder.mkdir(parents=True, exist_ok=True)
    expected = Expected()
    for index in range(files):
        frame = lines_frame(index * n // files, (index + 1) * n // files, n, start_s, span_s)
        data = ("\n".join(frame["line"].to_list()) + "\n").encode().replace(*BAD_UTF8)
        path = folder / file_name(index, files, span_s)
        path.write_bytes(data)
        arrived = start_s + (index + 1) * span_s // files + ARRIVAL_LAG_S
        os.utime(path, (arrived, arrived))
        counts = dict(frame.group_by("kind").len().iter_rows())
        expected.add(counts, len(data))
    return expected
