"""The preference reconciliation in dbt (DESIGN §8): classes, ties, do-not-contact, scope, replay.

One hand-built scenario of privacy events (`staging.stg_privacy_events`, partition_key = landing
day, ingested_ts = the file's arrival) and core history rows (`curated.core_preferences_latest`,
created from the contracts in `northstar_platform.layers`) goes into fresh warehouses, the real
`dbt build --select tag:preferences` runs on them as a subprocess, and the tables are read back.
Expected rows are written out by hand below from §8, never computed by the code under test;
the one derived value, update_hash, is computed here with hashlib from §8's formula.

Three chains of runs go side by side (each on its own warehouse and dbt target path):

- `replay`, every landing partition and core row present from the start: recon date D
  (09-03) built (seed and models), built again, then replayed for D-1 and D-2;
- `forward`, the data landing day by day: D-2's files and core sync, D-1's (with D's privacy
  file already landed: a late run), then D's core sync, each followed by that day's run; then
  `curated.ref_channel_product_scope` marks POST not applicable and D is built again (models
  only, so the edit is not re-seeded away);
- `snowflake`, the replay chain's first and third runs through dbt-snowflake on fakesnow's
  server mode.

What the module proves:

1. every class and its priority, OK pairs (equal times included) absent: the exact audit rows
   of D, D-1 and D-2, whichever code path built them (privacy_latest/core_latest for the
   daily run; staging and the core history when newer data exists — the models' `scalar`
   branches, both of which are shown to have been taken);
2. privacy_latest breaks ties by (event_ts, ingested_ts, source_record_id as a string) and
   core_latest by (updated_ts, ingested_ts, OPT_OUT first);
3. a late event with an older event_ts does not override a newer one; one microsecond counts;
4. a latest ALL opt-out makes every other compared channel of the customer (core-only ones
   too) expected OPT_OUT at the ALL event's time; an ALL opt-in, or a core ALL row, does not;
5. a channel marked not applicable leaves the audit and the patch set; a channel absent from
   the scope table is applicable;
6. a replay of an older date reads only the partitions up to it and the core rows updated
   before the next day, and leaves the other dates' rows alone;
7. the patch set (STATE_DIFF, STALE_IN_CORE, MISSING_IN_CORE opt-outs) and its update_hash,
   stable across a rerun that replaces the date's rows;
8. privacy_latest and core_latest built day by day, forwards and backwards, equal one first
   build over everything;
9. the Snowflake dialect gives the same audit rows and the same update_hash values (when the
   hashes differ, the two constructs they are made of, probed alone on the emulator, say
   which one broke).
"""

import datetime as dt
import hashlib
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dbt_cli
import duckdb
import pytest

from northstar_platform.layers import (
    CORE_PREFERENCES_HISTORY_KEYS,
    STG_PRIVACY_EVENTS,
    Table,
    quote,
)

pytestmark = pytest.mark.integration

Row = tuple[Any, ...]
Snapshot = dict[str, list[Row]]

P1, P2, P3, P4 = "2024-09-01", "2024-09-02", "2024-09-03", "2024-09-04"
"""Landing days; the reconciliation date D is P3 (D-1 = P2, D-2 = P1)."""

IN, OUT = "OPT_IN", "OPT_OUT"
MISSING_IN_PRIVACY, MISSING_IN_CORE = "MISSING_IN_PRIVACY", "MISSING_IN_CORE"
STATE_DIFF, STALE_IN_CORE = "STATE_DIFF", "STALE_IN_CORE"

PREFERENCES = "tag:preferences"
MODELS_ONLY = "tag:preferences,resource_type:model"
"""After the scope table is edited by hand: build the models without re-seeding it."""


def at(day: str, clock: str) -> dt.datetime:
    """A naive UTC timestamp, as staging stores them (microseconds allowed)."""
    return dt.datetime.fromisoformat(f"{day} {clock}")


def day_of(value: str) -> dt.date:
    return dt.date.fromisoformat(value)


def next_day(value: str) -> str:
    return (day_of(value) + dt.timedelta(days=1)).isoformat()


# --------------------------------------------------------------------------------------------
# Source rows
# --------------------------------------------------------------------------------------------


