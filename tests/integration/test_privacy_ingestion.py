"""The privacy slice end to end: landed JSONL → raw → staging + quarantine, checks, sensor.

Each test writes small JSONL files by hand into a landing folder (or a moto S3 bucket), with
the arrival time (file mtime) set explicitly where the rows depend on it, materializes days
with the range runner (the code path of `northstar materialize`) and reads the DuckDB
warehouse read-only. Every expected row is written out by hand from DESIGN §4/§5/§8 and the
rule table; nothing is computed by the code under test.

Until the lead wires the slice into `build_definitions()`, the tests build a `Definitions` of
their own from what the slice exports, plus the `asset_checks` builders the wiring will add.
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

from northstar_platform.resources.landing import LandingResource

pytestmark = pytest.mark.integration

D1, D2, D3, D4, D5 = "2024-03-01", "2024-03-02", "2024-03-03", "2024-03-04", "2024-03-05"
RAW = dg.AssetKey(["raw", "raw_privacy_events"])
STG = dg.AssetKey(["staging", "stg_privacy_events"])
QUARANTINE = dg.AssetKey(["staging", "quarantine_privacy"])
PRIVACY = [RAW, STG, QUARANTINE]
LABEL = "raw.raw_privacy_events"
PRIVACY_CHECK_NAMES = {
    ("raw/raw_privacy_events", "conserves_records"),
    ("raw/raw_privacy_events", "matches_contract"),
    ("raw/raw_privacy_events", "volume_within_baseline"),
    ("staging/stg_privacy_events", "conserves_records"),
    ("staging/stg_privacy_events", "matches_contract"),
    ("staging/stg_privacy_events", "no_duplicate_source_record_id"),
    ("staging/stg_privacy_events", "quarantine_rate_within_threshold"),
    ("staging/quarantine_privacy", "matches_contract"),
}


def at(day: str, clock: str) -> dt.datetime:
    """A naive UTC timestamp (how the warehouse stores them)."""
    return dt.datetime.fromisoformat(f"{day} {clock}")


def epoch(moment: dt.datetime) -> int:
    return int(moment.replace(tzinfo=dt.UTC).timestamp())


def pref(
    record_id: Any,
    *,
    customer: Any = "cust-1",
    channel: Any = "EMAIL",
    state: Any = "OPT_OUT",
    ts: Any = "2024-03-01T07:00:00Z",
) -> str:
    """One privacy-system line (DESIGN §4), without its newline."""
    return json.dumps(
        {
            "customer_key": customer,
            "channel": channel,
            "preference_state": state,
            "event_ts": ts,
            "source_record_id": record_id,
        }
    )


def jsonl(*lines: str) -> bytes:
    return "".join(f"{text}\n" for text in lines).encode()


def payload(record: str) -> str:
    return json.dumps({"record": record}, sort_keys=True)


def privacy_definitions() -> dg.Definitions:
    """The privacy slice alone (assets, its two check suites, job, sensor), so these tests
    need no PostgreSQL; `test_the_slice_is_wired_into_the_code_location` checks the wiring."""
    from northstar_platform.defs.preferences.assets import raw_privacy_events, stg_privacy_events
    from northstar_platform.defs.preferences.checks import PRIVACY_CHECKS
    from northstar_platform.defs.preferences.sensors import (
        ingest_privacy_job,
        privacy_files_sensor,
    )
    from northstar_platform.defs.resources import build_resources
    from northstar_platform.settings import get_settings

    return dg.Definitions(
        assets=[raw_privacy_events, stg_privacy_events],
        asset_checks=PRIVACY_CHECKS,
        jobs=[ingest_privacy_job],
        sensors=[privacy_files_sensor],
        resources=build_resources(get_settings()),
        executor=dg.in_process_executor,
    )


# --------------------------------------------------------------------------------------------
# Fixtures and helpers
# --------------------------------------------------------------------------------------------


@dataclass
class Platform:
    """One settings environment on a local landing folder; runs days, reads the warehouse."""

    home: Path
    instance: dg.DagsterInstance

    def drop(self, key: str, data: bytes, arrived: dt.datetime) -> None:
        """Land a file whose arrival time (mtime) is `arrived` (naive UTC)."""
        path = self.home / "landing" / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        os.utime(path, (epoch(arrived), epoch(arrived)))

    def run(self, keys: list[str]) -> Any:
        from northstar_platform.runner import materialize_range

        return materialize_range(privacy_definitions(), self.instance, keys, selection=PRIVACY)

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
def platform(northstar_env: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Platform]:
    """A fresh home (local landing folder, embedded DuckDB)."""
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
    assert seen == {(a, c, d) for a, c in PRIVACY_CHECK_NAMES for d in days}
    assert report.failed_checks == []


def conservation(report: Any, day: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(raw conservation metadata, staging conservation metadata) of one day."""
    checks = checks_by_key(report)
    return (
        checks[("raw/raw_privacy_events", "conserves_records", day)][1],
        checks[("staging/stg_privacy_events", "conserves_records", day)][1],
    )


