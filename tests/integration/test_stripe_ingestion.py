"""The Stripe slice end to end: landed JSONL → raw → staging + quarantine, checks, sensor.

Each test writes small JSONL files by hand into a landing folder (or a moto S3 bucket), with
the arrival time (file mtime) set explicitly where the rows depend on it, materializes days
with the range runner (the code path of `northstar materialize`) and reads the DuckDB
warehouse read-only. Every expected row is written out by hand from DESIGN §4/§5 and the rule
table; nothing is computed by the code under test.
"""

import datetime as dt
import json
import os
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dagster as dg
import pytest

from northstar_platform.defs.payments.sensors import stripe_files_sensor
from northstar_platform.resources.landing import LandingResource, LandingZone, LocalLandingZone

pytestmark = pytest.mark.integration

D1, D2, D3, D4 = "2024-03-01", "2024-03-02", "2024-03-04", "2024-03-05"
RAW = dg.AssetKey(["raw", "raw_stripe_events"])
STG = dg.AssetKey(["staging", "stg_stripe_events"])
QUARANTINE = dg.AssetKey(["staging", "quarantine_stripe"])
PAYMENTS = [RAW, STG, QUARANTINE]
LABEL = "raw.raw_stripe_events"
STRIPE_CHECKS = {
    ("raw/raw_stripe_events", "conserves_records"),
    ("raw/raw_stripe_events", "matches_contract"),
    ("raw/raw_stripe_events", "volume_within_baseline"),
    ("staging/stg_stripe_events", "conserves_records"),
    ("staging/stg_stripe_events", "matches_contract"),
    ("staging/stg_stripe_events", "no_duplicate_event_id"),
    ("staging/stg_stripe_events", "quarantine_rate_within_threshold"),
    ("staging/quarantine_stripe", "matches_contract"),
}


def at(day: str, clock: str) -> dt.datetime:
    """A naive UTC timestamp (how the warehouse stores them)."""
    return dt.datetime.fromisoformat(f"{day} {clock}")


def epoch(moment: dt.datetime) -> int:
    return int(moment.replace(tzinfo=dt.UTC).timestamp())


def ev(
    event_id: str,
    *,
    created: int,
    amount: Any = 1250,
    currency: str = "usd",
    order_id: str = "o-1",
    kind: str = "charge.succeeded",
) -> str:
    """One Stripe event line (DESIGN §4), without its newline."""
    return json.dumps(
        {
            "id": event_id,
            "type": kind,
            "created": created,
            "data": {
                "object": {
                    "id": f"ch_{event_id}",
                    "amount": amount,
                    "currency": currency,
                    "status": "succeeded",
                    "metadata": {"order_id": order_id},
                }
            },
        }
    )


def jsonl(*lines: str) -> bytes:
    return "".join(f"{text}\n" for text in lines).encode()


def payload(record: str) -> str:
    return json.dumps({"record": record}, sort_keys=True)


# --------------------------------------------------------------------------------------------
# Fixtures and helpers
# --------------------------------------------------------------------------------------------


@dataclass
class Platform:
    """One settings environment on a local landing folder; runs days, reads the warehouse."""

    home: Path
    instance: dg.DagsterInstance

    @property
    def landing(self) -> Path:
        return self.home / "landing"

    def drop(self, key: str, data: bytes, arrived: dt.datetime) -> None:
        """Land a file whose arrival time (mtime) is `arrived` (naive UTC)."""
        path = self.landing / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        os.utime(path, (epoch(arrived), epoch(arrived)))

    def run(self, keys: list[str]) -> Any:
        from northstar_platform.definitions import build_definitions
        from northstar_platform.runner import materialize_range

        return materialize_range(build_definitions(), self.instance, keys, selection=PAYMENTS)

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with read_warehouse(self.home) as con:
            return [tuple(r) for r in con.execute(sql, list(params)).fetchall()]

    def metadata(self, key: dg.AssetKey, partition: str) -> dict[str, Any]:
        """The latest materialization metadata of one asset partition."""
        records = self.instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=key, asset_partitions=[partition]), limit=1
        ).records
        materialization = records[0].asset_materialization
        assert materialization is not None
        return {k: v.value for k, v in materialization.metadata.items()}