@dataclass
class Feeds:
    """Hand-built rows of the two tables the preference models read.

    A privacy event lands (by default) ten minutes after its event_ts, in the file of that
    instant: partition_key is the arrival day and ingested_ts the arrival, the same for every
    line of a file. A core row is synced five minutes after its updated_ts.
    """

    rows: dict[Table, list[dict[str, Any]]] = field(default_factory=dict)
    lines: Counter[str] = field(default_factory=Counter)

    def event(
        self,
        customer_key: str,
        channel: str,
        state: str,
        event_ts: dt.datetime,
        source_record_id: str,
        *,
        landed: dt.datetime | None = None,
    ) -> None:
        arrival = landed or event_ts + dt.timedelta(minutes=10)
        day = arrival.date().isoformat()
        source_file = f"privacy/{day.replace('-', '/')}/{arrival:%H%M%S%f}.jsonl"
        self.lines[source_file] += 1
        self._add(
            STG_PRIVACY_EVENTS,
            {
                "customer_key": customer_key,
                "channel": channel,
                "preference_state": state,
                "event_ts": event_ts,
                "source_record_id": source_record_id,
                "copies": 1,
                "partition_key": day,
                "source_file": source_file,
                "line_no": self.lines[source_file],
                "ingested_ts": arrival,
                "run_id": "test-loader",
            },
        )

    def core(
        self,
        customer_key: str,
        channel: str,
        state: str,
        updated_ts: dt.datetime,
        *,
        synced: dt.datetime | None = None,
    ) -> None:
        self._add(
            CORE_PREFERENCES_HISTORY_KEYS,
            {
                "customer_key": customer_key,
                "channel": channel,
                "preference_state": state,
                "updated_ts": updated_ts,
                "ingested_ts": synced or updated_ts + dt.timedelta(minutes=5),
            },
        )

    def _add(self, table: Table, row: dict[str, Any]) -> None:
        assert set(row) == set(table.column_names), sorted(set(row) ^ set(table.column_names))
        self.rows.setdefault(table, []).append(row)

    def landed(self, table: Table, days: set[str] | None) -> list[list[Any]]:
        """A table's rows of `days` (privacy: landing day; core: sync day), all if None."""

        def day(row: dict[str, Any]) -> str:
            if table is STG_PRIVACY_EVENTS:
                return row["partition_key"]
            return row["ingested_ts"].date().isoformat()

        return [
            [row[n] for n in table.column_names]
            for row in self.rows.get(table, [])
            if days is None or day(row) in days
        ]

    def write_duckdb(
        self, db: Path, privacy_days: set[str] | None = None, core_days: set[str] | None = None
    ) -> None:
        """Create both tables (if missing) in `db` and append the rows of the given days."""
        con = duckdb.connect(str(db))
        try:
            for table, days in (
                (STG_PRIVACY_EVENTS, privacy_days),
                (CORE_PREFERENCES_HISTORY_KEYS, core_days),
            ):
                con.execute(f"create schema if not exists {quote(table.layer.value)}")
                con.execute(table.create_sql())
                if rows := self.landed(table, days):
                    con.executemany(insert_sql(table), rows)
        finally:
            con.close()

    def write_snowflake(self, cursor: Any) -> None:
        """The same, every row, through the Snowflake connector (timestamps as text)."""

        def bound(value: Any) -> Any:
            if isinstance(value, dt.datetime):
                return value.isoformat(sep=" ", timespec="microseconds")
            return value

        for table in (STG_PRIVACY_EVENTS, CORE_PREFERENCES_HISTORY_KEYS):
            cursor.execute(f"create schema if not exists {table.layer.value}")
            cursor.execute(table.create_sql())
            cursor.executemany(
                insert_sql(table), [[bound(v) for v in row] for row in self.landed(table, None)]
            )


def insert_sql(table: Table) -> str:
    columns = ", ".join(quote(n) for n in table.column_names)
    marks = ", ".join("?" for _ in table.column_names)
    return f"insert into {table.qualified} ({columns}) values ({marks})"


