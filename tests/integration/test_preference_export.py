"""The core-update export, its spike gate and the acknowledgement loop, through Dagster.

The audit and remediation tables are built by hand in a real DuckDB file (a stand-in asset
takes the dbt models' place in the graph, so the gate blocks the export exactly as in the
real job without paying for dbt); patch and ack files live in a real local landing folder,
and once in a moto S3 bucket. One test runs the real `reconcile_preferences_job` with dbt.

Hashes below are sha256 of `customer_key|channel|new_preference_state|effective_ts`
(DESIGN §8) and patch names `patch-<first 12 hex of sha256 of the sorted hashes, one per
line>`, computed once by hand and pinned.
"""

import datetime as dt
import hashlib
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
import pytest

from northstar_platform.defs.partitions import daily_partitions
from northstar_platform.defs.preferences.export_assets import core_update_acks, core_update_exports
from northstar_platform.defs.preferences.export_checks import build_ack_checks, build_export_gate
from northstar_platform.defs.preferences.export_sensors import ACKS_OP, core_update_acks_sensor
from northstar_platform.defs.resources import build_resources
from northstar_platform.layers import (
    AUDIT_PREFERENCE_MISMATCHES,
    CORE_PREFERENCES_HISTORY_KEYS,
    CORE_UPDATE_LEDGER,
    REMEDIATION_CORE_UPDATES,
    STG_PRIVACY_EVENTS,
)
from northstar_platform.resources.landing import LandingResource
from northstar_platform.runner import RangeReport, collect_events
from northstar_platform.settings import REPO_ROOT, get_settings

pytestmark = pytest.mark.integration

D = "2026-03-01"
FOLDER = f"exports/core_updates/{D}"
# sha256 hex of: k1|EMAIL|OPT_OUT|2026-03-01 08:00:00.123456, k2|SMS|OPT_IN|2026-03-01
# 09:00:00.000000, k3|ALL|OPT_OUT|2026-03-01 07:00:00.000000, k3|EMAIL|OPT_OUT|2026-03-01
# 07:00:00.000000 and (k2 changed) k2|SMS|OPT_OUT|2026-03-01 10:30:00.000000
H1 = "740cc1a6772f828c0fa54c7224056a410c5ac5621e6d0c7680401f8dbf4b688d"
H2 = "17a913b4b79b54e53bd6ef893292c839c9f3bb70afb40651819434bacfef25fe"
H3 = "6198fb546ca7bf454a8b3466ab18fe1b5b51b43f07620d3704735eb7f8244061"
H4 = "8469f5568197e9672ad28fe2720bff64ebc1c1fc277ecba13c3b4577606da43f"
H2_CHANGED = "de1bf6e7080f03bf27bdfb4ffb08068a13fbac5f4ff2e29e3962e3bf77fec231"
PATCH_3 = f"{FOLDER}/patch-f248bfc1ba6b.csv"  # H1, H2, H3
PATCH_4 = f"{FOLDER}/patch-59d898fd9c36.csv"  # H1, H2, H3, H4
PATCH_H2_CHANGED = f"{FOLDER}/patch-32d147404a7e.csv"
PATCH_H4 = f"{FOLDER}/patch-05e02426f09c.csv"

REMEDIATION = [
    ("k1", "EMAIL", "STATE_DIFF", "OPT_OUT", dt.datetime(2026, 3, 1, 8, 0, 0, 123456), H1),
    ("k2", "SMS", "STALE_IN_CORE", "OPT_IN", dt.datetime(2026, 3, 1, 9), H2),
    ("k3", "ALL", "MISSING_IN_CORE", "OPT_OUT", dt.datetime(2026, 3, 1, 7), H3),
]
PATCH_3_TEXT = (
    "customer_key,channel,new_preference_state,effective_ts,update_hash\n"
    f"k1,EMAIL,OPT_OUT,2026-03-01 08:00:00.123456,{H1}\n"
    f"k2,SMS,OPT_IN,2026-03-01 09:00:00.000000,{H2}\n"
    f"k3,ALL,OPT_OUT,2026-03-01 07:00:00.000000,{H3}\n"
)
NOW = dt.datetime(2026, 3, 3, 12)
"""The ack SLA check's clock."""

