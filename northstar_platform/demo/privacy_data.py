"""Privacy-system preference events (landing files) and core-system preference history (PostgreSQL).

Most preference pairs agree: each privacy event is mirrored into `core_preferences` up to an
hour later. A handful of customers each get one scenario that exercises a DESIGN §8 rule —
a missed change (STATE_DIFF), a missed re-confirmation (STALE_IN_CORE, one by half a second),
a pair only one side knows, a global do-not-contact (`ALL` `OPT_OUT`) overriding channel
opt-ins, a later `ALL` `OPT_IN` that overrides nothing, a core full tie (OPT_OUT wins), a
privacy tie decided by `source_record_id` *as a string*, and an event written with a +02:00
offset that is only in order once converted to UTC (other events are written with `Z`, with
microseconds, or naive, which means UTC). Expected classes are computed by
`preference_rules.classify`, never assumed from the scenario.

Event times fall in three windows a day (01-06, 08-13, 15-20 h UTC) and a pair uses each window
at most once, so successive events are at least two hours apart and a mirror row (≤ 1 h late)
never overtakes the next event. Files: `privacy/YYYY/MM/DD/preference-events.jsonl`, by the UTC
date of `event_ts`, so events of one instant always share a file (and an `ingested_ts`).
"""

import datetime as dt
import json
import random
from dataclasses import dataclass, field

from northstar_platform.demo.preference_rules import ALL, OPT_IN, OPT_OUT, CoreRow, PrivacyEvent
from northstar_platform.demo.records import DemoDays, day_path, iso_z, seconds

CHANNELS = ("EMAIL", "SMS", "PHONE", "POST")
WINDOWS = ((1, 6), (8, 13), (15, 20))
OK_CUSTOMER_SHARE = 0.35
STYLES = ("z", "micro", "offset", "naive")
"""How `event_ts` is written: `…Z`, `….ffffffZ`, `….ffffff+02:00`, or naive (which is UTC)."""
SCENARIOS = {  # base count at scale 1, minimum at any scale
    "state_diff": (6, 2),
    "stale": (4, 1),
    "micro_stale": (2, 1),
    "missing_in_core": (6, 2),
    "missing_in_privacy": (4, 1),
    "global_opt_out": (3, 2),
    "all_opt_in": (2, 1),
    "core_tie": (2, 2),
    "privacy_tie": (2, 1),
    "offset_in_order": (3, 1),
}


@dataclass
class Preferences:
    """Both sides of the preference data, plus how each privacy event is rendered."""

    events: list[PrivacyEvent] = field(default_factory=list)
    styles: list[str] = field(default_factory=list)
    core: list[CoreRow] = field(default_factory=list)


def flip(state: str) -> str:
    """The other preference state."""
    return OPT_OUT if state == OPT_IN else OPT_IN