def preference_scenario() -> Feeds:
    """Customers built to sit on §8's boundaries; each comment says what D (P3) must show."""
    f = Feeds()
    t = at

    # The classes. OK pairs: equal times, and a core row newer than the privacy event.
    f.core("c-mip", "EMAIL", IN, t(P1, "10:00"))  # MISSING_IN_PRIVACY
    f.event("c-mic-out", "SMS", OUT, t(P2, "09:00"), "psr-mic-out")  # MISSING_IN_CORE, patched
    f.event("c-mic-in", "EMAIL", IN, t(P2, "09:30"), "psr-mic-in")  # MISSING_IN_CORE only
    f.event("c-diff", "EMAIL", OUT, t(P2, "08:00"), "psr-diff")  # STATE_DIFF though core is newer
    f.core("c-diff", "EMAIL", IN, t(P2, "12:00"))
    f.event("c-stale", "EMAIL", IN, t(P2, "10:00:00.000001"), "psr-stale")  # STALE by 1 µs
    f.core("c-stale", "EMAIL", IN, t(P2, "10:00:00"))
    f.event("c-ok-eq", "SMS", OUT, t(P1, "10:00"), "psr-ok-eq")
    f.core("c-ok-eq", "SMS", OUT, t(P1, "10:00"))
    f.event("c-ok-newer", "EMAIL", IN, t(P1, "10:00"), "psr-ok-newer")
    f.core("c-ok-newer", "EMAIL", IN, t(P2, "10:00"))

    # privacy_latest ties. Equal event_ts: the later arrival wins over the greater id.
    f.event("c-tie-ing", "PHONE", OUT, t(P2, "11:00"), "psr-z", landed=t(P2, "11:05"))
    f.event("c-tie-ing", "PHONE", IN, t(P2, "11:00"), "psr-a", landed=t(P2, "12:00"))
    f.core("c-tie-ing", "PHONE", OUT, t(P2, "11:00"))  # STATE_DIFF: expected OPT_IN
    # Equal event_ts, same file: 'psr-9' > 'psr-10' as strings (not as numbers).
    f.event("c-tie-id", "EMAIL", IN, t(P2, "13:00"), "psr-10")
    f.event("c-tie-id", "EMAIL", OUT, t(P2, "13:00"), "psr-9")
    f.core("c-tie-id", "EMAIL", IN, t(P1, "10:00"))  # STATE_DIFF: expected OPT_OUT

    # core_latest ties. Equal updated_ts: the later sync wins; a full tie: OPT_OUT wins.
    f.core("c-core-ing", "SMS", OUT, t(P2, "09:00"), synced=t(P2, "09:05"))
    f.core("c-core-ing", "SMS", IN, t(P2, "09:00"), synced=t(P2, "09:10"))
    f.event("c-core-ing", "SMS", OUT, t(P2, "08:00"), "psr-core-ing")  # STATE_DIFF vs OPT_IN
    f.core("c-core-full", "SMS", IN, t(P2, "09:00"), synced=t(P2, "09:05"))
    f.core("c-core-full", "SMS", OUT, t(P2, "09:00"), synced=t(P2, "09:05"))
    f.event("c-core-full", "SMS", IN, t(P2, "08:00"), "psr-core-full")  # STATE_DIFF vs OPT_OUT

    # A late file (partition P3, arrived last) with an older event does not override.
    f.event("c-late", "EMAIL", OUT, t(P2, "15:00"), "psr-late-new")
    f.event("c-late", "EMAIL", IN, t(P2, "14:00"), "psr-late-old", landed=t(P3, "01:00"))
    f.core("c-late", "EMAIL", IN, t(P1, "10:00"))  # STATE_DIFF: expected OPT_OUT 15:00
    # One microsecond later wins, though it arrived earlier and has the smaller id.
    f.event("c-micro", "SMS", IN, t(P2, "16:00:00"), "psr-b", landed=t(P2, "16:05"))
    f.event("c-micro", "SMS", OUT, t(P2, "16:00:00.000001"), "psr-a", landed=t(P2, "16:01"))
    f.core("c-micro", "SMS", IN, t(P1, "10:00"))  # STATE_DIFF: expected OPT_OUT .000001

    # Global do-not-contact: ALL opt-out at P2 12:00 overrides a newer EMAIL opt-in and sets
    # the time of a newer SMS opt-out; core-only PHONE/POST and privacy-only PUSH (absent from
    # the scope table, so applicable) are expected OPT_OUT too; no core ALL row.
    f.event("c-g1", "ALL", OUT, t(P2, "12:00"), "psr-g1-all")  # MISSING_IN_CORE, patched
    f.event("c-g1", "EMAIL", IN, t(P2, "18:00"), "psr-g1-email")
    f.core("c-g1", "EMAIL", IN, t(P2, "18:00"))  # STATE_DIFF
    f.event("c-g1", "SMS", OUT, t(P2, "20:00"), "psr-g1-sms")
    f.core("c-g1", "SMS", OUT, t(P2, "11:00"))  # STALE_IN_CORE against 12:00
    f.core("c-g1", "PHONE", IN, t(P1, "10:00"))  # STATE_DIFF, not MISSING_IN_PRIVACY
    f.core("c-g1", "POST", OUT, t(P2, "13:00"))  # OK
    f.event("c-g1", "PUSH", IN, t(P2, "19:00"), "psr-g1-push")  # MISSING_IN_CORE, patched
    # An ALL opt-out on P1 lifted by an ALL opt-in on P2: from P2 on it changes nothing.
    f.event("c-g2", "ALL", OUT, t(P1, "09:00"), "psr-g2-all-1")
    f.event("c-g2", "ALL", IN, t(P2, "09:00"), "psr-g2-all-2")
    f.core("c-g2", "ALL", OUT, t(P1, "09:00"))  # STATE_DIFF: expected OPT_IN
    f.event("c-g2", "EMAIL", IN, t(P1, "10:00"), "psr-g2-email")
    f.core("c-g2", "EMAIL", IN, t(P1, "10:00"))  # OK (STATE_DIFF on P1)
    f.core("c-g2", "SMS", IN, t(P1, "08:00"))  # MISSING_IN_PRIVACY (STATE_DIFF on P1)
    # A core-side ALL opt-out overrides nothing.
    f.core("c-g3", "ALL", OUT, t(P2, "10:00"))  # MISSING_IN_PRIVACY
    f.event("c-g3", "EMAIL", IN, t(P1, "10:00"), "psr-g3-email")
    f.core("c-g3", "EMAIL", IN, t(P1, "10:00"))  # OK
    # A core-only channel already opted out, but before the ALL event: stale.
    f.event("c-g4", "ALL", OUT, t(P2, "12:00"), "psr-g4-all")
    f.core("c-g4", "ALL", OUT, t(P2, "12:00"))  # OK
    f.core("c-g4", "EMAIL", OUT, t(P2, "11:00"))  # STALE_IN_CORE

    # POST pairs, to be marked out of scope: one from each side.
    f.event("c-scope", "POST", OUT, t(P2, "07:00"), "psr-scope")
    f.core("c-scope", "POST", IN, t(P1, "10:00"))  # STATE_DIFF
    f.core("c-scope2", "POST", IN, t(P1, "10:00"))  # MISSING_IN_PRIVACY

    # What D-1 (P2) must not see: partition P3, core rows updated on P3.
    f.event("c-rep1", "EMAIL", IN, t(P2, "10:00"), "psr-rep1-a")
    f.event("c-rep1", "EMAIL", OUT, t(P3, "08:00"), "psr-rep1-b")
    f.core("c-rep1", "EMAIL", IN, t(P2, "10:00"))  # STATE_DIFF; OK on P2
    f.event("c-rep2", "SMS", OUT, t(P2, "22:00"), "psr-rep2", landed=t(P3, "02:00"))
    f.core("c-rep2", "SMS", IN, t(P1, "10:00"))  # STATE_DIFF; MISSING_IN_PRIVACY on P2
    f.event("c-rep3", "EMAIL", OUT, t(P2, "09:00"), "psr-rep3")
    f.core("c-rep3", "EMAIL", IN, t(P1, "10:00"))
    f.core("c-rep3", "EMAIL", OUT, t(P3, "09:00"))  # OK; STATE_DIFF on P2
    f.core("c-rep4", "PHONE", IN, t(P3, "11:00"))  # MISSING_IN_PRIVACY; absent on P2
    f.event("c-rep5", "ALL", OUT, t(P3, "07:00"), "psr-rep5-all")
    f.core("c-rep5", "ALL", OUT, t(P3, "07:00"))  # OK; absent on P2
    f.event("c-rep5", "EMAIL", IN, t(P2, "10:00"), "psr-rep5-email")
    f.core("c-rep5", "EMAIL", IN, t(P2, "10:00"))  # STATE_DIFF; OK on P2
    return f