EXPORT = core_update_exports.key
AUDIT, FIXES = AUDIT_PREFERENCE_MISMATCHES.asset_key, REMEDIATION_CORE_UPDATES.asset_key
GATE = "mismatch_count_within_baseline_and_cap"


@dg.multi_asset(
    specs=[dg.AssetSpec(AUDIT), dg.AssetSpec(FIXES)],
    partitions_def=daily_partitions,
    name="hand_built_reconciliation",
)
def hand_built_reconciliation() -> Iterator[dg.MaterializeResult]:
    """Stands in for the dbt models: their rows are already in the warehouse."""
    yield dg.MaterializeResult(asset_key=AUDIT)
    yield dg.MaterializeResult(asset_key=FIXES)


# --------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------


@pytest.fixture
def home(northstar_env: Path) -> Path:
    northstar_env.mkdir(parents=True)
    with _warehouse(northstar_env) as con:
        for table in (AUDIT_PREFERENCE_MISMATCHES, REMEDIATION_CORE_UPDATES):
            con.execute(f"create schema if not exists {table.layer.value}")
            con.execute(table.create_sql())
    return northstar_env


def _warehouse(home: Path) -> duckdb.DuckDBPyConnection:
    return duckdb.connect(str(home / "warehouse.duckdb"))


def _mismatches(home: Path, counts: dict[str, int]) -> None:
    """`n` audit rows per recon_date (only their number matters to the gate)."""
    with _warehouse(home) as con:
        for day, n in counts.items():
            con.execute(
                f"insert into {AUDIT_PREFERENCE_MISMATCHES.qualified} "
                "select cast(? as date), 'c' || i, 'EMAIL', 'OPT_OUT', null, 'OPT_IN', null, "
                "'STATE_DIFF' from range(?) as t(i)",
                (day, n),
            )


def _remediation(home: Path, rows: list[tuple], day: str = D) -> None:
    """Replace `day`'s remediation rows, as a dbt rebuild of the date would."""
    with _warehouse(home) as con:
        con.execute(
            f"delete from {REMEDIATION_CORE_UPDATES.qualified} where recon_date = ?", (day,)
        )
        for row in rows:
            con.execute(
                f"insert into {REMEDIATION_CORE_UPDATES.qualified} values (?, ?, ?, ?, ?, ?, ?)",
                (day, *row),
            )