class _Builder:
    """Accumulates both sides; each scenario method adds one customer's events and rows."""

    def __init__(self, rng: random.Random, days: DemoDays) -> None:
        self.rng, self.days, self.out, self.next_id = rng, days, Preferences(), 1

    def slots(self, k: int) -> list[dt.datetime]:
        """`k` instants in distinct windows, ascending."""
        windows = [(d, w) for d in range(self.days.count) for w in range(len(WINDOWS))]
        chosen = sorted(self.rng.sample(windows, k))
        return [
            self.days.random_instant(self.rng, d, WINDOWS[w][0] * 3600, WINDOWS[w][1] * 3600 - 1)
            for d, w in chosen
        ]

    def state(self) -> str:
        return self.rng.choice((OPT_IN, OPT_OUT))

    def privacy(
        self,
        key: str,
        channel: str,
        state: str,
        ts: dt.datetime,
        style: str = "",
        record_id: str = "",
    ) -> dt.datetime:
        """Record one event; returns its exact instant (microseconds may be added)."""
        style = style or self.rng.choices(STYLES, weights=(16, 2, 2, 1))[0]
        if style != "z" and ts.microsecond == 0:
            ts = ts.replace(microsecond=self.rng.randint(1, 999_999))
        if not record_id:
            record_id, self.next_id = f"psr-{self.next_id}", self.next_id + 1
        self.out.events.append(PrivacyEvent(key, channel, state, ts, record_id, ts.date()))
        self.out.styles.append(style)
        return ts

    def core(self, key: str, channel: str, state: str, ts: dt.datetime) -> None:
        self.out.core.append(CoreRow(key, channel, state, ts))

    def lag(self, ts: dt.datetime) -> dt.datetime:
        return ts + seconds(self.rng.randint(1, 3600))

    def before_start(self) -> dt.datetime:
        return self.days.begin(0) - dt.timedelta(
            days=self.rng.randint(10, 400), seconds=self.rng.randint(0, 86399)
        )

    # Scenarios: one customer each (the agreeing pairs are `agreeing`).
    def agreeing(self, key: str, channel: str) -> None:
        if self.rng.random() < 0.5:
            self.core(key, channel, self.state(), self.before_start())
        for ts in self.slots(self.rng.randint(1, min(3, self.days.count * 3))):
            state = self.state()
            self.core(key, channel, state, self.lag(self.privacy(key, channel, state, ts)))

    def state_diff(self, key: str, channel: str, n: int) -> None:
        last = self.state()
        if n % 2 == 0:  # the core system missed the latest change
            self.core(key, channel, flip(last), self.before_start())
            for ts, state in zip(self.slots(2), (flip(last), last), strict=True):
                exact = self.privacy(key, channel, state, ts)
                if state != last:
                    self.core(key, channel, state, self.lag(exact))
        else:  # the core system changed afterwards on its own
            mirrored = self.lag(self.privacy(key, channel, last, self.slots(1)[0]))
            self.core(key, channel, last, mirrored)
            self.core(key, channel, flip(last), self.lag(mirrored))

    def stale(self, key: str, channel: str, n: int) -> None:
        first = self.state()
        times = self.slots(3)
        exact = self.privacy(key, channel, first, times[0])
        self.core(key, channel, first, self.lag(exact))
        self.privacy(key, channel, flip(first), times[1])
        self.privacy(key, channel, first, times[2])

    def micro_stale(self, key: str, channel: str, n: int) -> None:
        state, ts = self.state(), self.slots(1)[0]
        self.privacy(key, channel, state, ts + dt.timedelta(microseconds=500_000), "micro")
        self.core(key, channel, state, ts)

    def missing_in_core(self, key: str, channel: str, n: int) -> None:
        final = OPT_OUT if n % 2 == 0 else OPT_IN
        times = self.slots(self.rng.randint(1, 2))
        states = [flip(final), final][-len(times) :]
        for ts, state in zip(times, states, strict=True):
            self.privacy(key, channel, state, ts)

    def missing_in_privacy(self, key: str, channel: str, n: int) -> None:
        self.core(key, channel, self.state(), self.before_start())

    def global_opt_out(self, key: str, channel: str, n: int) -> None:
        all_ts, own_ts = self.slots(2)
        all_ts = self.privacy(key, ALL, OPT_OUT, all_ts)
        self.core(key, "EMAIL", OPT_IN, self.lag(self.privacy(key, "EMAIL", OPT_IN, own_ts)))
        self.core(key, "SMS", OPT_IN, self.before_start())
        self.core(key, "POST", OPT_OUT, self.lag(all_ts))
        self.core(key, "PHONE", OPT_OUT, self.before_start())
        if n % 2 == 0:
            self.core(key, ALL, OPT_OUT, self.lag(all_ts))

    def all_opt_in(self, key: str, channel: str, n: int) -> None:
        first, second, own = self.slots(3)
        self.core(key, ALL, OPT_OUT, self.lag(self.privacy(key, ALL, OPT_OUT, first)))
        self.core(key, ALL, OPT_IN, self.lag(self.privacy(key, ALL, OPT_IN, second)))
        self.core(key, "EMAIL", OPT_IN, self.lag(self.privacy(key, "EMAIL", OPT_IN, own)))
        self.core(key, "SMS", OPT_IN, self.before_start())

    def core_tie(self, key: str, channel: str, n: int) -> None:
        state = OPT_OUT if n % 2 == 0 else OPT_IN
        tie = self.lag(self.privacy(key, channel, state, self.slots(1)[0]))
        self.core(key, channel, OPT_OUT, tie)
        self.core(key, channel, OPT_IN, tie)

    def privacy_tie(self, key: str, channel: str, n: int) -> None:
        state, ts = self.state(), self.slots(1)[0]
        # "psr-9…" sorts after "psr-10…" as a string although it is smaller as a number.
        self.privacy(key, channel, flip(state), ts, "z", f"psr-{10_000_000 + n}")
        self.privacy(key, channel, state, ts, "z", f"psr-{9_000_000 + n}")
        self.core(key, channel, state, self.lag(ts))

    def offset_in_order(self, key: str, channel: str, n: int) -> None:
        state = self.state()
        exact = self.privacy(key, channel, state, self.slots(1)[0], "offset")
        self.core(key, channel, state, exact + seconds(self.rng.randint(60, 3600)))


def build_preferences(
    rng: random.Random, days: DemoDays, customer_ids: list[str], scale: float
) -> Preferences:
    """Privacy events and core rows: agreeing pairs plus each §8 scenario a few times."""
    builder = _Builder(rng, days)
    keys = iter(rng.sample(customer_ids, len(customer_ids)))
    for name, (base, minimum) in SCENARIOS.items():
        for n in range(max(minimum, round(base * scale))):
            getattr(builder, name)(next(keys), rng.choice(CHANNELS), n)
    for key in [next(keys, None) for _ in range(round(len(customer_ids) * OK_CUSTOMER_SHARE))]:
        if key is None:
            break
        for channel in rng.sample(CHANNELS, rng.randint(1, 3)):
            builder.agreeing(key, channel)
    return builder.out


def render_privacy(days: DemoDays, prefs: Preferences) -> dict[str, bytes]:
    """One JSON-lines file per UTC day, events ordered by instant then record id."""
    per_day: dict[dt.date, list[tuple[dt.datetime, str, str]]] = {}
    for event, style in zip(prefs.events, prefs.styles, strict=True):
        line = json.dumps(
            {
                "customer_key": event.customer_key,
                "channel": event.channel,
                "preference_state": event.state,
                "event_ts": _render_ts(event.event_ts, style),
                "source_record_id": event.source_record_id,
            },
            separators=(",", ":"),
        )
        per_day.setdefault(event.partition, []).append(
            (event.event_ts, event.source_record_id, line)
        )
    return {
        f"privacy/{day_path(day)}/preference-events.jsonl": "".join(
            f"{line}\n" for *_, line in sorted(rows)
        ).encode()
        for day, rows in sorted(per_day.items())
    }


def _render_ts(ts: dt.datetime, style: str) -> str:
    if style == "offset":
        local = ts + dt.timedelta(hours=2)
        return f"{local:%Y-%m-%dT%H:%M:%S}.{local.microsecond:06d}+02:00"
    if style == "naive":
        return ts.isoformat()
    return iso_z(ts)