# --------------------------------------------------------------------------------------------
# Expected rows, by hand from §8
# --------------------------------------------------------------------------------------------

Expected = dict[tuple[str, str], tuple[Any, ...]]
"""(customer_key, channel) -> (expected_state, expected_updated_ts, core_state,
core_updated_ts, mismatch_type)."""

T = at
NONE = (None, None)

BOTH_DAYS: Expected = {
    ("c-mip", "EMAIL"): (*NONE, IN, T(P1, "10:00"), MISSING_IN_PRIVACY),
    ("c-mic-out", "SMS"): (OUT, T(P2, "09:00"), *NONE, MISSING_IN_CORE),
    ("c-mic-in", "EMAIL"): (IN, T(P2, "09:30"), *NONE, MISSING_IN_CORE),
    ("c-diff", "EMAIL"): (OUT, T(P2, "08:00"), IN, T(P2, "12:00"), STATE_DIFF),
    ("c-stale", "EMAIL"): (IN, T(P2, "10:00:00.000001"), IN, T(P2, "10:00"), STALE_IN_CORE),
    ("c-tie-ing", "PHONE"): (IN, T(P2, "11:00"), OUT, T(P2, "11:00"), STATE_DIFF),
    ("c-tie-id", "EMAIL"): (OUT, T(P2, "13:00"), IN, T(P1, "10:00"), STATE_DIFF),
    ("c-core-ing", "SMS"): (OUT, T(P2, "08:00"), IN, T(P2, "09:00"), STATE_DIFF),
    ("c-core-full", "SMS"): (IN, T(P2, "08:00"), OUT, T(P2, "09:00"), STATE_DIFF),
    ("c-late", "EMAIL"): (OUT, T(P2, "15:00"), IN, T(P1, "10:00"), STATE_DIFF),
    ("c-micro", "SMS"): (OUT, T(P2, "16:00:00.000001"), IN, T(P1, "10:00"), STATE_DIFF),
    ("c-g1", "ALL"): (OUT, T(P2, "12:00"), *NONE, MISSING_IN_CORE),
    ("c-g1", "EMAIL"): (OUT, T(P2, "12:00"), IN, T(P2, "18:00"), STATE_DIFF),
    ("c-g1", "SMS"): (OUT, T(P2, "12:00"), OUT, T(P2, "11:00"), STALE_IN_CORE),
    ("c-g1", "PHONE"): (OUT, T(P2, "12:00"), IN, T(P1, "10:00"), STATE_DIFF),
    ("c-g1", "PUSH"): (OUT, T(P2, "12:00"), *NONE, MISSING_IN_CORE),
    ("c-g2", "ALL"): (IN, T(P2, "09:00"), OUT, T(P1, "09:00"), STATE_DIFF),
    ("c-g2", "SMS"): (*NONE, IN, T(P1, "08:00"), MISSING_IN_PRIVACY),
    ("c-g3", "ALL"): (*NONE, OUT, T(P2, "10:00"), MISSING_IN_PRIVACY),
    ("c-g4", "EMAIL"): (OUT, T(P2, "12:00"), OUT, T(P2, "11:00"), STALE_IN_CORE),
    ("c-scope", "POST"): (OUT, T(P2, "07:00"), IN, T(P1, "10:00"), STATE_DIFF),
    ("c-scope2", "POST"): (*NONE, IN, T(P1, "10:00"), MISSING_IN_PRIVACY),
}
"""Rows D and D-1 share: nothing of partition P3 or a core row updated on P3 decides them."""

EXPECTED_D: Expected = {
    **BOTH_DAYS,
    ("c-rep1", "EMAIL"): (OUT, T(P3, "08:00"), IN, T(P2, "10:00"), STATE_DIFF),
    ("c-rep2", "SMS"): (OUT, T(P2, "22:00"), IN, T(P1, "10:00"), STATE_DIFF),
    ("c-rep4", "PHONE"): (*NONE, IN, T(P3, "11:00"), MISSING_IN_PRIVACY),
    ("c-rep5", "EMAIL"): (OUT, T(P3, "07:00"), IN, T(P2, "10:00"), STATE_DIFF),
}

EXPECTED_D1: Expected = {
    **BOTH_DAYS,
    ("c-rep2", "SMS"): (*NONE, IN, T(P1, "10:00"), MISSING_IN_PRIVACY),
    ("c-rep3", "EMAIL"): (OUT, T(P2, "09:00"), IN, T(P1, "10:00"), STATE_DIFF),
}

EXPECTED_D2: Expected = {
    # c-g2's ALL opt-out is still its latest ALL event: EMAIL (own opt-in) and core-only SMS.
    ("c-g2", "EMAIL"): (OUT, T(P1, "09:00"), IN, T(P1, "10:00"), STATE_DIFF),
    ("c-g2", "SMS"): (OUT, T(P1, "09:00"), IN, T(P1, "08:00"), STATE_DIFF),
    ("c-ok-newer", "EMAIL"): (IN, T(P1, "10:00"), *NONE, MISSING_IN_CORE),
    **{
        pair: (*NONE, IN, T(P1, "10:00"), MISSING_IN_PRIVACY)
        for pair in [
            ("c-mip", "EMAIL"),
            ("c-tie-id", "EMAIL"),
            ("c-late", "EMAIL"),
            ("c-micro", "SMS"),
            ("c-g1", "PHONE"),
            ("c-scope", "POST"),
            ("c-scope2", "POST"),
            ("c-rep2", "SMS"),
            ("c-rep3", "EMAIL"),
        ]
    },
}
"""Only P1's files and P1's core rows exist for D-2."""