RAW_SQL = (
    "select source_file, line_no, record, utf8_valid, ingested_ts from raw.raw_privacy_events "
    "where partition_key = ? order by source_file, line_no"
)
STG_SQL = (
    "select source_record_id, customer_key, channel, preference_state, event_ts, copies, "
    "source_file, line_no, ingested_ts from staging.stg_privacy_events "
    "where partition_key = ? order by source_record_id"
)
QUARANTINE_SQL = (
    "select source, source_file, line_no, record_ref, rule, reason, payload, quarantined_at, "
    "held_rows from staging.quarantine_privacy where partition_key = ? "
    "order by source_file, line_no"
)


# --------------------------------------------------------------------------------------------
# The day's files (D1), every expected row by hand
# --------------------------------------------------------------------------------------------

A1, A2 = at(D1, "08:00:00"), at(D1, "09:00:00")
"""Arrivals of prefs-001.jsonl and prefs-002.jsonl."""
P1, P2 = "privacy/2024/03/01/prefs-001.jsonl", "privacy/2024/03/01/prefs-002.jsonl"

R1 = pref("r1", ts="2024-03-01T07:30:00.123456+02:00")  # 05:30:00.123456 UTC
R2 = pref("r2", channel="ALL", ts="2024-03-01T06:00:00Z")
R3 = pref("r3", customer="cust-2", channel="SMS", state="OPT_IN", ts="2024-03-01T07:59:59.999999")
R3_CHANGED = pref("r3", customer="cust-2", channel="SMS", state="OPT_OUT", ts="2024-03-01T08:30:00")
TRUNCATED_OBJECT = '{"customer_key": "cust-3", "channel"'
ARRAY = '["r9", "cust-9"]'
R4_BAD = pref("r4", channel="email")
R5_EPOCH = pref("r5", ts=1709276400)
R6_NUMBER = pref("r6", customer=42)
NO_ID = pref(None, customer="cust-4")
R7_EDGE = pref("r7", customer="cust-3", channel="POST", ts="2024-03-02T09:00:00Z")
R8_FUTURE = pref("r8", customer="cust-3", ts="2024-03-02T09:00:00.000001Z")
R4_FIXED = pref("r4")
LATIN1 = b'{"customer_key": "caf\xe9", "source_record_id": "r10"}'
LATIN1_TEXT = '{"customer_key": "caf\\xe9", "source_record_id": "r10"}'

