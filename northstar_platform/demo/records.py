"""The demo's calendar and the small formatting helpers every source builder shares.

All generated instants are naive `datetime`s holding UTC: that is what the PostgreSQL source
stores (`timestamp without time zone`), and keeping one representation everywhere means no
builder can mix zones by accident. Offsets appear only when a file renders an instant.
"""

import datetime as dt
import random
import string
from dataclasses import dataclass

EPOCH = dt.datetime(1970, 1, 1)
"""Naive UTC epoch, for Stripe's `created` seconds."""

TOKEN_ALPHABET = string.ascii_letters + string.digits


@dataclass(frozen=True)
class DemoDays:
    """The business days a demo covers, and the one day that trips the quarantine gate."""

    start: dt.date
    count: int

    @property
    def trip(self) -> int | None:
        """Index of the gate-trip day (`count // 2`), or None when fewer than 3 days."""
        return self.count // 2 if self.count >= 3 else None

    @property
    def normal_days(self) -> list[int]:
        """Indexes of the days that carry ordinary traffic and defects (all but the trip day)."""
        return [i for i in range(self.count) if i != self.trip]

    @property
    def end(self) -> dt.datetime:
        """The first instant after the last day: nothing generated happens at or after it."""
        return self.begin(self.count)

    @property
    def partitions(self) -> list[str]:
        """Daily partition keys, `YYYY-MM-DD`."""
        return [self.date(i).isoformat() for i in range(self.count)]

    def date(self, index: int) -> dt.date:
        """The calendar date of day `index`."""
        return self.start + dt.timedelta(days=index)

    def begin(self, index: int) -> dt.datetime:
        """Midnight UTC starting day `index`."""
        return dt.datetime.combine(self.date(index), dt.time())

    def index(self, ts: dt.datetime) -> int:
        """The day index an instant falls on (may be outside the range)."""
        return (ts.date() - self.start).days

    def horizon(self, created_day: int) -> dt.datetime:
        """The instant before which an order created on `created_day` may still change.

        Orders created before the trip day stop changing when it begins, so every order whose
        `updated_at` falls on the trip day was created that day; all stop at the end.
        """
        if self.trip is not None and created_day < self.trip:
            return self.begin(self.trip)
        return self.end

    def random_instant(
        self, rng: random.Random, index: int, first_s: int = 0, last_s: int = 86399
    ) -> dt.datetime:
        """A whole-second instant on day `index`, between `first_s` and `last_s` after midnight."""
        return self.begin(index) + dt.timedelta(seconds=rng.randint(first_s, last_s))


def seconds(n: float) -> dt.timedelta:
    """A duration of `n` seconds."""
    return dt.timedelta(seconds=n)


def epoch_seconds(ts: dt.datetime) -> int:
    """Whole seconds since the epoch of a naive UTC instant."""
    return int((ts - EPOCH).total_seconds())


def iso_z(ts: dt.datetime) -> str:
    """`YYYY-MM-DDTHH:MM:SSZ`, with six fractional digits only when there are microseconds."""
    if ts.microsecond:
        return f"{ts:%Y-%m-%dT%H:%M:%S}.{ts.microsecond:06d}Z"
    return f"{ts:%Y-%m-%dT%H:%M:%S}Z"


def pg_text(ts: dt.datetime) -> str:
    """A naive UTC instant as PostgreSQL's COPY text format reads it."""
    return ts.isoformat(sep=" ")


def day_path(day: dt.date) -> str:
    """`YYYY/MM/DD`, the date part of every landing key."""
    return f"{day:%Y/%m/%d}"


def token(rng: random.Random, length: int = 24) -> str:
    """A random alphanumeric id suffix, like Stripe's."""
    return "".join(rng.choices(TOKEN_ALPHABET, k=length))


def unique_token(rng: random.Random, prefix: str, used: set[str]) -> str:
    """`prefix` + a token never handed out before (recorded in `used`)."""
    while True:
        candidate = prefix + token(rng)
        if candidate not in used:
            used.add(candidate)
            return candidate