PATCHED_D = [
    ("c-core-full", "SMS"),
    ("c-core-ing", "SMS"),
    ("c-diff", "EMAIL"),
    ("c-g1", "ALL"),
    ("c-g1", "EMAIL"),
    ("c-g1", "PHONE"),
    ("c-g1", "PUSH"),
    ("c-g1", "SMS"),
    ("c-g2", "ALL"),
    ("c-g4", "EMAIL"),
    ("c-late", "EMAIL"),
    ("c-mic-out", "SMS"),
    ("c-micro", "SMS"),
    ("c-rep1", "EMAIL"),
    ("c-rep2", "SMS"),
    ("c-rep5", "EMAIL"),
    ("c-scope", "POST"),
    ("c-stale", "EMAIL"),
    ("c-tie-id", "EMAIL"),
    ("c-tie-ing", "PHONE"),
]
"""D's patch set: not c-mic-in (an opt-in the core never heard of) nor the MISSING_IN_PRIVACY
pairs."""


def audit_rows(day: str, expected: Expected) -> list[Row]:
    return sorted((day_of(day), key, channel, *row) for (key, channel), row in expected.items())


def update_hash(key: str, channel: str, state: str, ts: dt.datetime) -> str:
    """§8's update_hash, computed here (not by dbt)."""
    return hashlib.sha256(f"{key}|{channel}|{state}|{ts:%Y-%m-%d %H:%M:%S.%f}".encode()).hexdigest()


def patch_rows(audit: Sequence[Row]) -> list[Row]:
    """§8's remediation rows of expected audit rows: STATE_DIFF and STALE_IN_CORE, plus
    MISSING_IN_CORE whose expected state is OPT_OUT."""
    return sorted(
        (day, key, channel, kind, state, ts, update_hash(key, channel, state, ts))
        for day, key, channel, state, ts, _, _, kind in audit
        if kind in (STATE_DIFF, STALE_IN_CORE) or (kind == MISSING_IN_CORE and state == OUT)
    )


def without_post(rows: Sequence[Row]) -> list[Row]:
    return [r for r in rows if r[2] != "POST"]


# --------------------------------------------------------------------------------------------
# dbt and the warehouses
# --------------------------------------------------------------------------------------------

QUERIES = {
    "audit": "select recon_date, customer_key, channel, expected_state, expected_updated_ts, "
    "core_state, core_updated_ts, mismatch_type from audit.audit_preference_mismatches",
    "remediation": "select recon_date, customer_key, channel, mismatch_type, "
    "new_preference_state, effective_ts, update_hash from remediation.remediation_core_updates",
    "privacy_latest": "select customer_key, channel, preference_state, event_ts, ingested_ts, "
    "source_record_id, partition_key from curated.privacy_latest",
    "core_latest": "select customer_key, channel, preference_state, updated_ts, ingested_ts "
    "from curated.core_latest",
}
"""Every table is unique on its leading columns, so sorting never compares a NULL."""

AUDIT_SQL = Path(
    "target/compiled/northstar/models/preferences/audit/audit_preference_mismatches.sql"
)


@dataclass(frozen=True)
class AuditInputs:
    """Which inputs the audit model read in one run (its `scalar` branches)."""

    privacy_from_staging: bool
    core_from_history: bool


LATEST_TABLES = AuditInputs(privacy_from_staging=False, core_from_history=False)
HISTORY = AuditInputs(privacy_from_staging=True, core_from_history=True)
PRIVACY_HISTORY = AuditInputs(privacy_from_staging=True, core_from_history=False)


def build(
    target: str, env: dict[str, str], work: Path, day: str, run_id: str, select: str = PREFERENCES
) -> AuditInputs:
    """`dbt build --select select` for recon date `day`; returns what the audit model read."""
    variables = {"min_date": day, "max_date": next_day(day), "run_id": run_id}
    dbt_cli.dbt_build(target, variables, work, env, select=select)
    sql = (work / AUDIT_SQL).read_text().lower()
    return AuditInputs("stg_privacy_events" in sql, "core_preferences_latest" in sql)