FILES_D1: list[tuple[str, bytes, dt.datetime]] = [
    (
        P1,
        jsonl(R1, R2, R3, "", TRUNCATED_OBJECT, ARRAY, R4_BAD, R5_EPOCH, R6_NUMBER, NO_ID),
        A1,
    ),
    # r1 re-sent as is, r3 re-sent with another state, r4 re-sent corrected; no final newline.
    (P2, jsonl(R1, R3_CHANGED, R7_EDGE, R8_FUTURE, R4_FIXED) + LATIN1, A2),
    ("privacy/2024/03/01/notes.txt", b"not a delivery\n", A1),  # not .jsonl: ignored
    ("privacy/2024/03/01/old/prefs.jsonl", jsonl(R2), A1),  # not in the day's folder: ignored
]
D2_FILE = "privacy/2024/03/02/prefs-001.jsonl"
D2_LINE = pref("r1", ts="2024-03-02T07:00:00Z")
"""r1 again on another day: collapsing is per landing day, so D2 stages it too."""

EXPECTED_RAW_D1 = [
    (P1, 1, R1, True, A1),
    (P1, 2, R2, True, A1),
    (P1, 3, R3, True, A1),
    (P1, 4, "", True, A1),
    (P1, 5, TRUNCATED_OBJECT, True, A1),
    (P1, 6, ARRAY, True, A1),
    (P1, 7, R4_BAD, True, A1),
    (P1, 8, R5_EPOCH, True, A1),
    (P1, 9, R6_NUMBER, True, A1),
    (P1, 10, NO_ID, True, A1),
    (P2, 1, R1, True, A2),
    (P2, 2, R3_CHANGED, True, A2),
    (P2, 3, R7_EDGE, True, A2),
    (P2, 4, R8_FUTURE, True, A2),
    (P2, 5, R4_FIXED, True, A2),
    (P2, 6, LATIN1_TEXT, False, A2),
]
EXPECTED_STG_D1 = [
    ("r1", "cust-1", "EMAIL", "OPT_OUT", at(D1, "05:30:00.123456"), 2, P1, 1, A1),
    ("r2", "cust-1", "ALL", "OPT_OUT", at(D1, "06:00:00"), 1, P1, 2, A1),
    ("r3", "cust-2", "SMS", "OPT_IN", at(D1, "07:59:59.999999"), 2, P1, 3, A1),
    ("r7", "cust-3", "POST", "OPT_OUT", at(D2, "09:00:00"), 1, P2, 3, A2),
]
TEXT = "a JSON string (the field is missing, null, or another JSON type)"
CHANNEL_REASON = (
    f"{LABEL} column channel='email': expected an upper-case channel token such as EMAIL, "
    "SMS, PHONE, POST or ALL"
)
EXPECTED_QUARANTINE_D1 = [
    ("privacy", P1, 4, None, "line_not_empty", "line is empty, expected one JSON object per line",
     payload(""), A1, 1),
    ("privacy", P1, 5, None, "json_parses", "line is not JSON (Expecting ':' delimiter)",
     payload(TRUNCATED_OBJECT), A1, 1),
    ("privacy", P1, 6, None, "json_object", "line is a JSON array, expected an object",
     payload(ARRAY), A1, 1),
    ("privacy", P1, 7, "r4", "channel_format", CHANNEL_REASON, payload(R4_BAD), A1, 1),
    ("privacy", P1, 8, "r5", "event_ts_present",
     f"{LABEL} column event_ts=NULL: expected event_ts as {TEXT}", payload(R5_EPOCH), A1, 1),
    ("privacy", P1, 9, "r6", "customer_key_present",
     f"{LABEL} column customer_key=NULL: expected customer_key as {TEXT}", payload(R6_NUMBER),
     A1, 1),
    ("privacy", P1, 10, None, "source_record_id_present",
     f"{LABEL} column source_record_id=NULL: expected source_record_id as {TEXT}",
     payload(NO_ID), A1, 1),
    ("privacy", P2, 4, "r8", "event_ts_sane",
     f"{LABEL} column event_ts_utc='2024-03-02 09:00:00.000001': expected a UTC time on or "
     "after 2000-01-01 and at most one day after the file arrived", payload(R8_FUTURE), A2, 1),
    ("privacy", P2, 5, "r4", "channel_format",
     f"held with the earliest delivery of this source_record_id ({P1} line 7): "
     f"{CHANNEL_REASON}", payload(R4_FIXED), A2, 1),
    ("privacy", P2, 6, None, "utf8_valid", "line is not valid UTF-8", payload(LATIN1_TEXT), A2,
     1),
]  # fmt: skip