@contextmanager
def read_warehouse(home: Path) -> Iterator[Any]:
    import duckdb

    con = duckdb.connect(str(home / "warehouse.duckdb"), read_only=True)
    try:
        con.execute("set timezone = 'UTC'")
        yield con
    finally:
        con.close()


@pytest.fixture
def platform(
    northstar_env: Path, fresh_pg_dsn: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[Platform]:
    """A fresh home (local landing folder, embedded DuckDB); no table synced from the source."""
    no_sync = tmp_path / "no_synced_tables.json"
    no_sync.write_text('{"tables": []}')
    monkeypatch.setenv("NORTHSTAR_SYNC_CONFIG", str(no_sync))
    monkeypatch.setenv("NORTHSTAR_SOURCE_DSN", fresh_pg_dsn)
    # Hand-made days differ wildly in size; the volume gate has its own test.
    monkeypatch.setenv("NORTHSTAR_LANDING_VOLUME_TOLERANCE", "1000")
    with dg.DagsterInstance.ephemeral() as instance:
        yield Platform(home=northstar_env, instance=instance)


def checks_by_key(report: Any) -> dict[tuple[str, str, str], tuple[bool, dict[str, Any]]]:
    return {(c.asset, c.check, c.partition): (c.passed, c.metadata) for c in report.checks}


def assert_all_checks_passed(report: Any, days: list[str]) -> None:
    assert report.failures == []
    assert report.blocked == []
    seen = {(c.asset, c.check, c.partition) for c in report.checks}
    assert seen == {(a, c, d) for a, c in STRIPE_CHECKS for d in days}
    assert report.failed_checks == []


def conservation(report: Any, day: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(raw conservation metadata, staging conservation metadata) of one day."""
    checks = checks_by_key(report)
    return (
        checks[("raw/raw_stripe_events", "conserves_records", day)][1],
        checks[("staging/stg_stripe_events", "conserves_records", day)][1],
    )


RAW_SQL = (
    "select source_file, line_no, record, utf8_valid, ingested_ts from raw.raw_stripe_events "
    "where partition_key = ? order by source_file, line_no"
)
STG_SQL = (
    "select event_id, event_type, created_at, object_id, amount, currency, status, order_id, "
    "copies, source_file, line_no, ingested_ts from staging.stg_stripe_events "
    "where partition_key = ? order by event_id"
)
QUARANTINE_SQL = (
    "select source, source_file, line_no, record_ref, rule, reason, payload, quarantined_at "
    "from staging.quarantine_stripe where partition_key = ? order by source_file, line_no"
)


# --------------------------------------------------------------------------------------------
# Bad input, retries, conservation, idempotence (local landing folder)
# --------------------------------------------------------------------------------------------

A1 = at(D1, "10:00:00")
"""Arrival of events-001.jsonl; the `created` sanity window is relative to it."""
T_OK = epoch(at(D1, "09:00:00"))
HUGE_DIGITS = "9" * 5000

EVENTS_001 = [
    ev("evt_ok1", created=T_OK),  # 1
    ev("evt_edge", created=epoch(A1) + 86_400),  # 2: exactly one day after arrival: valid
    ev("evt_future", created=epoch(A1) + 86_401),  # 3: one second more: held
    ev("evt_1970", created=0),  # 4
    ev("evt_int64", created=T_OK, amount=2**70),  # 5: beyond BIGINT
    ev("evt_range", created=T_OK, amount=10**12),  # 6: BIGINT, beyond the amount range
    '{"id": "evt_digits", "amount": ' + HUGE_DIGITS + "}",  # 7: beyond what json reads
    '[{"id": "evt_in_array"}]',  # 8: a JSON array
    "",  # 9: an empty line
]
LATIN1 = b'{"id": "evt_latin1", "note": "caf\xe9"}'  # 10: invalid UTF-8
TRUNCATED = '{"id": "evt_cut", "type": "charge.succ'  # 11: last line, no newline

RETRY_A = [ev("evt_ok2", created=T_OK), ev("evt_retry", created=T_OK)]
NEG = ev("evt_neg", created=T_OK, amount=-5)
TIE = ev("evt_tie", created=T_OK)

FILES_D1: list[tuple[str, bytes, dt.datetime]] = [
    (
        "events-001.jsonl",
        jsonl(*EVENTS_001) + LATIN1 + b"\n" + TRUNCATED.encode(),
        A1,
    ),
    ("empty.jsonl", b"\n", at(D1, "10:05:00")),  # one empty line
    ("zero.jsonl", b"", at(D1, "10:06:00")),  # 0 bytes: no line at all
    # evt_retry is delivered 4 times; the files arrive b (11:00), c and d (12:00), a (13:00),
    # not in name order. evt_tie arrives in c and d at the same instant: name decides.
    ("retry-a.jsonl", jsonl(*RETRY_A, NEG), at(D1, "13:00:00")),
    ("retry-b.jsonl", jsonl(RETRY_A[1], NEG), at(D1, "11:00:00")),
    ("retry-c.jsonl", jsonl(RETRY_A[1], RETRY_A[1], TIE), at(D1, "12:00:00")),
    ("retry-d.jsonl", jsonl(TIE), at(D1, "12:00:00")),
    ("notes.txt", b"not a delivery\n", at(D1, "10:00:00")),  # not .jsonl: ignored
]
D2_LINE = ev("evt_d2", created=epoch(at(D2, "07:00:00")), currency="eur", order_id="o-2")
FILES_D2 = [("events-001.jsonl", jsonl(D2_LINE), at(D2, "08:00:00"))]
"""The same file name as on D1: another day's folder, another file."""


def f1(name: str) -> str:
    return f"stripe/2024/03/01/{name}"


EXPECTED_RAW_D1 = [
    (f1("empty.jsonl"), 1, "", True, at(D1, "10:05:00")),
    *((f1("events-001.jsonl"), n, text, True, A1) for n, text in enumerate(EVENTS_001, 1)),
    (f1("events-001.jsonl"), 10, '{"id": "evt_latin1", "note": "caf\\xe9"}', False, A1),
    (f1("events-001.jsonl"), 11, TRUNCATED, True, A1),
    (f1("retry-a.jsonl"), 1, RETRY_A[0], True, at(D1, "13:00:00")),
    (f1("retry-a.jsonl"), 2, RETRY_A[1], True, at(D1, "13:00:00")),
    (f1("retry-a.jsonl"), 3, NEG, True, at(D1, "13:00:00")),
    (f1("retry-b.jsonl"), 1, RETRY_A[1], True, at(D1, "11:00:00")),
    (f1("retry-b.jsonl"), 2, NEG, True, at(D1, "11:00:00")),
    (f1("retry-c.jsonl"), 1, RETRY_A[1], True, at(D1, "12:00:00")),
    (f1("retry-c.jsonl"), 2, RETRY_A[1], True, at(D1, "12:00:00")),
    (f1("retry-c.jsonl"), 3, TIE, True, at(D1, "12:00:00")),
    (f1("retry-d.jsonl"), 1, TIE, True, at(D1, "12:00:00")),
]
"""21 lines: 11 + 1 + 0 + 3 + 2 + 3 + 1 (notes.txt is not a Stripe delivery)."""

CREATED_OK = at(D1, "09:00:00")


def staged(event_id: str, created: dt.datetime, copies: int, file: str, line: int, arrived):
    return (
        event_id,
        "charge.succeeded",
        created,
        f"ch_{event_id}",
        1250,
        "usd",
        "succeeded",
        "o-1",
        copies,
        f1(file),
        line,
        arrived,
    )


EXPECTED_STG_D1 = [
    staged("evt_edge", at(D2, "10:00:00"), 1, "events-001.jsonl", 2, A1),
    staged("evt_ok1", CREATED_OK, 1, "events-001.jsonl", 1, A1),
    staged("evt_ok2", CREATED_OK, 1, "retry-a.jsonl", 1, at(D1, "13:00:00")),
    # Earliest arrival kept (retry-b at 11:00), all four deliveries counted.
    staged("evt_retry", CREATED_OK, 4, "retry-b.jsonl", 1, at(D1, "11:00:00")),
    # Same arrival (12:00) in retry-c line 3 and retry-d line 1: the file name decides.
    staged("evt_tie", CREATED_OK, 2, "retry-c.jsonl", 3, at(D1, "12:00:00")),
]

NEG_REASON = f"{LABEL} column amount='-5': expected an amount >= 0 and < 10^12"
EXPECTED_QUARANTINE_D1 = [
    ("stripe", f1("empty.jsonl"), 1, None, "json_parses", "line is not JSON (Expecting value)",
     payload(""), at(D1, "10:05:00")),
    ("stripe", f1("events-001.jsonl"), 3, "evt_future", "created_sane",
     f"{LABEL} column created_after_arrival_s='86401': expected a time at most 86400 s after "
     "the file arrived", payload(EVENTS_001[2]), A1),
    ("stripe", f1("events-001.jsonl"), 4, "evt_1970", "created_sane",
     f"{LABEL} column created='0': expected a time after 2010-01-01", payload(EVENTS_001[3]), A1),
    ("stripe", f1("events-001.jsonl"), 5, "evt_int64", "amount_valid",
     f"{LABEL} column amount=NULL: expected an integer amount in minor units",
     payload(EVENTS_001[4]), A1),
    ("stripe", f1("events-001.jsonl"), 6, "evt_range", "amount_valid",
     f"{LABEL} column amount='1000000000000': expected an amount >= 0 and < 10^12",
     payload(EVENTS_001[5]), A1),
    ("stripe", f1("events-001.jsonl"), 7, None, "json_parses",
     "line is not readable JSON (a number in it has more than 4300 digits)",
     payload(EVENTS_001[6]), A1),
    ("stripe", f1("events-001.jsonl"), 8, None, "json_object",
     "line is a JSON array, expected an object", payload(EVENTS_001[7]), A1),
    ("stripe", f1("events-001.jsonl"), 9, None, "json_parses",
     "line is not JSON (Expecting value)", payload(""), A1),
    ("stripe", f1("events-001.jsonl"), 10, None, "utf8_valid", "line is not valid UTF-8",
     payload('{"id": "evt_latin1", "note": "caf\\xe9"}'), A1),
    ("stripe", f1("events-001.jsonl"), 11, None, "json_parses",
     "line is not JSON (Unterminated string starting at)", payload(TRUNCATED), A1),
    # A held event holds every delivery of it, each line with the same rule and reason.
    ("stripe", f1("retry-a.jsonl"), 3, "evt_neg", "amount_valid", NEG_REASON, payload(NEG),
     at(D1, "13:00:00")),
    ("stripe", f1("retry-b.jsonl"), 2, "evt_neg", "amount_valid", NEG_REASON, payload(NEG),
     at(D1, "11:00:00")),
]  # fmt: skip
"""12 held lines; staged 5 + held 12 + collapsed 4 (evt_retry 3, evt_tie 1) = 21 raw."""


def snapshot(platform: Platform) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the three tables, both days, without run_id."""
    return {
        "raw": platform.query("select * exclude (run_id) from raw.raw_stripe_events order by all"),
        "stg": platform.query(
            "select * exclude (run_id) from staging.stg_stripe_events order by all"
        ),
        "quarantine": platform.query(
            "select * exclude (run_id) from staging.quarantine_stripe order by all"
        ),
    }


def run_ids(platform: Platform, day: str) -> set[str]:
    found: set[str] = set()
    for table in (
        "raw.raw_stripe_events",
        "staging.stg_stripe_events",
        "staging.quarantine_stripe",
    ):
        sql = f"select distinct run_id from {table} where partition_key = ?"
        found |= {r[0] for r in platform.query(sql, (day,))}
    return found


def test_every_bad_input_is_held_with_its_reason_and_every_line_is_accounted_for(
    platform: Platform, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("NORTHSTAR_LANDING_QUARANTINE_MAX_RATE", "1")  # D1 is mostly bad input
    for name, data, arrived in FILES_D1:
        platform.drop(f1(name), data, arrived)
    for name, data, arrived in FILES_D2:
        platform.drop(f"stripe/2024/03/02/{name}", data, arrived)

    report = platform.run([D1, D2])

    assert_all_checks_passed(report, [D1, D2])
    assert report.materialized == {
        "raw/raw_stripe_events": 2,
        "staging/stg_stripe_events": 2,
        "staging/quarantine_stripe": 2,
    }
    assert platform.query(RAW_SQL, (D1,)) == EXPECTED_RAW_D1
    assert platform.query(STG_SQL, (D1,)) == EXPECTED_STG_D1
    assert platform.query(QUARANTINE_SQL, (D1,)) == EXPECTED_QUARANTINE_D1
    # The same file name on D2 is D2's own file: nothing of D1 in it, nothing of it in D1.
    d2_file = "stripe/2024/03/02/events-001.jsonl"
    assert platform.query(RAW_SQL, (D2,)) == [(d2_file, 1, D2_LINE, True, at(D2, "08:00:00"))]
    assert platform.query(STG_SQL, (D2,)) == [
        (
            "evt_d2",
            "charge.succeeded",
            at(D2, "07:00:00"),
            "ch_evt_d2",
            1250,
            "eur",
            "succeeded",
            "o-2",
            1,
            d2_file,
            1,
            at(D2, "08:00:00"),
        )
    ]
    assert platform.query(QUARANTINE_SQL, (D2,)) == []
    # The shared view lists the Stripe quarantine.
    assert platform.query(
        "select partition_key, count(*) from staging.quarantine_records "
        "where source = 'stripe' group by all"
    ) == [(D1, 12)]

    # Conservation, exactly: landed lines = raw; raw = staged + quarantined + collapsed.
    assert conservation(report, D1) == (
        {"in_landed_lines": 21, "out_raw": 21, "unaccounted": 0},
        {
            "in_raw": 21,
            "out_staged": 5,
            "out_quarantined": 12,
            "out_collapsed_retries": 4,
            "unaccounted": 0,
        },
    )
    assert conservation(report, D2) == (
        {"in_landed_lines": 1, "out_raw": 1, "unaccounted": 0},
        {
            "in_raw": 1,
            "out_staged": 1,
            "out_quarantined": 0,
            "out_collapsed_retries": 0,
            "unaccounted": 0,
        },
    )
    counts = {"rows_in": 21, "staged": 5, "quarantined": 12, "duplicates_collapsed": 4}
    assert platform.metadata(STG, D1) == counts
    assert platform.metadata(QUARANTINE, D1) == counts
    assert platform.metadata(RAW, D1) == {"rows": 21, "files": 7}

    # Materializing D1 again gives the same rows (only run_id changes, and only on D1).
    before = snapshot(platform)
    d1_run, d2_run = run_ids(platform, D1), run_ids(platform, D2)
    assert len(d1_run) == 1
    assert len(d2_run) == 1
    again = platform.run([D1])
    assert_all_checks_passed(again, [D1])
    assert snapshot(platform) == before
    assert run_ids(platform, D2) == d2_run
    new_d1_run = run_ids(platform, D1)
    assert len(new_d1_run) == 1
    assert new_d1_run != d1_run


def test_quarantine_rate_gate_fails_a_day_above_the_threshold_and_passes_otherwise(
    platform: Platform, monkeypatch: pytest.MonkeyPatch
):
    """Default 1%: 1 held of 100 lines passes (exactly 1%), 1 of 99 (1.0101%) fails."""
    created = epoch(at(D3, "09:00:00"))
    bad = ev("evt_bad", created=created, amount=-1)
    d3 = [ev(f"evt_d3_{n:03}", created=created) for n in range(99)] + [bad]
    d4 = [ev(f"evt_d4_{n:03}", created=created) for n in range(98)] + [bad]
    platform.drop("stripe/2024/03/04/events.jsonl", jsonl(*d3), at(D3, "10:00:00"))
    platform.drop("stripe/2024/03/05/events.jsonl", jsonl(*d4), at(D4, "10:00:00"))

    report = platform.run([D3, D4])

    gate = "quarantine_rate_within_threshold"
    checks = checks_by_key(report)
    assert checks[("staging/stg_stripe_events", gate, D3)] == (
        True,
        {
            "observed_rate": 0.01,
            "threshold": 0.01,
            "numerator": 1,
            "denominator": 100,
            "note": "",
        },
    )
    assert checks[("staging/stg_stripe_events", gate, D4)] == (
        False,
        {
            "observed_rate": 0.010101,
            "threshold": 0.01,
            "numerator": 1,
            "denominator": 99,
            "note": "",
        },
    )
    assert [(c.check, c.partition) for c in report.failed_checks] == [(gate, D4)]
    assert report.blocked == [D4]
    assert report.failures == []
    # Everything else holds on both days, the failing one included.
    assert conservation(report, D4)[1] == {
        "in_raw": 99,
        "out_staged": 98,
        "out_quarantined": 1,
        "out_collapsed_retries": 0,
        "unaccounted": 0,
    }

    # The threshold is a setting: just above D4's rate, D4 passes.
    monkeypatch.setenv("NORTHSTAR_LANDING_QUARANTINE_MAX_RATE", "0.0102")
    rerun = platform.run([D4])
    assert_all_checks_passed(rerun, [D4])
    assert checks_by_key(rerun)[("staging/stg_stripe_events", gate, D4)] == (
        True,
        {
            "observed_rate": 0.010101,
            "threshold": 0.0102,
            "numerator": 1,
            "denominator": 99,
            "note": "",
        },
    )


# --------------------------------------------------------------------------------------------
# Sensor: local folder and moto S3
# --------------------------------------------------------------------------------------------


@dataclass
class Drops:
    """Writes into a landing zone; local files get strictly increasing mtimes."""

    zone: LandingZone
    clock: float = 0.0

    def put(self, key: str, data: bytes, same_instant: bool = False) -> None:
        """Write `key`; `same_instant`: at the arrival time of the previous write (local), or
        within the same second as it, almost surely (S3, right after `next_instant`)."""
        self.zone.write_bytes(key, data)
        if isinstance(self.zone, LocalLandingZone):
            if not same_instant:
                self.clock = max(self.clock + 1, time.time())
            os.utime(self.zone.root / key, (self.clock, self.clock))

    def next_instant(self) -> None:
        """Make the next write arrive at a later instant than every write so far (S3
        `LastModified` has whole seconds)."""
        if not isinstance(self.zone, LocalLandingZone):
            time.sleep(1.05 - time.time() % 1)


@pytest.fixture(params=["local", "s3"])
def landing(request: pytest.FixtureRequest, tmp_path: Path) -> LandingResource:
    if request.param == "local":
        return LandingResource(url=str(tmp_path / "landing"))
    endpoint = request.getfixturevalue("moto_s3")
    bucket = request.getfixturevalue("s3_bucket")
    return LandingResource(url=f"s3://{bucket}/landing", s3_endpoint_url=endpoint)


def tick(landing: LandingResource, cursor: str | None) -> tuple[list[tuple[str, str]], str]:
    """One sensor evaluation: ([(partition, run key)], the new cursor)."""
    with dg.build_sensor_context(cursor=cursor, resources={"landing": landing}) as context:
        result = stripe_files_sensor(context)
    assert isinstance(result, dg.SensorResult)
    assert result.cursor is not None
    requests = [(str(r.partition_key), str(r.run_key)) for r in result.run_requests or []]
    return requests, result.cursor


IGNORED_KEYS = [
    "stripe/2024/02/30/events.jsonl",  # no such date
    "stripe/2024/13/01/events.jsonl",
    "stripe/2024/3/1/events.jsonl",  # not zero-padded
    "stripe/2024/03/03/notes.txt",  # not a .jsonl file: day 3 gets no run
    "stripe/events.jsonl",  # outside any day
    "wms/2024/03/01/00/shipments.csv",  # another source
    "stripe-archive/2024/03/01/events.jsonl",
]


def test_sensor_one_run_per_new_or_changed_day(landing: LandingResource):
    drops = Drops(landing.get_zone())
    a1 = jsonl(ev("evt_a", created=1709283600))
    a2 = jsonl(ev("evt_a", created=1709283600), ev("evt_a2", created=1709283600))
    a3 = jsonl(ev("evt_a", created=1709283600), ev("evt_a3", created=1709283600))
    drops.put("stripe/2024/03/01/a.jsonl", a1)
    drops.put("stripe/2024/03/02/b.jsonl", jsonl(ev("evt_b", created=1709370000)))
    drops.put("stripe/2024/03/02/c.jsonl", jsonl(ev("evt_c", created=1709370000)))
    for key in IGNORED_KEYS:
        drops.put(key, b"{}\n")

    # First tick: one run per day with Stripe files, nothing for the ignored keys.
    first, cursor = tick(landing, None)
    assert [p for p, _ in first] == [D1, D2]
    for partition, run_key in first:
        assert run_key.startswith(f"{partition}:")
        assert len(run_key) == len(partition) + 1 + 16
    run_keys = {run_key for _, run_key in first}

    # The returned cursor sees nothing new (a restarted daemon resumes from it).
    second, cursor2 = tick(landing, cursor)
    assert second == []
    assert cursor2 == cursor

    # A file landing late in an old day's folder: exactly that day (ignored keys still ignored).
    drops.put("stripe/2024/03/01/late.jsonl", jsonl(ev("evt_late", created=1709283600)))
    drops.put("stripe/2024/02/31/late.jsonl", b"{}\n")
    third, cursor = tick(landing, cursor2)
    assert [p for p, _ in third] == [D1]
    assert third[0][1] not in run_keys
    run_keys.add(third[0][1])

    # The same key replaced with new content: its day again, under a new run key ...
    drops.next_instant()
    drops.put("stripe/2024/03/01/a.jsonl", a2)
    fourth, cursor = tick(landing, cursor)
    assert [p for p, _ in fourth] == [D1]
    assert fourth[0][1] not in run_keys
    run_keys.add(fourth[0][1])
    # ... also when it is replaced again within the instant the last tick already recorded.
    drops.put("stripe/2024/03/01/a.jsonl", a3, same_instant=True)
    fifth, cursor = tick(landing, cursor)
    assert [p for p, _ in fifth] == [D1]
    assert fifth[0][1] not in run_keys
    assert tick(landing, cursor)[0] == []

    # The same content written again (a later arrival): the same run key, so Dagster
    # starts no second run for it.
    drops.next_instant()
    drops.put("stripe/2024/03/01/a.jsonl", a3)
    sixth, cursor = tick(landing, cursor)
    assert sixth == fifth
    assert tick(landing, cursor)[0] == []


def test_sensor_is_registered_and_targets_the_stripe_job(
    northstar_env: Path, fresh_pg_dsn: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
):
    from northstar_platform.definitions import build_definitions

    no_sync = tmp_path / "no_synced_tables.json"
    no_sync.write_text('{"tables": []}')
    monkeypatch.setenv("NORTHSTAR_SYNC_CONFIG", str(no_sync))
    monkeypatch.setenv("NORTHSTAR_SOURCE_DSN", fresh_pg_dsn)
    defs = build_definitions()
    sensor = defs.resolve_sensor_def("stripe_files_sensor")
    assert sensor.job_name == "ingest_stripe_job"
    assert sensor.required_resource_keys == {"landing"}
    job = defs.resolve_job_def("ingest_stripe_job")
    assert job.asset_layer.selected_asset_keys == set(PAYMENTS)
    assert job.partitions_def is not None
    assert job.partitions_def.get_partition_key_for_timestamp(epoch(at(D1, "12:00:00"))) == D1
    graph = defs.resolve_asset_graph()
    payments = {k for k in graph.get_all_asset_keys() if graph.get(k).group_name == "payments"}
    assert payments == set(PAYMENTS)


# --------------------------------------------------------------------------------------------
# S3: a file dropped into a moto bucket, picked up by the sensor, materialized
# --------------------------------------------------------------------------------------------


def test_s3_drop_is_requested_by_the_sensor_and_ingested(
    platform: Platform, monkeypatch: pytest.MonkeyPatch, moto_s3: str, s3_bucket: str
):
    url = f"s3://{s3_bucket}/landing"
    monkeypatch.setenv("NORTHSTAR_LANDING_URL", url)
    monkeypatch.setenv("NORTHSTAR_S3_ENDPOINT_URL", moto_s3)
    monkeypatch.setenv("NORTHSTAR_LANDING_QUARANTINE_MAX_RATE", "0.5")
    landing = LandingResource(url=url, s3_endpoint_url=moto_s3)
    zone = landing.get_zone()
    s1 = ev("evt_s1", created=T_OK)
    s2 = ev("evt_s2", created=T_OK, amount=99, currency="gbp", order_id="o-9")
    first = zone.write_bytes(f1("events-001.jsonl"), jsonl(s1, s2))
    # The retry file ends in a truncated line: no final newline.
    second = zone.write_bytes(f1("events-002.jsonl"), jsonl(s1) + b'["evt_s3"]')
    arrived_1 = first.last_modified.astimezone(dt.UTC).replace(tzinfo=None)
    arrived_2 = second.last_modified.astimezone(dt.UTC).replace(tzinfo=None)

    requests, _ = tick(landing, None)
    assert [p for p, _ in requests] == [D1]
    report = platform.run([p for p, _ in requests])

    assert_all_checks_passed(report, [D1])
    assert platform.query(RAW_SQL, (D1,)) == [
        (f1("events-001.jsonl"), 1, s1, True, arrived_1),
        (f1("events-001.jsonl"), 2, s2, True, arrived_1),
        (f1("events-002.jsonl"), 1, s1, True, arrived_2),
        (f1("events-002.jsonl"), 2, '["evt_s3"]', True, arrived_2),
    ]
    assert platform.query(STG_SQL, (D1,)) == [
        staged("evt_s1", CREATED_OK, 2, "events-001.jsonl", 1, arrived_1),
        (
            "evt_s2",
            "charge.succeeded",
            CREATED_OK,
            "ch_evt_s2",
            99,
            "gbp",
            "succeeded",
            "o-9",
            1,
            f1("events-001.jsonl"),
            2,
            arrived_1,
        ),
    ]
    assert platform.query(QUARANTINE_SQL, (D1,)) == [
        (
            "stripe",
            f1("events-002.jsonl"),
            2,
            None,
            "json_object",
            "line is a JSON array, expected an object",
            payload('["evt_s3"]'),
            arrived_2,
        )
    ]
    assert conservation(report, D1) == (
        {"in_landed_lines": 4, "out_raw": 4, "unaccounted": 0},
        {
            "in_raw": 4,
            "out_staged": 2,
            "out_quarantined": 1,
            "out_collapsed_retries": 1,
            "unaccounted": 0,
        },
    )