@contextmanager
def warehouse(db: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """The DuckDB file, read-only; closed at the end of the block (before the next dbt run)."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        con.execute("set timezone = 'UTC'")
        yield con
    finally:
        con.close()


def snapshot(db: Path) -> Snapshot:
    with warehouse(db) as con:
        return {n: sorted(tuple(r) for r in con.execute(q).fetchall()) for n, q in QUERIES.items()}


def on_date(rows: Sequence[Row], day: str) -> list[Row]:
    return [r for r in rows if r[0] == day_of(day)]


@dataclass(frozen=True)
class Replayed:
    """The replay chain: everything landed, then D, D again, D-1 and D-2."""

    first: Snapshot
    rerun: Snapshot
    replayed: Snapshot
    paths: dict[str, AuditInputs]


def replay_chain(work: Path) -> Replayed:
    work.mkdir()
    db = work / "warehouse.duckdb"
    env = {"DBT_DUCKDB_PATH": str(db)}
    preference_scenario().write_duckdb(db)
    paths = {"D": build("duckdb", env, work, P3, "replay-1")}
    first = snapshot(db)
    build("duckdb", env, work, P3, "replay-2")
    rerun = snapshot(db)
    paths["D-1"] = build("duckdb", env, work, P2, "replay-3")
    paths["D-2"] = build("duckdb", env, work, P1, "replay-4")
    return Replayed(first, rerun, snapshot(db), paths)


@dataclass(frozen=True)
class Forward:
    """The forward chain: each day's files and core sync, then that day's run; then D again
    after POST is marked not applicable."""

    final: Snapshot
    scoped: Snapshot
    paths: dict[str, AuditInputs]


def forward_chain(work: Path) -> Forward:
    work.mkdir()
    db = work / "warehouse.duckdb"
    env = {"DBT_DUCKDB_PATH": str(db)}
    feeds = preference_scenario()
    feeds.write_duckdb(db, privacy_days={P1}, core_days={P1})
    paths = {"D-2": build("duckdb", env, work, P1, "forward-1")}
    # D's privacy file has already landed when D-1 is reconciled; D's core sync has not.
    feeds.write_duckdb(db, privacy_days={P2, P3}, core_days={P2})
    paths["D-1"] = build("duckdb", env, work, P2, "forward-2")
    feeds.write_duckdb(db, privacy_days=set(), core_days={P3})
    paths["D"] = build("duckdb", env, work, P3, "forward-3")
    sources = (STG_PRIVACY_EVENTS, CORE_PREFERENCES_HISTORY_KEYS)
    with warehouse(db) as con:
        landed = [con.execute(f"select count(*) from {t.qualified}").fetchall() for t in sources]
    assert landed == [[(len(feeds.landed(t, None)),)] for t in sources], "a day was not landed"
    final = snapshot(db)
    # The seeded scope table edited by hand, then the models alone (no re-seed).
    con = duckdb.connect(str(db))
    try:
        con.execute(
            "update curated.ref_channel_product_scope set is_applicable = false "
            "where product_code = '*' and channel = 'POST'"
        )
    finally:
        con.close()
    build("duckdb", env, work, P3, "forward-4", select=MODELS_ONLY)
    return Forward(final, snapshot(db), paths)


EPOCH = dt.datetime(1970, 1, 1)

PROBE_TS = "2024-09-02 12:00:00.000000"
PROBE_SQL = (
    "select to_varchar(effective_ts, 'YYYY-MM-DD HH24:MI:SS.FF6'), lower(sha2('abc', 256)) "
    "from remediation.remediation_core_updates "
    "where recon_date = '2024-09-03' and customer_key = 'c-g1' and channel = 'ALL'"
)
"""c-g1's ALL patch: effective_ts = P2 12:00 exactly."""


def snowflake_chain(work: Path, server: dict[str, Any]) -> Snapshot:
    """D, then D-1 over newer data (the replay chain's first and third runs) on the emulator.

    fakesnow's server (0.12) hands a NULL TIMESTAMP_NTZ to the client as the epoch, although
    `x is null` holds inside SQL: on this side the epoch reads as NULL.
    """
    import snowflake.connector

    work.mkdir()
    # The emulator's in-memory databases are shared by the whole test session.
    database = f"NORTHSTAR_PREFS_{uuid.uuid4().hex[:8].upper()}"
    admin = snowflake.connector.connect(**server)
    admin.cursor().execute(f"create database {database}")
    admin.close()
    con = snowflake.connector.connect(**server, database=database, paramstyle="qmark")
    try:
        preference_scenario().write_snowflake(con.cursor())
        env = {
            "NORTHSTAR_SNOWFLAKE_HOST": server["host"],
            "NORTHSTAR_SNOWFLAKE_PORT": str(server["port"]),
            "NORTHSTAR_SNOWFLAKE_DATABASE": database,
        }
        assert build("snowflake_emulator", env, work, P3, "sf-1") == LATEST_TABLES
        assert build("snowflake_emulator", env, work, P2, "sf-2") == HISTORY
        cur = con.cursor()
        results: Snapshot = {}
        for name in ("audit", "remediation"):
            cur.execute(QUERIES[name])
            results[name] = sorted(
                tuple(None if v == EPOCH else v for v in row) for row in cur.fetchall()
            )
        # The two constructs update_hash is made of, by themselves, on a column of the
        # model's own table (a whole-second effective_ts): to explain a hash mismatch.
        try:
            cur.execute(PROBE_SQL)
            results["probe"] = [tuple(r) for r in cur.fetchall()]
        except snowflake.connector.Error as error:
            results["probe"] = [(f"an error: {error}",)]
        return results
    finally:
        con.close()


@pytest.fixture(scope="module")
def chains(
    tmp_path_factory: pytest.TempPathFactory, snowflake_emulator: dict[str, Any]
) -> dict[str, Future[Any]]:
    """The three chains run side by side; each test waits for (and fails with) its own."""
    root = tmp_path_factory.mktemp("preferences")
    runs: dict[str, Callable[[Path], Any]] = {
        "replay": replay_chain,
        "forward": forward_chain,
        "snowflake": lambda work: snowflake_chain(work, snowflake_emulator),
    }
    with ThreadPoolExecutor(max_workers=len(runs)) as pool:
        return {name: pool.submit(chain, root / name) for name, chain in runs.items()}


@pytest.fixture(scope="module")
def replayed(chains: dict[str, Future[Any]]) -> Replayed:
    return chains["replay"].result()


@pytest.fixture(scope="module")
def forward(chains: dict[str, Future[Any]]) -> Forward:
    return chains["forward"].result()


@pytest.fixture(scope="module")
def emulated(chains: dict[str, Future[Any]]) -> Snapshot:
    return chains["snowflake"].result()


# --------------------------------------------------------------------------------------------
# 1-4: classes, ties, late events, do-not-contact (recon date D, the daily run)
# --------------------------------------------------------------------------------------------


def test_every_class_in_priority_order_exact_audit_rows_of_d(replayed: Replayed) -> None:
    assert replayed.paths["D"] == LATEST_TABLES
    assert replayed.first["audit"] == audit_rows(P3, EXPECTED_D)


def test_latest_states_break_ties_in_the_documented_order(replayed: Replayed) -> None:
    privacy = {r[:2]: r[2:] for r in replayed.first["privacy_latest"]}
    # (preference_state, event_ts, ingested_ts, source_record_id, partition_key)
    assert privacy[("c-tie-ing", "PHONE")] == (IN, T(P2, "11:00"), T(P2, "12:00"), "psr-a", P2)
    assert privacy[("c-tie-id", "EMAIL")] == (OUT, T(P2, "13:00"), T(P2, "13:10"), "psr-9", P2)
    core = {r[:2]: r[2:] for r in replayed.first["core_latest"]}
    # (preference_state, updated_ts, ingested_ts)
    assert core[("c-core-ing", "SMS")] == (IN, T(P2, "09:00"), T(P2, "09:10"))
    assert core[("c-core-full", "SMS")] == (OUT, T(P2, "09:00"), T(P2, "09:05"))


def test_a_late_older_event_does_not_override_and_one_microsecond_wins(
    replayed: Replayed,
) -> None:
    privacy = {r[:2]: r[2:] for r in replayed.first["privacy_latest"]}
    assert privacy[("c-late", "EMAIL")] == (
        OUT, T(P2, "15:00"), T(P2, "15:10"), "psr-late-new", P2,
    )  # fmt: skip
    assert privacy[("c-micro", "SMS")] == (
        OUT, T(P2, "16:00:00.000001"), T(P2, "16:01"), "psr-a", P2,
    )  # fmt: skip
    audit = {r[1:3]: r[3:] for r in replayed.first["audit"]}
    assert audit[("c-stale", "EMAIL")] == EXPECTED_D[("c-stale", "EMAIL")]
    assert audit[("c-micro", "SMS")] == EXPECTED_D[("c-micro", "SMS")]


def test_a_global_opt_out_overrides_every_other_channel_of_the_customer(
    replayed: Replayed,
) -> None:
    def of_global_customers(rows: Sequence[Row]) -> list[Row]:
        return [r for r in rows if r[1] in {"c-g1", "c-g2", "c-g3", "c-g4", "c-rep5"}]

    assert of_global_customers(replayed.first["audit"]) == audit_rows(P3, {
        ("c-g1", "ALL"): EXPECTED_D[("c-g1", "ALL")],
        # the ALL event's time, though EMAIL's own opt-in and SMS's own opt-out are newer
        ("c-g1", "EMAIL"): (OUT, T(P2, "12:00"), IN, T(P2, "18:00"), STATE_DIFF),
        ("c-g1", "SMS"): (OUT, T(P2, "12:00"), OUT, T(P2, "11:00"), STALE_IN_CORE),
        # core-only channels are compared, never MISSING_IN_PRIVACY (POST: OK, not stored)
        ("c-g1", "PHONE"): (OUT, T(P2, "12:00"), IN, T(P1, "10:00"), STATE_DIFF),
        ("c-g4", "EMAIL"): (OUT, T(P2, "12:00"), OUT, T(P2, "11:00"), STALE_IN_CORE),
        # privacy-only PUSH, a channel the scope table does not list
        ("c-g1", "PUSH"): (OUT, T(P2, "12:00"), None, None, MISSING_IN_CORE),
        # a latest ALL opt-in changes nothing; the ALL pair is compared like any channel
        ("c-g2", "ALL"): (IN, T(P2, "09:00"), OUT, T(P1, "09:00"), STATE_DIFF),
        ("c-g2", "SMS"): (None, None, IN, T(P1, "08:00"), MISSING_IN_PRIVACY),
        # a core ALL opt-out overrides nothing (c-g3 EMAIL is OK)
        ("c-g3", "ALL"): (None, None, OUT, T(P2, "10:00"), MISSING_IN_PRIVACY),
        # an ALL opt-out landed on D
        ("c-rep5", "EMAIL"): (OUT, T(P3, "07:00"), IN, T(P2, "10:00"), STATE_DIFF),
    })  # fmt: skip


# --------------------------------------------------------------------------------------------
# 5: scope
# --------------------------------------------------------------------------------------------


def test_a_channel_marked_not_applicable_is_not_reported(forward: Forward) -> None:
    before = on_date(forward.final["audit"], P3)
    assert {r[1:3] for r in before if r[2] == "POST"} == {("c-scope", "POST"), ("c-scope2", "POST")}
    after = forward.scoped
    assert on_date(after["audit"], P3) == without_post(audit_rows(P3, EXPECTED_D))
    assert on_date(after["remediation"], P3) == without_post(patch_rows(audit_rows(P3, EXPECTED_D)))
    # Other dates keep their rows; the scope applies from the next run of a date.
    assert on_date(after["audit"], P2) == audit_rows(P2, EXPECTED_D1)


# --------------------------------------------------------------------------------------------
# 6: replay of older dates, on both code paths
# --------------------------------------------------------------------------------------------


def test_a_replay_reads_only_partitions_and_core_rows_up_to_its_date(replayed: Replayed) -> None:
    assert replayed.paths["D-1"] == HISTORY
    assert replayed.paths["D-2"] == HISTORY
    audit = replayed.replayed["audit"]
    assert on_date(audit, P2) == audit_rows(P2, EXPECTED_D1)
    assert on_date(audit, P1) == audit_rows(P1, EXPECTED_D2)
    # D's rows are untouched by the replays of other dates.
    assert on_date(audit, P3) == replayed.first["audit"]
    assert on_date(replayed.replayed["remediation"], P3) == replayed.first["remediation"]


def test_daily_runs_as_data_lands_give_the_same_rows_as_replays(forward: Forward) -> None:
    assert forward.paths == {"D-2": LATEST_TABLES, "D-1": PRIVACY_HISTORY, "D": LATEST_TABLES}
    expected = sorted(
        audit_rows(P1, EXPECTED_D2) + audit_rows(P2, EXPECTED_D1) + audit_rows(P3, EXPECTED_D)
    )
    assert forward.final["audit"] == expected
    assert forward.final["remediation"] == patch_rows(expected)


# --------------------------------------------------------------------------------------------
# 7: remediation
# --------------------------------------------------------------------------------------------


def test_the_patch_set_holds_exactly_the_rows_to_send_with_their_hash(replayed: Replayed) -> None:
    remediation = replayed.first["remediation"]
    assert [r[1:3] for r in remediation] == PATCHED_D
    assert remediation == patch_rows(audit_rows(P3, EXPECTED_D))
    # One value checked character by character: six fractional digits, no offset.
    [micro] = [r for r in remediation if r[1] == "c-micro"]
    assert micro[6] == hashlib.sha256(b"c-micro|SMS|OPT_OUT|2024-09-02 16:00:00.000001").hexdigest()
    [whole_second] = [r for r in remediation if r[1:3] == ("c-g1", "ALL")]
    assert (
        whole_second[6]
        == hashlib.sha256(b"c-g1|ALL|OPT_OUT|2024-09-02 12:00:00.000000").hexdigest()
    )
    replays = replayed.replayed["remediation"]
    assert on_date(replays, P2) == patch_rows(audit_rows(P2, EXPECTED_D1))
    assert on_date(replays, P1) == patch_rows(audit_rows(P1, EXPECTED_D2))


def test_a_rerun_of_the_same_date_replaces_its_rows_with_the_same_hashes(
    replayed: Replayed,
) -> None:
    assert replayed.rerun["audit"] == replayed.first["audit"]
    assert replayed.rerun["remediation"] == replayed.first["remediation"]
    assert len(replayed.rerun["remediation"]) == len(PATCHED_D)


# --------------------------------------------------------------------------------------------
# 8: incremental latest state == full recompute
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("table", ["privacy_latest", "core_latest"])
@pytest.mark.parametrize("way", ["forwards", "backwards"])
def test_latest_state_built_day_by_day_equals_one_first_build(
    table: str, way: str, replayed: Replayed, forward: Forward
) -> None:
    """Forwards: the forward chain, data landing day by day. Backwards: the replay chain's
    windows D, D-1, D-2, each older partition merged into a state that already holds newer."""
    whole = replayed.first[table]
    assert len(whole) >= 25, f"{table} is too small to prove anything"
    by_day = forward.final if way == "forwards" else replayed.replayed
    assert by_day[table] == whole


# --------------------------------------------------------------------------------------------
# 9: the Snowflake dialect
# --------------------------------------------------------------------------------------------


def test_snowflake_dialect_gives_the_same_audit_rows(emulated: Snapshot) -> None:
    assert emulated["audit"] == sorted(audit_rows(P2, EXPECTED_D1) + audit_rows(P3, EXPECTED_D))


def rendered_as(key: str, channel: str, state: str, ts: dt.datetime, digest: str) -> str:
    """Which text of `ts` a hash was computed over, among the renderings seen in practice."""
    for text in (f"{ts:%Y-%m-%d %H:%M:%S.%f}", str(ts), ts.isoformat()):
        if hashlib.sha256(f"{key}|{channel}|{state}|{text}".encode()).hexdigest() == digest:
            return text
    return "(none of the known renderings)"


def probe_report(rows: Sequence[Row]) -> str:
    """What the two constructs of the Snowflake update_hash macros give alone on the emulator."""
    if [len(r) for r in rows] != [2]:
        return f"The probe of the macros' constructs returned {rows!r}."
    [(text, sha)] = rows
    digest = "right" if sha == hashlib.sha256(b"abc").hexdigest() else f"wrong ({sha!r})"
    return (
        "The macros' constructs alone on the emulator: to_varchar(effective_ts, "
        f"'YYYY-MM-DD HH24:MI:SS.FF6') of {PROBE_TS[:19]} gives {text!r} (Snowflake: "
        f"{PROBE_TS!r}); lower(sha2('abc', 256)) is {digest}. (fakesnow 0.12.1 / sqlglot 30.22 "
        "drop the format of TO_VARCHAR on a column reference and cast it to text; on an "
        "explicit cast(x as timestamp_ntz) the format is honoured.)"
    )


def test_snowflake_dialect_gives_the_same_update_hashes(
    emulated: Snapshot, replayed: Replayed
) -> None:
    expected = sorted(
        patch_rows(audit_rows(P2, EXPECTED_D1)) + patch_rows(audit_rows(P3, EXPECTED_D))
    )
    assert [r for r in replayed.replayed["remediation"] if r[0] != day_of(P1)] == expected
    emulated_rows = emulated["remediation"]
    assert [r[:6] for r in emulated_rows] == [r[:6] for r in expected]
    pairs = list(zip(emulated_rows, expected, strict=True))
    wrong = [
        f"{day} {key} {channel} {ts}: hashed {rendered_as(key, channel, state, ts, h)!r}"
        for (day, key, channel, _, state, ts, h), want in pairs
        if h != want[6]
    ]
    right = sorted({f"{r[1]} {r[2]} {r[5]}" for r, want in pairs if r == want})
    assert not wrong, (
        f"{len(wrong)} of {len(expected)} update_hash values differ on the Snowflake emulator "
        "(§8 hashes effective_ts as 'YYYY-MM-DD HH:MM:SS.ffffff'); the first ones:\n"
        + "\n".join(wrong[:5])
        + f"\nagreeing: {right}\n"
        + probe_report(emulated["probe"])
    )