def snapshot(platform: Platform) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the three tables, every day, without run_id."""
    return {
        table: platform.query(f"select * exclude (run_id) from {table} order by all")
        for table in (
            "raw.raw_privacy_events",
            "staging.stg_privacy_events",
            "staging.quarantine_privacy",
        )
    }


def run_ids(platform: Platform, day: str) -> set[str]:
    found: set[str] = set()
    for table in (
        "raw.raw_privacy_events",
        "staging.stg_privacy_events",
        "staging.quarantine_privacy",
    ):
        sql = f"select distinct run_id from {table} where partition_key = ?"
        found |= {r[0] for r in platform.query(sql, (day,))}
    return found


def test_bad_lines_are_held_with_reasons_resent_records_collapse_and_every_line_counts(
    platform: Platform, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("NORTHSTAR_LANDING_QUARANTINE_MAX_RATE", "1")  # D1 is mostly bad input
    for key, data, arrived in FILES_D1:
        platform.drop(key, data, arrived)
    platform.drop(D2_FILE, jsonl(D2_LINE), at(D2, "08:00:00"))

    report = platform.run([D1, D2])

    assert_all_checks_passed(report, [D1, D2])
    assert report.materialized == {
        "raw/raw_privacy_events": 2,
        "staging/stg_privacy_events": 2,
        "staging/quarantine_privacy": 2,
    }
    assert platform.query(RAW_SQL, (D1,)) == EXPECTED_RAW_D1
    assert platform.query(STG_SQL, (D1,)) == EXPECTED_STG_D1
    assert platform.query(QUARANTINE_SQL, (D1,)) == EXPECTED_QUARANTINE_D1
    assert platform.query(STG_SQL, (D2,)) == [
        ("r1", "cust-1", "EMAIL", "OPT_OUT", at(D2, "07:00:00"), 1, D2_FILE, 1, at(D2, "08:00:00"))
    ]
    assert platform.query(QUARANTINE_SQL, (D2,)) == []
    assert platform.query(
        "select partition_key, count(*) from staging.quarantine_records "
        "where source = 'privacy' group by all"
    ) == [(D1, 10)]

    # Conservation, exactly: landed lines = raw; raw = staged + quarantined + collapsed.
    assert conservation(report, D1) == (
        {"in_landed_lines": 16, "out_raw": 16, "unaccounted": 0},
        {
            "in_raw": 16,
            "out_staged": 4,
            "out_quarantined": 10,
            "out_collapsed_copies": 2,
            "unaccounted": 0,
        },
    )
    assert conservation(report, D2) == (
        {"in_landed_lines": 1, "out_raw": 1, "unaccounted": 0},
        {
            "in_raw": 1,
            "out_staged": 1,
            "out_quarantined": 0,
            "out_collapsed_copies": 0,
            "unaccounted": 0,
        },
    )
    counts = {"rows_in": 16, "staged": 4, "quarantined": 10, "duplicates_collapsed": 2}
    assert platform.metadata(STG, D1) == counts
    assert platform.metadata(QUARANTINE, D1) == counts
    assert platform.metadata(RAW, D1) == {"rows": 16, "files": 2}

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


# --------------------------------------------------------------------------------------------
# Gates: quarantine rate (1%) and volume against the trailing median (±50%)
# --------------------------------------------------------------------------------------------


def test_quarantine_rate_gate_fails_a_day_above_the_threshold_and_passes_otherwise(
    platform: Platform, monkeypatch: pytest.MonkeyPatch
):
    """Default 1%: 1 held of 100 lines passes (exactly 1%), 1 of 99 (1.0101%) fails."""
    ts = "2024-03-01T07:00:00Z"
    bad = pref("bad", state="MAYBE", ts=ts)
    platform.drop(
        "privacy/2024/03/01/prefs.jsonl",
        jsonl(*(pref(f"d1-{n:03}", ts=ts) for n in range(99)), bad),
        at(D1, "08:00:00"),
    )
    platform.drop(
        "privacy/2024/03/02/prefs.jsonl",
        jsonl(*(pref(f"d2-{n:03}", ts=ts) for n in range(98)), bad),
        at(D2, "08:00:00"),
    )

    report = platform.run([D1, D2])

    gate = "quarantine_rate_within_threshold"
    checks = checks_by_key(report)
    assert checks[("staging/stg_privacy_events", gate, D1)] == (
        True,
        {"observed_rate": 0.01, "threshold": 0.01, "numerator": 1, "denominator": 100, "note": ""},
    )
    assert checks[("staging/stg_privacy_events", gate, D2)] == (
        False,
        {
            "observed_rate": 0.010101,
            "threshold": 0.01,
            "numerator": 1,
            "denominator": 99,
            "note": "",
        },
    )
    assert [(c.check, c.partition) for c in report.failed_checks] == [(gate, D2)]
    assert report.blocked == [D2]
    assert report.failures == []
    assert conservation(report, D2)[1] == {
        "in_raw": 99,
        "out_staged": 98,
        "out_quarantined": 1,
        "out_collapsed_copies": 0,
        "unaccounted": 0,
    }

    # The threshold is a setting: just above D2's rate, D2 passes.
    monkeypatch.setenv("NORTHSTAR_LANDING_QUARANTINE_MAX_RATE", "0.0102")
    rerun = platform.run([D2])
    assert_all_checks_passed(rerun, [D2])


def test_volume_gate_blocks_a_day_beyond_half_again_the_trailing_median(
    platform: Platform, monkeypatch: pytest.MonkeyPatch
):
    """Lines per day 4, 4, 4, 7, 5: D4 is +75% of the median 4 (blocked), D5 +25% of the
    median of 4, 4, 4, 7 = 4 (passes); D1 has no history and passes with a note."""
    monkeypatch.setenv("NORTHSTAR_LANDING_VOLUME_TOLERANCE", "0.5")
    sizes = {D1: 4, D2: 4, D3: 4, D4: 7, D5: 5}
    for day, size in sizes.items():
        lines = [pref(f"{day}-{n}", ts=f"{day}T07:00:00Z") for n in range(size)]
        platform.drop(
            f"privacy/{day.replace('-', '/')}/prefs.jsonl", jsonl(*lines), at(day, "08:00")
        )

    report = platform.run(list(sizes))

    volume = {
        day: (passed, meta["rows"], meta["baseline_median"], meta["deviation"])
        for (asset, check, day), (passed, meta) in checks_by_key(report).items()
        if (asset, check) == ("raw/raw_privacy_events", "volume_within_baseline")
    }
    assert volume == {
        D1: (True, 4, "none", "none"),
        D2: (True, 4, 4.0, 0.0),
        D3: (True, 4, 4.0, 0.0),
        D4: (False, 7, 4.0, 0.75),
        D5: (True, 5, 4.0, 0.25),
    }
    assert report.blocked == [D4]
    assert report.materialized == {
        "raw/raw_privacy_events": 5,
        "staging/stg_privacy_events": 4,
        "staging/quarantine_privacy": 4,
    }


# --------------------------------------------------------------------------------------------
# Wiring: the job takes exactly the three assets; the sensor targets it
# --------------------------------------------------------------------------------------------


def test_job_selects_the_three_assets_by_key_not_the_whole_group(northstar_env: Path):
    @dg.asset(key=["curated", "privacy_latest"], group_name="preferences", deps=[STG])
    def privacy_latest() -> None:
        """Stands for what issue 6 adds to the preferences group."""

    defs = dg.Definitions.merge(privacy_definitions(), dg.Definitions(assets=[privacy_latest]))
    job = defs.resolve_job_def("ingest_privacy_job")
    assert job.asset_layer.selected_asset_keys == set(PRIVACY)
    assert {
        (k.asset_key.to_user_string(), k.name) for k in job.asset_layer.asset_graph.asset_check_keys
    } == PRIVACY_CHECK_NAMES
    assert job.partitions_def is not None
    assert job.partitions_def.get_partition_key_for_timestamp(epoch(at(D1, "12:00:00"))) == D1
    graph = defs.resolve_asset_graph()
    group = {k for k in graph.get_all_asset_keys() if graph.get(k).group_name == "preferences"}
    assert group == {*PRIVACY, dg.AssetKey(["curated", "privacy_latest"])}

    sensor = defs.resolve_sensor_def("privacy_files_sensor")
    assert sensor.job_name == "ingest_privacy_job"
    assert sensor.required_resource_keys == {"landing"}
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING


# --------------------------------------------------------------------------------------------
# Sensor: local folder and moto S3
# --------------------------------------------------------------------------------------------


@pytest.fixture(params=["local", "s3"])
def landing(request: pytest.FixtureRequest, tmp_path: Path) -> LandingResource:
    if request.param == "local":
        return LandingResource(url=str(tmp_path / "landing"))
    endpoint = request.getfixturevalue("moto_s3")
    bucket = request.getfixturevalue("s3_bucket")
    return LandingResource(url=f"s3://{bucket}/landing", s3_endpoint_url=endpoint)


def tick(landing: LandingResource, cursor: str | None) -> tuple[list[tuple[str, str]], str]:
    """One sensor evaluation: ([(partition, run key)], the new cursor)."""
    from northstar_platform.defs.preferences.sensors import privacy_files_sensor

    with dg.build_sensor_context(cursor=cursor, resources={"landing": landing}) as context:
        result = privacy_files_sensor(context)
    assert isinstance(result, dg.SensorResult)
    assert result.cursor is not None
    requests = [(str(r.partition_key), str(r.run_key)) for r in result.run_requests or []]
    return requests, result.cursor


IGNORED_KEYS = [
    "privacy/2024/02/30/prefs.jsonl",  # no such date
    "privacy/2024/3/5/prefs.jsonl",  # not zero-padded
    "privacy/2024/03/03/notes.txt",  # not a .jsonl file: day 3 gets no run
    "privacy/2024/03/04/old/prefs.jsonl",  # below the day's folder: day 4 gets no run
    "privacy/prefs.jsonl",  # outside any day
    "stripe/2024/03/01/events.jsonl",  # another source
    "privacy-archive/2024/03/01/prefs.jsonl",
]


def test_sensor_asks_for_the_day_of_each_new_file(landing: LandingResource):
    zone = landing.get_zone()
    clock = [time.time()]

    def put(key: str, data: bytes) -> None:
        zone.write_bytes(key, data)
        if landing.url.startswith("s3://"):
            return
        clock[0] += 1  # strictly later arrivals on a folder (mtime), as files landing
        os.utime(Path(landing.url) / key, (clock[0], clock[0]))

    put("privacy/2024/03/01/a.jsonl", jsonl(pref("r1")))
    put("privacy/2024/03/02/b.jsonl", jsonl(pref("r2")))
    put("privacy/2024/03/02/c.jsonl", jsonl(pref("r3")))
    for key in IGNORED_KEYS:
        put(key, b"{}\n")

    first, cursor = tick(landing, None)
    assert [p for p, _ in first] == [D1, D2]
    for partition, run_key in first:
        assert run_key.startswith(f"{partition}:")
    assert tick(landing, cursor) == ([], cursor)

    # A file landing late in an old day's folder: exactly that day, under a new run key.
    if landing.url.startswith("s3://"):
        time.sleep(1.05 - time.time() % 1)  # S3 LastModified has whole seconds
    put("privacy/2024/03/01/late.jsonl", jsonl(pref("r4")))
    late, cursor = tick(landing, cursor)
    assert [p for p, _ in late] == [D1]
    assert late[0][1] not in {run_key for _, run_key in first}
    assert tick(landing, cursor)[0] == []


def test_s3_drop_is_requested_by_the_sensor_and_ingested(
    platform: Platform, monkeypatch: pytest.MonkeyPatch, moto_s3: str, s3_bucket: str
):
    url = f"s3://{s3_bucket}/landing"
    monkeypatch.setenv("NORTHSTAR_LANDING_URL", url)
    monkeypatch.setenv("NORTHSTAR_S3_ENDPOINT_URL", moto_s3)
    monkeypatch.setenv("NORTHSTAR_LANDING_QUARANTINE_MAX_RATE", "0.5")
    landing = LandingResource(url=url, s3_endpoint_url=moto_s3)
    zone = landing.get_zone()
    key = "privacy/2024/03/01/prefs.jsonl"
    # The folder names the day, whatever the arrival (S3 sets it: now); the last line has no
    # newline and is an array.
    s1 = pref("s1", customer="cust-s", channel="SMS", ts="2024-03-01T09:30:00.25+00:00")
    stored = zone.write_bytes(key, jsonl(s1, s1) + b"[]")
    arrived = stored.last_modified.astimezone(dt.UTC).replace(tzinfo=None)

    requests, _ = tick(landing, None)
    assert [p for p, _ in requests] == [D1]
    report = platform.run([p for p, _ in requests])

    assert_all_checks_passed(report, [D1])
    assert platform.query(RAW_SQL, (D1,)) == [
        (key, 1, s1, True, arrived),
        (key, 2, s1, True, arrived),
        (key, 3, "[]", True, arrived),
    ]
    assert platform.query(STG_SQL, (D1,)) == [
        ("s1", "cust-s", "SMS", "OPT_OUT", at(D1, "09:30:00.25"), 2, key, 1, arrived)
    ]
    assert platform.query(QUARANTINE_SQL, (D1,)) == [
        (
            "privacy",
            key,
            3,
            None,
            "json_object",
            "line is a JSON array, expected an object",
            payload("[]"),
            arrived,
            1,
        )
    ]
    assert conservation(report, D1) == (
        {"in_landed_lines": 3, "out_raw": 3, "unaccounted": 0},
        {
            "in_raw": 3,
            "out_staged": 1,
            "out_quarantined": 1,
            "out_collapsed_copies": 1,
            "unaccounted": 0,
        },
    )


def test_the_slice_is_wired_into_the_code_location(northstar_env: Path):
    from northstar_platform.definitions import build_definitions

    defs = build_definitions()
    graph = defs.resolve_asset_graph()
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    assert {
        "raw/raw_privacy_events",
        "staging/stg_privacy_events",
        "staging/quarantine_privacy",
    } <= keys
    checks = {
        (k.asset_key.to_user_string(), k.name)
        for k in graph.asset_check_keys
        if k.asset_key.path[0] in ("raw", "staging") and "privacy" in k.asset_key.path[1]
    }
    assert checks == {
        ("raw/raw_privacy_events", "volume_within_baseline"),
        ("raw/raw_privacy_events", "conserves_records"),
        ("raw/raw_privacy_events", "matches_contract"),
        ("staging/stg_privacy_events", "conserves_records"),
        ("staging/stg_privacy_events", "quarantine_rate_within_threshold"),
        ("staging/stg_privacy_events", "no_duplicate_source_record_id"),
        ("staging/stg_privacy_events", "matches_contract"),
        ("staging/quarantine_privacy", "matches_contract"),
    }
    assert defs.resolve_sensor_def("privacy_files_sensor").job_name == "ingest_privacy_job"
