"""DESIGN §8 (preference reconciliation) in plain Python: the demo's independent ground truth.

Written from the rules, not from the platform's SQL, so the manifest can catch a platform that
gets a rule wrong: offsets converted to UTC, microseconds kept, the privacy tie-break on
`(event_ts, ingested_ts, source_record_id)` with the id compared as a string, the core
tie-break `OPT_OUT` over `OPT_IN`, the global do-not-contact override, and the class order.
"""

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

ALL = "ALL"
OPT_IN, OPT_OUT = "OPT_IN", "OPT_OUT"
MISMATCH_TYPES = ("MISSING_IN_PRIVACY", "MISSING_IN_CORE", "STATE_DIFF", "STALE_IN_CORE")


@dataclass(frozen=True)
class PrivacyEvent:
    """One privacy-system event as the platform sees it after ingest (UTC, naive)."""

    customer_key: str
    channel: str
    state: str
    event_ts: dt.datetime
    source_record_id: str
    partition: dt.date
    """The landing partition (`privacy/YYYY/MM/DD/`) the event arrived in."""
    ingested_rank: int = 0
    """Orders arrival: a larger rank landed later (stands in for `ingested_ts`)."""


@dataclass(frozen=True)
class CoreRow:
    """One `core_preferences` history row."""

    customer_key: str
    channel: str
    state: str
    updated_ts: dt.datetime


@dataclass(frozen=True)
class Mismatch:
    """One row of `audit_preference_mismatches` (without recon_date)."""

    customer_key: str
    channel: str
    expected_state: str | None
    expected_updated_ts: dt.datetime | None
    core_state: str | None
    core_updated_ts: dt.datetime | None
    mismatch_type: str

    @property
    def needs_remediation(self) -> bool:
        """STATE_DIFF and STALE_IN_CORE, and opt-outs the core system never heard of."""
        return self.mismatch_type in ("STATE_DIFF", "STALE_IN_CORE") or (
            self.mismatch_type == "MISSING_IN_CORE" and self.expected_state == OPT_OUT
        )


def classify(
    events: Iterable[PrivacyEvent], core_rows: Iterable[CoreRow], recon_date: dt.date
) -> list[Mismatch]:
    """The mismatches a correct reconciliation reports for `recon_date`, sorted by pair."""
    privacy: dict[tuple[str, str], PrivacyEvent] = {}
    for event in events:
        if event.partition > recon_date:
            continue
        pair = (event.customer_key, event.channel)
        best = privacy.get(pair)
        if best is None or _privacy_order(event) > _privacy_order(best):
            privacy[pair] = event
    cutoff = dt.datetime.combine(recon_date + dt.timedelta(days=1), dt.time())
    core: dict[tuple[str, str], CoreRow] = {}
    for row in core_rows:
        if row.updated_ts >= cutoff:
            continue
        pair = (row.customer_key, row.channel)
        best = core.get(pair)
        if best is None or _core_order(row) > _core_order(best):
            core[pair] = row
    global_opt_out = {
        key: e.event_ts for (key, ch), e in privacy.items() if ch == ALL and e.state == OPT_OUT
    }
    found = []
    for pair in sorted(privacy.keys() | core.keys()):
        key, channel = pair
        expected: tuple[str, dt.datetime] | None = None
        if channel != ALL and key in global_opt_out:
            expected = (OPT_OUT, global_opt_out[key])
        elif pair in privacy:
            expected = (privacy[pair].state, privacy[pair].event_ts)
        row = core.get(pair)
        kind = _kind(expected, row)
        if kind is not None:
            found.append(
                Mismatch(
                    customer_key=key,
                    channel=channel,
                    expected_state=expected[0] if expected else None,
                    expected_updated_ts=expected[1] if expected else None,
                    core_state=row.state if row else None,
                    core_updated_ts=row.updated_ts if row else None,
                    mismatch_type=kind,
                )
            )
    return found


def _privacy_order(event: PrivacyEvent) -> tuple[dt.datetime, int, str]:
    return (event.event_ts, event.ingested_rank, event.source_record_id)


def _core_order(row: CoreRow) -> tuple[dt.datetime, bool]:
    # All core rows of one sync share an ingested_ts; on a full tie OPT_OUT wins.
    return (row.updated_ts, row.state == OPT_OUT)


def _kind(expected: tuple[str, dt.datetime] | None, row: CoreRow | None) -> str | None:
    """The first class that matches, in the order §8 fixes; None when the pair agrees."""
    if expected is None:
        return "MISSING_IN_PRIVACY"
    if row is None:
        return "MISSING_IN_CORE"
    if expected[0] != row.state:
        return "STATE_DIFF"
    if expected[1] > row.updated_ts:
        return "STALE_IN_CORE"
    return None