def _query(home: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        return con.execute(sql).fetchall()


def _defs() -> dg.Definitions:
    """The export, the ack asset and their checks over the stand-in models; SLA clock NOW."""
    return dg.Definitions(
        assets=[hand_built_reconciliation, core_update_exports, core_update_acks],
        asset_checks=[build_export_gate(), build_ack_checks(lambda: NOW)],
        resources=build_resources(get_settings()),
    )


def _run(
    selection: list[dg.AssetKey], partition: str | None = D
) -> tuple[RangeReport, dict[str, Any]]:
    """One in-process run; the report and the export's (or ack asset's) materialization
    metadata, if it was materialized."""
    defs = _defs()
    job = defs.resolve_implicit_global_asset_job_def()
    with dg.DagsterInstance.ephemeral() as instance:
        result = job.execute_in_process(
            partition_key=partition,
            instance=instance,
            asset_selection=selection,
            raise_on_error=False,
        )
    report = RangeReport()
    collect_events(result, partition or "-", report)
    metadata = {
        k: v.value
        for m in result.get_asset_materialization_events()
        if m.asset_key in (EXPORT, core_update_acks.key)
        for k, v in m.materialization.metadata.items()
    }
    return report, metadata


def _files(home: Path, prefix: str = FOLDER) -> dict[str, str]:
    root = home / "landing"
    return {
        p.relative_to(root).as_posix(): p.read_text()
        for p in sorted((root / prefix).rglob("*.csv"))
    }


def _ledger(home: Path) -> list[tuple]:
    return _query(
        home,
        "select update_hash, cast(recon_date as varchar), patch_key "
        "from remediation.core_update_ledger order by patch_key, update_hash",
    )


RECONCILE = [AUDIT, FIXES, EXPORT]


# --------------------------------------------------------------------------------------------
# export: once per hash, crash-safe
# --------------------------------------------------------------------------------------------


def test_three_retries_of_the_same_payload_write_one_patch(home: Path) -> None:
    _remediation(home, REMEDIATION)
    outcomes = [_run(RECONCILE) for _ in range(3)]

    assert [r.materialized.get("remediation/core_update_exports") for r, _ in outcomes] == [1] * 3
    assert _files(home) == {PATCH_3: PATCH_3_TEXT}
    assert _ledger(home) == [(H2, D, PATCH_3), (H3, D, PATCH_3), (H1, D, PATCH_3)]
    first, *retries = (m for _, m in outcomes)
    assert (first["rows_in_remediation"], first["already_sent"], first["newly_sent"]) == (3, 0, 3)
    assert first["patch_key"] == PATCH_3
    for retry in retries:
        assert (retry["already_sent"], retry["newly_sent"], retry["patch_key"]) == (3, 0, "none")
        assert "nothing new to send" in retry["note"]
    # One auditable correction for the one export that sent something (DESIGN §5.4).
    [(kind, asset, partition, trigger, inputs, outputs)] = _query(
        home,
        "select kind, asset_key, partition_key, trigger, input_fingerprints, "
        "output_fingerprints from ops.audit_corrections",
    )
    assert (kind, asset, partition, trigger) == (
        "REMEDIATION_EXPORT",
        "remediation/core_update_exports",
        D,
        "manual",
    )
    assert [(f["relation"], f["rows"]) for f in json.loads(inputs)] == [
        ("audit.audit_preference_mismatches", 0),
        ("remediation.remediation_core_updates", 3),
    ]
    patch, ledger = json.loads(outputs)
    assert patch["relation"].endswith(PATCH_3) and patch["rows"] == 3
    assert patch["content_hash"] == hashlib.sha256(PATCH_3_TEXT.encode()).hexdigest()
    assert (ledger["relation"], ledger["rows"]) == ("remediation.core_update_ledger", 3)


def test_a_changed_payload_sends_only_the_new_hash(home: Path) -> None:
    _remediation(home, REMEDIATION)
    _run(RECONCILE)
    # k2's privacy state changed again: its update has a new hash; k1 and k3 are unchanged
    changed = ("k2", "SMS", "STATE_DIFF", "OPT_OUT", dt.datetime(2026, 3, 1, 10, 30), H2_CHANGED)
    _remediation(home, [REMEDIATION[0], changed, REMEDIATION[2]])
    _, metadata = _run(RECONCILE)

    assert (metadata["already_sent"], metadata["newly_sent"]) == (2, 1)
    assert _files(home) == {
        PATCH_3: PATCH_3_TEXT,
        PATCH_H2_CHANGED: "customer_key,channel,new_preference_state,effective_ts,update_hash\n"
        f"k2,SMS,OPT_OUT,2026-03-01 10:30:00.000000,{H2_CHANGED}\n",
    }
    assert (H2_CHANGED, D, PATCH_H2_CHANGED) in _ledger(home) and len(_ledger(home)) == 4


def test_a_crash_between_file_and_ledger_neither_loses_nor_resends(home: Path) -> None:
    _remediation(home, REMEDIATION)
    _run(RECONCILE)
    with _warehouse(home) as con:  # the file was written, the ledger commit never happened
        con.execute("delete from remediation.core_update_ledger")

    # same payload: the file found under the date is recorded, nothing is written again
    _, metadata = _run(RECONCILE)
    assert metadata["recovered_patches"] == f"{PATCH_3} (3)"
    assert (metadata["newly_sent"], metadata["patch_key"]) == (0, "none")
    assert _ledger(home) == [(H2, D, PATCH_3), (H3, D, PATCH_3), (H1, D, PATCH_3)]

    # crash again, and the payload grew meanwhile: only the new update goes out
    with _warehouse(home) as con:
        con.execute("delete from remediation.core_update_ledger")
    extra = ("k3", "EMAIL", "STATE_DIFF", "OPT_OUT", dt.datetime(2026, 3, 1, 7), H4)
    _remediation(home, [*REMEDIATION, extra])
    _, metadata = _run(RECONCILE)
    assert (metadata["newly_sent"], metadata["patch_key"]) == (1, PATCH_H4)
    assert set(_files(home)) == {PATCH_3, PATCH_H4}
    assert _files(home)[PATCH_H4].endswith(f"k3,EMAIL,OPT_OUT,2026-03-01 07:00:00.000000,{H4}\n")
    assert PATCH_4 not in _files(home)  # the 4 updates were never bundled into one re-send


def test_export_to_an_s3_landing_zone(
    home: Path, monkeypatch: pytest.MonkeyPatch, moto_s3: str, s3_bucket: str, s3_client: Any
) -> None:
    monkeypatch.setenv("NORTHSTAR_LANDING_URL", f"s3://{s3_bucket}/northstar")
    monkeypatch.setenv("NORTHSTAR_S3_ENDPOINT_URL", moto_s3)
    _remediation(home, REMEDIATION)
    for _ in range(2):
        _run(RECONCILE)
    listed = s3_client.list_objects_v2(Bucket=s3_bucket)["Contents"]
    assert [o["Key"] for o in listed] == [f"northstar/{PATCH_3}"]
    body = s3_client.get_object(Bucket=s3_bucket, Key=f"northstar/{PATCH_3}")["Body"].read()
    assert body.decode() == PATCH_3_TEXT
    assert len(_ledger(home)) == 3


# --------------------------------------------------------------------------------------------
# the spike gate
# --------------------------------------------------------------------------------------------

HISTORY = {
    "2026-02-24": 200,
    "2026-02-25": 220,
    "2026-02-26": 180,
    "2026-02-27": 210,
    "2026-02-28": 190,
}
"""Median 200: a spike is > 300 (+50%) and >= 300 (100 rows above it)."""


def _gate(report: RangeReport) -> dict[str, Any]:
    [outcome] = [c for c in report.checks if c.check == GATE]
    return {"passed": outcome.passed, **outcome.metadata}


def test_a_spike_blocks_the_export_and_alerts_with_count_and_threshold(home: Path) -> None:
    _mismatches(home, {**HISTORY, D: 450})
    _remediation(home, REMEDIATION)
    report, _ = _run(RECONCILE)

    gate = _gate(report)
    assert (gate["passed"], gate["observed"], gate["threshold"]) == (False, 450, 300)
    assert (gate["baseline_median"], gate["dates_in_baseline"]) == (200.0, 5)
    assert "remediation/core_update_exports" not in report.materialized
    assert _files(home) == {}
    assert _query(home, "select count(*) from information_schema.tables "
                  "where table_name = 'core_update_ledger'") == [(0,)]  # fmt: skip

    [alert] = _query(
        home,
        "select asset_key, partition_key, check_name, observed, threshold, message "
        "from ops.pipeline_alert_log",
    )
    assert alert[:5] == ("audit/audit_preference_mismatches", D, GATE, "450", "300")
    assert "observed 450 vs threshold 300" in alert[5] and "2.25x the trailing median" in alert[5]
    [line] = (home / "alerts" / "alerts.jsonl").read_text().splitlines()
    sink = json.loads(line)
    assert (sink["check_name"], sink["observed"], sink["threshold"]) == (GATE, "450", "300")
    assert sink["message"] == alert[5]


def test_a_rise_of_exactly_the_tolerance_is_exported(home: Path) -> None:
    _mismatches(home, {**HISTORY, D: 300})  # +50% of the median 200
    _remediation(home, REMEDIATION)
    report, metadata = _run(RECONCILE)
    gate = _gate(report)
    assert (gate["passed"], gate["observed"], gate["threshold"]) == (True, 300, 300)
    assert metadata["newly_sent"] == 3


def test_a_quiet_date_below_the_noise_floor_passes(home: Path) -> None:
    # +495% of its median of 20, but only 99 rows above it (the noise floor is 100)
    _mismatches(home, {"2026-02-28": 20, D: 119})
    gate = _gate(_run([AUDIT, FIXES])[0])
    assert (gate["passed"], gate["baseline_median"], gate["threshold"]) == (True, 20.0, 119)


def test_the_cap_fails_on_its_own(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NORTHSTAR_PREFERENCE_EXPORT_CAP", "250")
    _mismatches(home, {**HISTORY, D: 260})  # no spike: below the baseline limit of 300
    _remediation(home, REMEDIATION)
    report, _ = _run(RECONCILE)

    gate = _gate(report)
    assert (gate["passed"], gate["observed"], gate["threshold"]) == (False, 260, 250)
    assert gate["note"] == "above the export cap of 250"
    assert "remediation/core_update_exports" not in report.materialized
    [(observed, threshold)] = _query(home, "select observed, threshold from ops.pipeline_alert_log")
    assert (observed, threshold) == ("260", "250")


def test_a_first_date_is_judged_by_the_cap_alone(home: Path) -> None:
    _mismatches(home, {D: 5_000})
    _remediation(home, REMEDIATION)
    report, metadata = _run(RECONCILE)
    gate = _gate(report)
    assert (gate["passed"], gate["threshold"], gate["dates_in_baseline"]) == (True, 50_000, 0)
    assert gate["note"] == "no earlier reconciliation date with rows: only the cap applies"
    assert metadata["newly_sent"] == 3


def test_the_export_started_alone_still_refuses_a_spike(home: Path) -> None:
    """Blocking does not reach across runs: the export re-evaluates the gate itself."""
    _mismatches(home, {**HISTORY, D: 450})
    _remediation(home, REMEDIATION)
    report, _ = _run([EXPORT])

    assert report.checks == [] and "remediation/core_update_exports" not in report.materialized
    [failure] = report.failures
    assert "withheld" in failure and "observed 450 mismatches vs threshold 300" in failure
    assert _files(home) == {}


# --------------------------------------------------------------------------------------------
# acknowledgements
# --------------------------------------------------------------------------------------------

ACKS = core_update_acks.key
SLA = "sent_patches_acknowledged_within_sla"
UNKNOWN = "ab" * 32
ARRIVED = dt.datetime(2026, 3, 2, 6)


def _sent(home: Path, rows: list[tuple[str, dt.datetime]]) -> None:
    """Ledger rows as the export writes them: (update_hash, sent_at), all in PATCH_3."""
    with _warehouse(home) as con:
        con.execute(CORE_UPDATE_LEDGER.create_sql())
        for update_hash, sent_at in rows:
            con.execute(
                f"insert into {CORE_UPDATE_LEDGER.qualified} values (?, ?, ?, ?, 'r0')",
                (update_hash, D, PATCH_3, sent_at),
            )


def _ack(home: Path, name: str, text: str) -> Path:
    """An ack file from the core system, arrived at ARRIVED."""
    path = home / "landing" / "exports" / "core_updates_acks" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    stamp = ARRIVED.replace(tzinfo=dt.UTC).timestamp()
    os.utime(path, (stamp, stamp))
    return path


def _sla(report: RangeReport) -> dict[str, Any]:
    [outcome] = [c for c in report.checks if c.check == SLA]
    return {"passed": outcome.passed, **outcome.metadata}


def test_acks_are_matched_and_an_unacknowledged_patch_breaks_the_sla(home: Path) -> None:
    _sent(
        home,
        [
            (H1, dt.datetime(2026, 3, 1, 7)),  # acked below
            (H2, dt.datetime(2026, 3, 1, 7)),  # 53 h ago, no ack: overdue
            (H3, dt.datetime(2026, 3, 3, 9)),  # 3 h ago: still within the 24 h SLA
        ],
    )
    _ack(home, "acks-0302.csv", f"update_hash,applied_at\n{H1},2026-03-02T01:02:03.5+01:00\n"
         f"{UNKNOWN},2026-03-02 02:00:00\n")  # fmt: skip
    report, metadata = _run([ACKS], partition=None)

    assert (metadata["files_read"], metadata["acks_loaded"]) == (1, 2)
    assert _query(home, "select * from remediation.core_update_ack_log order by 1") == [
        (H1, dt.datetime(2026, 3, 2, 0, 2, 3, 500000), "exports/core_updates_acks/acks-0302.csv",
         ARRIVED),
        (UNKNOWN, dt.datetime(2026, 3, 2, 2), "exports/core_updates_acks/acks-0302.csv", ARRIVED),
    ]  # fmt: skip
    sla = _sla(report)
    assert (sla["passed"], sla["observed"], sla["threshold"]) == (False, 1, 0)
    assert sla["overdue"] == [
        {"update_hash": H2, "patch_key": PATCH_3, "sent_at": "2026-03-01 07:00:00"}
    ]
    assert sla["overdue_patch_files"] == PATCH_3
    assert (sla["acknowledged"], sla["awaiting_within_sla"]) == (1, 1)
    assert (sla["unknown_acked_hashes"], sla["unknown_acked_sample"]) == (1, [UNKNOWN])
    [(check, observed, threshold, message)] = _query(
        home, "select check_name, observed, threshold, message from ops.pipeline_alert_log"
    )
    assert (check, observed, threshold) == (SLA, "1", "0")
    assert f"{H2[:12]}… in {PATCH_3}" in message

    # the core system acks H2 late, and re-sends its first file without the unknown hash
    _ack(home, "acks-0303.csv", f"update_hash,applied_at\n{H2},2026-03-03 11:00:00\n")
    _ack(home, "acks-0302.csv", f"update_hash,applied_at\n{H1},2026-03-02T01:02:03.5+01:00\n")
    report, _ = _run([ACKS], partition=None)
    sla = _sla(report)
    assert (sla["passed"], sla["observed"], sla["acknowledged"]) == (True, 0, 2)
    assert sla["unknown_acked_hashes"] == 0
    assert _query(home, "select update_hash, ack_file from remediation.core_update_ack_log "
                  "order by 1") == [(H2, "exports/core_updates_acks/acks-0303.csv"),
                                    (H1, "exports/core_updates_acks/acks-0302.csv")]  # fmt: skip


def test_a_malformed_ack_file_halts_the_load_naming_file_line_and_column(home: Path) -> None:
    _ack(home, "good.csv", f"update_hash,applied_at\n{H1},2026-03-02 01:00:00\n")
    _ack(home, "bad.csv", f"update_hash,applied_at\n{H2},2026-03-02 01:00:00\nXYZ,2026-03-02\n")
    report, _ = _run([ACKS], partition=None)

    [failure] = report.failures
    assert "exports/core_updates_acks/bad.csv line 3 column update_hash: 'XYZ'" in failure
    assert "remediation/core_update_acks" not in report.materialized
    # good.csv was not loaded either: every file is parsed before anything is written
    assert _query(home, "select count(*) from information_schema.tables "
                  "where table_name = 'core_update_ack_log'") == [(0,)]  # fmt: skip


def test_the_acks_sensor_asks_for_new_and_replaced_files_only(home: Path) -> None:
    landing = LandingResource(url=str(home / "landing"))

    def tick(cursor: str | None) -> tuple[list[list[str]], str]:
        with dg.build_sensor_context(cursor=cursor, resources={"landing": landing}) as context:
            result = core_update_acks_sensor(context)
        assert isinstance(result, dg.SensorResult) and result.cursor is not None
        files = [r.run_config["ops"][ACKS_OP]["config"]["ack_files"] for r in result.run_requests]
        return files, result.cursor

    _ack(home, "a.csv", "update_hash,applied_at\n")
    _ack(home, "b.csv", "update_hash,applied_at\n")
    _ack(home, "notes.txt", "not an ack")
    _ack(home, "old/c.csv", "update_hash,applied_at\n")  # not directly under the prefix
    first, cursor = tick(None)
    assert first == [["exports/core_updates_acks/a.csv", "exports/core_updates_acks/b.csv"]]
    assert tick(cursor)[0] == []

    replaced = _ack(home, "b.csv", f"update_hash,applied_at\n{H1},2026-03-02 01:00:00\n")
    later = ARRIVED.replace(tzinfo=dt.UTC).timestamp() + 60
    os.utime(replaced, (later, later))
    assert tick(cursor)[0] == [["exports/core_updates_acks/b.csv"]]


# --------------------------------------------------------------------------------------------
# the real job: wiring, and one end-to-end run through dbt
# --------------------------------------------------------------------------------------------


@pytest.fixture
def dbt_manifest_parsed() -> None:
    """`@dbt_assets` reads dbt/target/manifest.json at import: parse the project if stale."""
    from northstar_platform.defs.dbt_project import ensure_manifest

    ensure_manifest()


def test_job_schedule_sensor_and_run_queue_limit(
    northstar_env: Path, dbt_manifest_parsed: None, tmp_path: Path
) -> None:
    from northstar_platform.definitions import build_definitions

    defs = build_definitions()
    job = defs.resolve_job_def("reconcile_preferences_job")
    assert {k.to_user_string() for k in job.asset_layer.asset_graph.executable_asset_keys} == {
        "curated/ref_channel_product_scope",
        "curated/privacy_latest",
        "curated/core_latest",
        "audit/audit_preference_mismatches",
        "remediation/remediation_core_updates",
        "remediation/core_update_exports",
    }
    assert job.run_tags == {"northstar/concurrency": "reconcile_preferences"}

    schedule = defs.resolve_schedule_def("reconcile_preferences_job_schedule")
    assert (schedule.cron_schedule, schedule.execution_timezone) == ("0 6 * * *", "UTC")
    tick = dt.datetime(2026, 3, 2, 6, tzinfo=dt.UTC)
    repository = defs.get_repository_def()
    with dg.build_schedule_context(scheduled_execution_time=tick, repository_def=repository) as ctx:
        [request] = schedule.evaluate_tick(ctx).run_requests or []
    assert request.partition_key == "2026-03-01"

    acks_job = defs.resolve_job_def("ingest_core_update_acks_job")
    assert acks_job.asset_layer.asset_graph.asset_check_keys == {dg.AssetCheckKey(ACKS, SLA)}
    assert defs.resolve_sensor_def("core_update_acks_sensor").job_name == acks_job.name
    sla_recheck = defs.resolve_schedule_def("ingest_core_update_acks_job_schedule")
    with dg.build_schedule_context(scheduled_execution_time=tick, repository_def=repository) as ctx:
        [request] = sla_recheck.evaluate_tick(ctx).run_requests or []
    assert request.run_config["ops"]["remediation__core_update_acks"]["config"] == {"ack_files": []}

    dagster_home = tmp_path / "dagster_home"
    dagster_home.mkdir()
    shutil.copyfile(REPO_ROOT / "dagster.yaml", dagster_home / "dagster.yaml")
    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        queue = instance.run_coordinator.get_run_queue_config()  # type: ignore[union-attr]
    assert queue.max_concurrent_runs == 1
    assert queue.tag_concurrency_limits == [
        {"key": "northstar/concurrency", "value": "reconcile_preferences", "limit": 1}
    ]


def test_the_daily_job_reconciles_gates_and_exports_end_to_end(
    northstar_env: Path, dbt_manifest_parsed: None
) -> None:
    """Hand-staged privacy events and core rows → dbt → gate → one patch with dbt's hashes."""
    from northstar_platform.definitions import build_definitions

    arrived = dt.datetime(2026, 3, 1, 23)
    events = [
        ("k1", "EMAIL", "OPT_OUT", dt.datetime(2026, 3, 1, 8, 0, 0, 123456), "e1"),
        ("k2", "SMS", "OPT_IN", dt.datetime(2026, 3, 1, 9), "e2"),
        ("k3", "ALL", "OPT_OUT", dt.datetime(2026, 3, 1, 7), "e3"),  # global do-not-contact
    ]
    core = [
        ("k1", "EMAIL", "OPT_IN", dt.datetime(2026, 2, 28, 10)),  # STATE_DIFF
        ("k2", "SMS", "OPT_IN", dt.datetime(2026, 2, 28, 10)),  # STALE_IN_CORE
        ("k3", "EMAIL", "OPT_IN", dt.datetime(2026, 2, 27, 10)),  # STATE_DIFF via ALL
        ("k4", "POST", "OPT_IN", dt.datetime(2026, 2, 27, 10)),  # MISSING_IN_PRIVACY
    ]  # and k3 ALL is MISSING_IN_CORE, an opt-out: remediated
    northstar_env.mkdir(parents=True)
    with _warehouse(northstar_env) as con:
        for table in (STG_PRIVACY_EVENTS, CORE_PREFERENCES_HISTORY_KEYS):
            con.execute(f"create schema if not exists {table.layer.value}")
            con.execute(table.create_sql())
        for n, event in enumerate(events, start=1):
            con.execute(
                f"insert into {STG_PRIVACY_EVENTS.qualified} values "
                "(?, ?, ?, ?, ?, 1, ?, 'p.jsonl', ?, ?, 'r0')",
                (*event, D, n, arrived),
            )
        for row in core:
            con.execute(
                f"insert into {CORE_PREFERENCES_HISTORY_KEYS.qualified} values (?, ?, ?, ?, ?)",
                (*row, dt.datetime(2026, 2, 28, 12)),
            )

    job = build_definitions().resolve_job_def("reconcile_preferences_job")
    with dg.DagsterInstance.ephemeral() as instance:
        result = job.execute_in_process(partition_key=D, instance=instance, raise_on_error=False)
    assert result.success

    assert _query(
        northstar_env,
        "select customer_key, channel, mismatch_type from audit.audit_preference_mismatches "
        "order by 1, 2",
    ) == [
        ("k1", "EMAIL", "STATE_DIFF"),
        ("k2", "SMS", "STALE_IN_CORE"),
        ("k3", "ALL", "MISSING_IN_CORE"),
        ("k3", "EMAIL", "STATE_DIFF"),
        ("k4", "POST", "MISSING_IN_PRIVACY"),
    ]
    assert _files(northstar_env) == {
        PATCH_4: "customer_key,channel,new_preference_state,effective_ts,update_hash\n"
        f"k1,EMAIL,OPT_OUT,2026-03-01 08:00:00.123456,{H1}\n"
        f"k2,SMS,OPT_IN,2026-03-01 09:00:00.000000,{H2}\n"
        f"k3,ALL,OPT_OUT,2026-03-01 07:00:00.000000,{H3}\n"
        f"k3,EMAIL,OPT_OUT,2026-03-01 07:00:00.000000,{H4}\n"
    }
    assert [h for h, _, _ in _ledger(northstar_env)] == sorted([H1, H2, H3, H4])
